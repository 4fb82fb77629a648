"""Rules of /v1/report."""
from ratekeeper.policies import base

LIST_TENANTS = 'ratekeeper:report:list_tenants'
GET_SUMMARY = 'ratekeeper:report:get_summary'
GET_TOTAL = 'ratekeeper:report:get_total'

rules = [
    base.documented(LIST_TENANTS, base.ADMIN,
                    'List the tenants that have rated data.',
                    '/v1/report/tenants', ['GET'],
                    deprecated_name='report:list_tenants'),
    base.documented(GET_SUMMARY, base.PROJECT_READER_OR_ADMIN,
                    'Get the summary of a period, by tenant and/or service.',
                    '/v1/report/summary', ['GET'],
                    deprecated_name='report:get_summary'),
    base.documented(GET_TOTAL, base.PROJECT_READER_OR_ADMIN,
                    'Get the total cost of a period.',
                    '/v1/report/total', ['GET'],
                    deprecated_name='report:get_total'),
]


def list_rules():
    return rules
