"""Quotes: price resources described in a request, store nothing.

The answer is CloudKitty's: the exact decimal sum, as text with every
digit its decimal arithmetic keeps ("6.000000000000000000000000000").

CloudKitty turns each resource into a point of its service at "now" and
takes only ``desc.groupby`` and ``desc.metadata`` into account (keys placed
directly in ``desc`` are ignored); only global rules apply.
"""
import datetime
import decimal

from ratekeeper import dataframe
from ratekeeper import errors


def _volume(value):
    """The volume as CloudKitty reads it: Decimal of the JSON value (a
    JSON number exactly, as WSME reads it); None when it is no number."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        return decimal.Decimal(value)
    except (ValueError, decimal.InvalidOperation):
        return None


def _resource_point(resource, index):
    where = 'resources[%d]' % index
    if not isinstance(resource, dict):
        raise errors.InvalidInput('%s must be an object.' % where)
    service = errors.text_field(resource.get('service'), 'service')
    if not service:
        raise errors.InvalidInput('%s.service is mandatory.' % where)
    qty = _volume(resource.get('volume', 0))
    if qty is None or not qty.is_finite() \
            or qty.copy_abs() >= dataframe.MAX_MAGNITUDE:
        raise errors.InvalidInput('%s.volume must be a finite number.'
                                  % where)
    desc = resource.get('desc') or {}
    if not isinstance(desc, dict):
        raise errors.InvalidInput('%s.desc must be an object.' % where)
    groupby, metadata = desc.get('groupby') or {}, desc.get('metadata') or {}
    if not isinstance(groupby, dict) or not isinstance(metadata, dict):
        raise errors.InvalidInput('%s.desc.groupby and metadata must be '
                                  'objects.' % where)
    return service, qty, groupby, metadata


def price_resources(registry, resources):
    """The total price, as CloudKitty's decimal string."""
    if not isinstance(resources, list):
        raise errors.InvalidInput('Invalid input: "resources" must be a '
                                  'list of resources.')
    batch = dataframe.PointBatch()
    begin = datetime.datetime.now(datetime.timezone.utc)
    for index, resource in enumerate(resources):
        service, qty, groupby, metadata = _resource_point(resource, index)
        batch.begin.append(begin)
        batch.end.append(begin)
        batch.type.append(service)
        batch.unit.append('undef')
        batch.qty.append(qty)
        batch.price.append(0.0)
        batch.groupby.append(groupby)
        batch.metadata.append(metadata)
    total = registry.quote(batch)
    return str(total) if total else '0'
