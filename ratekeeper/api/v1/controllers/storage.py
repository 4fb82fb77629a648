"""/v1/storage/dataframes: the v1 view of rated data, streamed.

One output frame per (stored period x metric type), in period order; its
tenant_id is the first point's scope value, or "__UNDEF__". A resource's
desc is the point's metadata merged with its groupby (groupby wins), its
volume and rating decimal strings; a point with a description (the
metric's, from metrics.yml) has a ``description`` key besides.

The answer can hold every point of a month, so it is written chunk by
chunk from storage.stream() batches with orjson: memory stays flat and the
first bytes leave before the last rows are read. Arguments are parsed by
the rules WSME applies to a wsexpose'd method (query or JSON body), with
its error messages.
"""
import logging

import orjson
import pecan
from pecan import rest
import webob
from wsme import exc as wsme_exc
from wsme import utils as wsme_utils

from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper import policy
from ratekeeper.api import errors as api_errors
from ratekeeper.api.v1 import base
from ratekeeper.policies import storage as policies
from ratekeeper.storage import v2 as storage_v2

LOG = logging.getLogger(__name__)
UNDEFINED_TENANT = '__UNDEF__'
# Measured over 100k points on SQLite: 1000-point storage batches cost
# less CPU than 5000 (0.53 vs 0.76-0.91 s; two batches are alive at once).
BATCH_SIZE = 1000
# Pecan tees a generator body to peek at its first chunk, and a tee keeps
# the chunks it has passed in blocks of 57: the chunk size bounds that
# (57 x 64 KiB = 3.6 MiB; it was 14 MiB with 256 KiB chunks).
CHUNK_BYTES = 64 * 1024
OPEN = b'{"dataframes":['
CLOSE = b']}'


ARGUMENTS = ('begin', 'end', 'tenant_id', 'resource_type')
DATETIME_ARGUMENTS = ('begin', 'end')


def _raw_arguments(request):
    """Query parameters, else the keys of a JSON object body (GET bodies
    are how the functional suite sends them, and WSME reads them)."""
    raw = {name: request.params[name] for name in ARGUMENTS
           if name in request.params}
    content_type = request.content_type or ''
    if raw or not request.body or 'json' not in content_type:
        return raw
    try:
        body = orjson.loads(request.body)
    except orjson.JSONDecodeError:
        raise wsme_exc.ClientSideError('Malformed JSON body.')
    if not isinstance(body, dict):
        raise wsme_exc.ClientSideError('The JSON body must be an object.')
    return {name: body[name] for name in ARGUMENTS if body.get(name)}


def _converted(name, value):
    error = base.type_error(name, value, str)
    if error is not None:
        raise error
    if name not in DATETIME_ARGUMENTS or not value:
        return value or None
    try:
        return wsme_utils.parse_isodatetime(value)
    except (ValueError, OverflowError) as exc:
        raise wsme_exc.InvalidInput(
            name, value, 'unable to convert to datetime. Error: %s' % exc)


def parse_arguments():
    """begin, end (datetimes), tenant_id and resource_type; bad values
    get WSME's own 400 message."""
    raw = _raw_arguments(pecan.request)
    return {name: _converted(name, value) for name, value in raw.items()}


def decimal_text(number):
    """A quantity as v1 prints it: "1", "1.337"."""
    if isinstance(number, float):
        return str(int(number)) if number.is_integer() else repr(number)
    return str(number)


def _naive_text(moment):
    return base.naive(moment).isoformat()


def _frame_bytes(period, resources, scope_key):
    first_desc = resources[0]['desc']
    return orjson.dumps({
        'begin': _naive_text(period[0]),
        'end': _naive_text(period[1]),
        'tenant_id': first_desc.get(scope_key, UNDEFINED_TENANT),
        'resources': resources})


def _resource(metric_type, qty, price, groupby, metadata, description):
    desc = dict(metadata)
    desc.update(groupby)
    resource = {'rating': decimal_text(price), 'service': metric_type,
                'desc': desc, 'volume': decimal_text(qty)}
    if description is not None:
        # a key CloudKitty never sent (its bug B9 lost descriptions);
        # its client and dashboard read resources by key
        resource['description'] = description
    return resource


def frames(batches, scope_key):
    """Serialized frames: points of one period, split by metric type."""
    period, by_type = None, {}
    for batch in batches:
        for (begin, end, metric_type, _unit, qty, price, groupby, metadata,
             description) in batch:
            if (begin, end) != period:
                for resources in by_type.values():
                    yield _frame_bytes(period, resources, scope_key)
                period, by_type = (begin, end), {}
            by_type.setdefault(metric_type, []).append(
                _resource(metric_type, qty, price, groupby, metadata,
                          description))
    for resources in by_type.values():
        yield _frame_bytes(period, resources, scope_key)


def json_chunks(serialized_frames):
    """The JSON document, in chunks of about CHUNK_BYTES."""
    chunk = bytearray(OPEN)
    separator = b''
    for frame in serialized_frames:
        chunk += separator
        chunk += frame
        separator = b','
        if len(chunk) >= CHUNK_BYTES:
            yield bytes(chunk)
            chunk = bytearray()
    chunk += CLOSE
    yield bytes(chunk)


def _filters(context, scope_key, tenant_id):
    """The scope filter the caller is held to: None for everything, []
    for nothing."""
    projects = rk_context.readable_projects(
        context, [tenant_id] if tenant_id else None)
    return projects if projects in (None, []) else {scope_key: projects}


def _batches(storage, begin, end, filters, resource_type):
    """Storage batches, the first one already read so that a storage
    failure is still an error status, not a truncated body."""
    stream = storage.stream(
        begin, end, filters=filters, batch_size=BATCH_SIZE,
        metric_types=[resource_type] if resource_type else None)
    first = next(stream, None)
    if first is None:
        return []
    return _chained(first, stream)


def _chained(first, rest):
    yield first
    try:
        yield from rest
    except Exception:
        LOG.exception('storage failed while streaming /v1/storage/'
                      'dataframes: the answer is truncated')
        raise


def _fault(exception):
    fault = base.fault_of(exception)
    response = webob.Response(status=fault.status,
                              content_type='application/json')
    response.body = orjson.dumps(api_errors.v1_document(fault))
    return response


def _stream_response(batches, scope_key):
    response = webob.Response(content_type='application/json',
                              charset=None)
    response.app_iter = json_chunks(frames(batches, scope_key))
    return response


class DataFramesController(rest.RestController):
    @pecan.expose(content_type='application/json')
    def get_all(self, *_args, **_kwargs):
        """Rated points of a period as v1 dataframes (see the module)."""
        try:
            return self._dataframes(parse_arguments())
        except (wsme_exc.ClientSideError, errors.APIError,
                storage_v2.StorageError) as exc:
            return _fault(exc)

    @staticmethod
    def _dataframes(arguments):
        context = base.request_context()
        tenant_id = arguments.get('tenant_id')
        policy.authorize(context, policies.LIST_DATAFRAMES,
                         {'project_id': tenant_id or context.project_id})
        scope_key = base.request_conf().collect.scope_key
        filters = _filters(context, scope_key, tenant_id)
        if filters == []:
            return _stream_response([], None)
        begin, end = base.period(arguments.get('begin'),
                                 arguments.get('end'))
        if end <= begin:
            return _stream_response([], scope_key)
        batches = _batches(base.request_storage(), begin, end, filters,
                           arguments.get('resource_type'))
        return _stream_response(batches, scope_key)


class StorageController(rest.RestController):
    dataframes = DataFramesController()
