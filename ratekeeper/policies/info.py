"""Rules of /v1/info (the deprecated /v1/info/services aliases share the
metrics rules, as in CloudKitty)."""
from ratekeeper.policies import base

LIST_METRICS = 'ratekeeper:info:list_metrics'
GET_METRIC = 'ratekeeper:info:get_metric'
GET_CONFIG = 'ratekeeper:info:get_config'

rules = [
    base.documented(LIST_METRICS, base.UNPROTECTED,
                    'List the metrics of the metrics configuration.',
                    '/v1/info/metrics', ['GET'],
                    deprecated_name='info:list_metrics_info'),
    base.documented(GET_METRIC, base.UNPROTECTED,
                    'Get one metric of the metrics configuration.',
                    '/v1/info/metrics/{metric_id}', ['GET'],
                    deprecated_name='info:get_metric_info'),
    base.documented(GET_CONFIG, base.UNPROTECTED,
                    'Get the raw metrics configuration.',
                    '/v1/info/config', ['GET'],
                    deprecated_name='info:get_config'),
]


def list_rules():
    return rules
