"""Quotes: price resources described in a request, store nothing.

CloudKitty turns each resource into a point of its service at "now" and
takes only ``desc.groupby`` and ``desc.metadata`` into account (keys placed
directly in ``desc`` are ignored); only global rules apply.
"""
import datetime
import decimal
import math

from ratekeeper import dataframe
from ratekeeper import errors


def _resource_point(resource, index):
    where = 'resources[%d]' % index
    if not isinstance(resource, dict):
        raise errors.InvalidInput('%s must be an object.' % where)
    service = resource.get('service')
    if not isinstance(service, str) or not service:
        raise errors.InvalidInput('%s.service must be a string.' % where)
    try:
        qty = float(decimal.Decimal(str(resource.get('volume', 0))))
    except decimal.InvalidOperation:
        qty = None
    if qty is None or not math.isfinite(qty) \
            or abs(qty) >= dataframe.MAX_MAGNITUDE:
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
    registry.rate(batch, tenant_scoped=False)
    total = sum(batch.price)
    return str(decimal.Decimal(repr(total))) if total else '0'
