"""The Prometheus collector: one instant query per metric, scope and
period, built as CloudKitty builds it so one Prometheus gives the same
quantities:

    [PREFIX ]AGG([QF(]RANGE(NAME{SCOPE_KEY="SCOPE"}[<period>s])[)])
        by (GROUPBY..., METADATA...)[ SUFFIX]

evaluated at the period's end, RANGE being ``range_function`` or
``AGG_over_time``. The scope id is quoted as a PromQL string. Several
consecutive periods are read with one range query stepping by the period
(the same instant query evaluated at each period's end).
"""
import voluptuous as vol

from ratekeeper import prometheus
from ratekeeper.collector import definitions as metric_definitions
from ratekeeper import collector as base

AGGREGATIONS = ('avg', 'count', 'max', 'min', 'stddev', 'stdvar', 'sum')
QUERY_FUNCTIONS = ('abs', 'ceil', 'exp', 'floor', 'ln', 'log2', 'log10',
                   'round', 'sqrt')
RANGE_FUNCTIONS = ('changes', 'delta', 'deriv', 'idelta', 'increase',
                   'irate', 'rate', 'resets')

EXTRA_ARGS = vol.Schema({
    vol.Required('aggregation_method', default='max'): vol.In(AGGREGATIONS),
    vol.Optional('query_function'): vol.In(QUERY_FUNCTIONS),
    vol.Optional('range_function'): vol.In(RANGE_FUNCTIONS),
    vol.Required('query_prefix', default=''): str,
    vol.Required('query_suffix', default=''): str,
})


def _check_names(definition):
    if not metric_definitions.PROMQL_NAME.match(definition.name):
        raise metric_definitions.InvalidConfiguration(
            'metric %s: not a Prometheus metric name' % definition.name)
    for label in definition.groupby + definition.metadata:
        if not metric_definitions.PROMQL_LABEL.match(label):
            raise metric_definitions.InvalidConfiguration(
                'metric %s: key groupby/metadata: %r is not a Prometheus '
                'label name' % (definition.name, label))


def build_query(definition, scope_key, scope_id, seconds):
    args = definition.extra_args
    aggregation = args['aggregation_method']
    selector = '%s{%s=%s}[%ds]' % (definition.name, scope_key,
                                   prometheus.quote(scope_id), seconds)
    if args.get('range_function'):
        inner = '%s(%s)' % (args['range_function'], selector)
    else:
        inner = '%s_over_time(%s)' % (aggregation, selector)
    if args.get('query_function'):
        inner = '%s(%s)' % (args['query_function'], inner)
    query = '%s(%s) by (%s)' % (
        aggregation, inner, ', '.join(definition.groupby +
                                      definition.metadata))
    if args['query_prefix']:
        query = args['query_prefix'] + ' ' + query
    if args['query_suffix']:
        query = query + ' ' + args['query_suffix']
    return query


class PrometheusCollector(base.BaseCollector):
    name = 'prometheus'
    extra_args_schema = EXTRA_ARGS

    def __init__(self, conf):
        super().__init__(conf)
        for definition in self.definitions:
            _check_names(definition)
        options = conf.collector_prometheus
        if not options.prometheus_url:
            raise metric_definitions.InvalidConfiguration(
                '[collector_prometheus] prometheus_url is required')
        self.client = prometheus.Client(options)

    def fetch(self, definition, scope_id, begin, end):
        query = build_query(definition, self.scope_key, scope_id,
                            int((end - begin).total_seconds()))
        try:
            result = self.client.query(query, time=end)
        except prometheus.PrometheusError as exc:
            raise base.CollectError(str(exc), exc.transient) from None
        try:
            return [base.Sample(series['value'][1],
                                series.get('metric') or {})
                    for series in result]
        except (KeyError, IndexError, TypeError):
            raise base.CollectError('Prometheus answered a series without '
                                    'a value: %.200r' % (result,)) from None

    def fetch_periods(self, definition, scope_id, begins, period):
        if len(begins) == 1:
            return super().fetch_periods(definition, scope_id, begins,
                                         period)
        seconds = int(period.total_seconds())
        query = build_query(definition, self.scope_key, scope_id, seconds)
        try:
            result = self.client.query_range(
                query, begins[0] + period, begins[-1] + period, seconds)
        except prometheus.PrometheusError as exc:
            raise base.CollectError(str(exc), exc.transient) from None
        samples = {begin: [] for begin in begins}
        begin_at = {int((b + period).timestamp()): b for b in begins}
        try:
            for series in result:
                labels = series.get('metric') or {}
                for timestamp, value in series['values']:
                    begin = begin_at.get(int(float(timestamp)))
                    if begin is not None:
                        samples[begin].append(base.Sample(value, labels))
        except (KeyError, IndexError, TypeError, ValueError):
            raise base.CollectError('Prometheus answered a series without '
                                    'values: %.200r' % (result,)) from None
        return samples

    def close(self):
        self.client.close()
