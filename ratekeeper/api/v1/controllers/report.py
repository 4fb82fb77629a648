"""/v1/report: tenants, total and summary over the configured storage.

Tenant rules (total and summary): ``all_tenants`` drops the project
filter; otherwise the filter is ``tenant_id``, else the caller's project,
for administrators too. A caller that is no administrator reads its own
project only, and one without a project nothing (CloudKitty showed it
every project). A reversed or empty period answers nothing ("0"
or an empty summary), as CloudKitty does.
"""
import datetime
import decimal

from pecan import rest
from wsme import types as wtypes

from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper import policy
from ratekeeper.api.v1 import base
from ratekeeper.api.v1.datamodels import report as models
from ratekeeper.policies import report as policies

GROUPBY_KEYS = ('tenant_id', 'res_type')
MAX_NAME_LENGTH = 255
EMPTY = {'total': 0, 'results': []}


def _effective_tenant(tenant_id, all_tenants):
    """No filter with all_tenants; else the asked tenant or the caller's."""
    if all_tenants:
        return None
    return tenant_id or base.request_context().project_id


def _checked_name(value, name):
    if value is not None and len(value) > MAX_NAME_LENGTH:
        raise errors.InvalidInput('%s is longer than %d characters.'
                                  % (name, MAX_NAME_LENGTH))
    return value


def _groupby_keys(groupby):
    keys = [k.strip() for k in (groupby or '').split(',') if k.strip()]
    unknown = [k for k in keys if k not in GROUPBY_KEYS]
    if unknown:
        raise errors.InvalidInput(
            'Invalid groupby %s: only tenant_id and res_type are supported.'
            % ', '.join(unknown)[:200])
    return list(dict.fromkeys(keys))


def _totals(begin, end, tenant_id, service, groupby=()):
    """Totals of the effective tenant (None: every tenant), of what the
    caller may read: nothing for a caller without a project."""
    begin, end = base.period(begin, end)
    projects = rk_context.readable_projects(
        base.request_context(), [tenant_id] if tenant_id else None)
    if end <= begin or projects == []:
        return EMPTY
    scope_key = base.request_conf().collect.scope_key
    filters = {scope_key: projects} if projects else None
    return base.request_storage().total(
        begin, end, groupby=list(groupby), filters=filters,
        metric_types=[service] if service else None)


def _summary_row(row, scope_key, tenant_id, service):
    """A summary row; a dimension not grouped shows its filter, or ALL."""
    return models.SummaryModel(
        begin=base.naive(row['begin']), end=base.naive(row['end']),
        tenant_id=row.get(scope_key) or tenant_id or 'ALL',
        res_type=row.get('type') or service or 'ALL',
        rate=models.rate_text(row['rate']))


class ReportController(rest.RestController):
    _custom_actions = {
        'total': ['GET'],
        'tenants': ['GET'],
        'summary': ['GET'],
    }

    @base.wsexpose([wtypes.text], datetime.datetime, datetime.datetime)
    def tenants(self, begin=None, end=None):
        """The tenants with rated data in the period."""
        policy.authorize(base.request_context(), policies.LIST_TENANTS, {})
        begin, end = base.period(begin, end)
        if end <= begin:
            return []
        return base.request_storage().scope_ids(
            begin, end, base.request_conf().collect.scope_key)

    @base.wsexpose(decimal.Decimal, datetime.datetime,
                   datetime.datetime, wtypes.text, wtypes.text,
                   base.STRICT_BOOLEAN)
    def total(self, begin=None, end=None, tenant_id=None, service=None,
              all_tenants=False):
        """The rated total of the period (deprecated: use summary)."""
        tenant_id = _effective_tenant(tenant_id, all_tenants)
        policy.authorize(base.request_context(), policies.GET_TOTAL,
                         {'project_id': tenant_id})
        _checked_name(tenant_id, 'tenant_id')
        _checked_name(service, 'service')
        rows = _totals(begin, end, tenant_id, service)['results']
        if not rows or not rows[0]['rate']:
            return decimal.Decimal('0')
        return decimal.Decimal(str(rows[0]['rate']))

    @base.wsexpose(models.SummaryCollectionModel, datetime.datetime,
                   datetime.datetime, wtypes.text, wtypes.text,
                   wtypes.text, base.STRICT_BOOLEAN)
    def summary(self, begin=None, end=None, tenant_id=None, service=None,
                groupby=None, all_tenants=False):
        """Rated totals of the period by tenant and/or resource type."""
        tenant_id = _effective_tenant(tenant_id, all_tenants)
        policy.authorize(base.request_context(), policies.GET_SUMMARY,
                         {'project_id': tenant_id})
        _checked_name(tenant_id, 'tenant_id')
        _checked_name(service, 'service')
        scope_key = base.request_conf().collect.scope_key
        storage_groupby = [{'tenant_id': scope_key, 'res_type': 'type'}[k]
                           for k in _groupby_keys(groupby)]
        rows = _totals(begin, end, tenant_id, service, storage_groupby)
        return models.SummaryCollectionModel(summary=[
            _summary_row(row, scope_key, tenant_id, service)
            for row in rows['results']])
