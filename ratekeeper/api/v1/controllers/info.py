"""/v1/info: the metrics configuration, raw and as a metric list.

``/v1/info/services`` is CloudKitty's deprecated alias of
``/v1/info/metrics``.
"""
import logging

from pecan import rest
from wsme import types as wtypes

from ratekeeper import collector
from ratekeeper import errors
from ratekeeper import metrics
from ratekeeper import policy
from ratekeeper.api.v1 import base
from ratekeeper.api.v1.datamodels import info as models
from ratekeeper.collector import definitions
from ratekeeper.policies import info as policies

LOG = logging.getLogger(__name__)
NO_METRICS = 'Invalid endpoint: no metrics in current configuration.'


def _document():
    try:
        return metrics.load(base.request_conf())
    except metrics.Unavailable as exc:
        LOG.error('metrics configuration unavailable: %s', exc)
        raise errors.ServiceUnavailable(
            'The metrics configuration ([collect] metrics_conf) is '
            'unavailable: %s.' % exc.reason)


def _metrics():
    """The metric definitions, read by the collector's own parser (so a
    list-form entry gives each of its definitions); CloudKitty answers an
    invalid file with 405 and this message."""
    conf = base.request_conf()
    try:
        return definitions.parse(_document(), conf.collect.scope_key,
                                 collector.extra_args_schema(conf))
    except definitions.InvalidConfiguration as exc:
        LOG.error('invalid metrics configuration: %s', exc)
        raise errors.APIError(NO_METRICS, status=405)


def _info(definition):
    return models.MetricInfo(metric_id=definition.alt_name,
                             metadata=list(definition.metadata),
                             unit=definition.unit)


def list_metrics():
    policy.authorize(base.request_context(), policies.LIST_METRICS, {})
    return models.MetricInfoCollection(
        metrics=[_info(definition) for definition in _metrics()])


def get_metric(metric_id):
    policy.authorize(base.request_context(), policies.GET_METRIC, {})
    for definition in _metrics():
        if definition.alt_name == metric_id:
            return _info(definition)
    raise errors.NotFound(str(metric_id))


class MetricsController(rest.RestController):
    @base.wsexpose(models.MetricInfoCollection)
    def get_all(self):
        """The metrics of the configuration."""
        return list_metrics()

    @base.wsexpose(models.MetricInfo, wtypes.text)
    def get_one(self, metric_id):
        """One metric, found by its alt_name."""
        return get_metric(metric_id)


class ServicesController(rest.RestController):
    """Deprecated: the metrics under their old name."""

    @base.wsexpose(models.MetricInfoCollection)
    def get_all(self):
        LOG.warning('/v1/info/services is deprecated: use /v1/info/metrics.')
        return list_metrics()

    @base.wsexpose(models.MetricInfo, wtypes.text)
    def get_one(self, service_id):
        LOG.warning('/v1/info/services is deprecated: use /v1/info/metrics.')
        return get_metric(service_id)


class InfoController(rest.RestController):
    metrics = MetricsController()
    services = ServicesController()

    _custom_actions = {'config': ['GET']}

    @base.wsexpose(models.CONFIG_TYPE)
    def config(self):
        """The metrics configuration file, as parsed."""
        policy.authorize(base.request_context(), policies.GET_CONFIG, {})
        return _document()
