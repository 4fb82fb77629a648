"""/v1/report: tenants, total and summary over the configured storage."""
import datetime
import decimal

import pecan
from pecan import rest
from wsme import types as wtypes
import wsmeext.pecan as wsme_pecan

from ratekeeper import policy
from ratekeeper.api.v1.datamodels import report as models
from ratekeeper.api import periods
from ratekeeper.policies import report as policies

GROUPBY_KEYS = ('tenant_id', 'res_type')


def _period(begin, end):
    """The asked period in aware UTC (WSME gives naive datetimes)."""
    begin, end = (_utc(begin) or periods.month_start(),
                  _utc(end) or periods.next_month_start())
    return begin, end


def _utc(moment):
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=datetime.timezone.utc)


def _naive(moment):
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _effective_tenant(tenant_id, all_tenants):
    """No filter with all_tenants; else the asked tenant or the caller's."""
    if all_tenants:
        return None
    return tenant_id or pecan.request.context.project_id


def _groupby(groupby, scope_key):
    keys = [k.strip() for k in (groupby or '').split(',') if k.strip()]
    unknown = [k for k in keys if k not in GROUPBY_KEYS]
    if unknown:
        pecan.abort(400, 'Invalid groupby %s: only tenant_id and res_type '
                         'are supported.' % ', '.join(unknown)[:200])
    return [{'tenant_id': scope_key, 'res_type': 'type'}[k] for k in keys]


def _totals(begin, end, tenant_id, service, groupby=()):
    scope_key = pecan.request.conf.collect.scope_key
    filters = {scope_key: [tenant_id]} if tenant_id else None
    if end <= begin:
        return {'total': 0, 'results': []}
    return pecan.request.storage_backend.total(
        begin, end, groupby=list(groupby), filters=filters,
        metric_types=[service] if service else None)


class ReportController(rest.RestController):
    _custom_actions = {
        'total': ['GET'],
        'tenants': ['GET'],
        'summary': ['GET'],
    }

    @wsme_pecan.wsexpose([wtypes.text], datetime.datetime, datetime.datetime)
    def tenants(self, begin=None, end=None):
        """The tenants with rated data in the period."""
        policy.authorize(pecan.request.context, policies.LIST_TENANTS, {})
        begin, end = _period(begin, end)
        return pecan.request.storage_backend.scope_ids(
            begin, end, pecan.request.conf.collect.scope_key)

    @wsme_pecan.wsexpose(decimal.Decimal, datetime.datetime,
                         datetime.datetime, wtypes.text, wtypes.text, bool)
    def total(self, begin=None, end=None, tenant_id=None, service=None,
              all_tenants=False):
        """The rated total of the period (deprecated: use summary)."""
        tenant_id = _effective_tenant(tenant_id, all_tenants)
        policy.authorize(pecan.request.context, policies.GET_TOTAL,
                         {'project_id': tenant_id})
        begin, end = _period(begin, end)
        rows = _totals(begin, end, tenant_id, service)['results']
        if not rows:
            return decimal.Decimal('0')
        return decimal.Decimal(repr(rows[0]['rate']))

    @wsme_pecan.wsexpose(models.SummaryCollectionModel, datetime.datetime,
                         datetime.datetime, wtypes.text, wtypes.text,
                         wtypes.text, bool)
    def summary(self, begin=None, end=None, tenant_id=None, service=None,
                groupby=None, all_tenants=False):
        """Rated totals of the period by tenant and/or resource type."""
        tenant_id = _effective_tenant(tenant_id, all_tenants)
        policy.authorize(pecan.request.context, policies.GET_SUMMARY,
                         {'project_id': tenant_id})
        scope_key = pecan.request.conf.collect.scope_key
        storage_groupby = _groupby(groupby, scope_key)
        begin, end = _period(begin, end)
        rows = _totals(begin, end, tenant_id, service, storage_groupby)
        return models.SummaryCollectionModel(summary=[
            models.SummaryModel(
                begin=_naive(row['begin']), end=_naive(row['end']),
                tenant_id=row.get(scope_key) or 'ALL',
                res_type=row.get('type') or 'ALL',
                rate=models.rate_text(row['rate']))
            for row in rows['results']])
