"""One JSON error shape for every response of every version.

``JSONErrorMiddleware`` wraps the whole dispatcher: any error response that
does not already carry the shape (a pecan or WSME page, keystonemiddleware's
401, a 413 from the body size limiter, werkzeug's 404 for an unknown prefix)
is rewritten into it. Success responses pass through untouched and are
never buffered.
"""
import dataclasses
import html
import logging
import re

import orjson
import voluptuous
from werkzeug import exceptions as http_exceptions

from ratekeeper import errors
from ratekeeper.api import json as api_json
from ratekeeper.storage import v2 as storage_v2

LOG = logging.getLogger(__name__)
REQUEST_ID_KEY = 'openstack.request_id'
API_VERSION_KEY = 'ratekeeper.api_version'  # 'v1', 'v2': set while routing
RETRY_AFTER = '5'  # seconds, on a 503 that did not say
_TAGS = re.compile(r'<[^>]+>')


def json_error(start_response, status, message, code=None, request_id=None,
               headers=(), extra=None):
    """Answer an error directly, in the one shape."""
    body = errors.error_body(status, message, code, request_id)
    if extra:
        body = dict(extra, **body)
    data = api_json.dumps(body)
    start_response('%d %s' % (status, errors.default_message(status)),
                   [('Content-Type', 'application/json'),
                    ('Content-Length', str(len(data)))] + list(headers))
    return [data]


def _message_from(status, data, content_type):
    """(message, extra fields to keep) from a foreign error body."""
    if 'json' in content_type:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            if 'faultstring' in document:
                return document['faultstring'], document
            error = document.get('error')
            if isinstance(error, dict) and error.get('message'):
                return error['message'], {}
            if isinstance(document.get('message'), str):
                return document['message'], document
    text = html.unescape(_TAGS.sub(' ', data.decode('utf-8', 'replace')))
    text = ' '.join(text.split())
    return text[:500] or errors.default_message(status), {}


def _version(environ, path):
    """The API version a request went to: as routed, else as its path
    (``path``, before routing) says, for what outer layers refuse."""
    version = environ.get(API_VERSION_KEY)
    if version is None and (path == '/v1' or path.startswith('/v1/')):
        version = 'v1'
    return version


@dataclasses.dataclass(frozen=True)
class Fault:
    """What the client is told about an exception, in any version."""

    status: int
    message: str
    code: str
    details: object = None
    headers: dict = dataclasses.field(default_factory=dict)


def status_fault(status, message):
    """A Fault with the status's default code."""
    return Fault(status, message, errors.default_code(status))


def describe(exc):
    """The Fault an exception raised while serving a request becomes (v1
    and v2 alike). A storage failure is a 503 to retry; what nothing
    expected is a 500 (logged, with its traceback)."""
    if isinstance(exc, errors.APIError):
        return Fault(exc.status, exc.message, exc.code, exc.details,
                     exc.headers)
    if isinstance(exc, storage_v2.StorageError):
        LOG.error('storage unavailable: %s', exc)
        return Fault(503, 'The storage backend is unavailable.',
                     errors.SERVICE_UNAVAILABLE,
                     headers={'Retry-After': RETRY_AFTER})
    if isinstance(exc, http_exceptions.HTTPException):
        headers = {}
        if isinstance(exc, http_exceptions.MethodNotAllowed) \
                and exc.valid_methods:
            headers['Allow'] = ', '.join(sorted(exc.valid_methods))
        return Fault(exc.code, exc.description, errors.default_code(exc.code),
                     headers=headers)
    if isinstance(exc, voluptuous.Invalid):
        return Fault(400, str(exc), errors.INVALID_INPUT)
    LOG.exception('unexpected error')
    return Fault(500, 'Internal Server Error', errors.INTERNAL)


def document(fault, request_id=None):
    """The one error shape (v2's, and the core of v1's)."""
    return errors.error_body(fault.status, fault.message, fault.code,
                             request_id, fault.details)


def v1_fault_fields(status, message):
    """WSME's fault fields, which v1 errors carry (the client prints
    ``faultstring``)."""
    return {'faultcode': 'Client' if status < 500 else 'Server',
            'faultstring': message, 'debuginfo': None}


def v1_document(fault, request_id=None):
    """v1's error document: WSME's fault fields and the project's (the
    error middleware fills in the request id)."""
    return dict(v1_fault_fields(fault.status, fault.message),
                **document(fault, request_id))


def _in_version_shape(version, status, document):
    """v1 errors carry the fault fields whoever answered: pecan's router,
    webob, a limit."""
    if version != 'v1' or 'faultstring' in document:
        return document
    return dict(v1_fault_fields(status, document['message']), **document)


class JSONErrorMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        captured = {}
        path = environ.get('PATH_INFO', '')

        def capture(status, headers, exc_info=None):
            code = int(status.split(' ', 1)[0])
            if code < 400:
                return start_response(status, headers, exc_info)
            captured.update(status=code, headers=headers)
            return lambda chunk: None

        try:
            result = self.app(environ, capture)
        except Exception:
            # The last barrier: whatever escaped the apps is a JSON 500,
            # never the server's HTML page.
            LOG.exception('unhandled error on %s %s',
                          environ.get('REQUEST_METHOD'),
                          environ.get('PATH_INFO'))
            return json_error(start_response, 500, 'Internal Server Error',
                              errors.INTERNAL, environ.get(REQUEST_ID_KEY),
                              extra=_in_version_shape(
                                  _version(environ, path), 500,
                                  {'message': 'Internal Server Error'}))
        if not captured:
            return result
        try:
            data = b''.join(result)
        finally:
            if hasattr(result, 'close'):
                result.close()
        return self._rewrite(environ, start_response, captured, data,
                             _version(environ, path))

    def _rewrite(self, environ, start_response, captured, data, version):
        status, headers = captured['status'], captured['headers']
        content_type = next((v for k, v in headers
                             if k.lower() == 'content-type'), '')
        request_id = environ.get(REQUEST_ID_KEY)
        if 'json' in content_type:
            try:
                document = orjson.loads(data)
            except orjson.JSONDecodeError:
                document = None
            if isinstance(document, dict) and 'code' in document \
                    and 'message' in document:
                document['request_id'] = request_id
                return self._send(start_response, status, headers,
                                  _in_version_shape(version, status, document))
        message, extra = _message_from(status, data, content_type)
        body = errors.error_body(status, message, None, request_id)
        if extra:
            body = dict(extra, **body)
        return self._send(start_response, status, headers,
                          _in_version_shape(version, status, body))

    @staticmethod
    def _send(start_response, status, headers, document):
        data = api_json.dumps(document)
        kept = [(k, v) for k, v in headers
                if k.lower() not in ('content-type', 'content-length')]
        if status == 503 and not any(k.lower() == 'retry-after'
                                     for k, _ in kept):
            kept.append(('Retry-After', RETRY_AFTER))
        start_response('%d %s' % (status, errors.default_message(status)),
                       kept + [('Content-Type', 'application/json'),
                               ('Content-Length', str(len(data)))])
        return [data]
