"""The ``prometheus`` fetcher: the distinct values of
``[fetcher_prometheus] scope_attribute`` among the series of ``metric``
(narrowed by ``filters``), read with the instant query
``max(METRIC{FILTERS}) by (SCOPE_ATTRIBUTE)`` as CloudKitty does; with
``lookback`` seconds, ``max(max_over_time(METRIC{FILTERS}[<lookback>s]))
by (SCOPE_ATTRIBUTE)``, so a scope whose series ended a while ago is
still collected up to its end."""
from ratekeeper import fetcher
from ratekeeper import prometheus
from ratekeeper.collector import definitions


class PrometheusFetcher(fetcher.BaseFetcher):
    name = 'prometheus'

    def __init__(self, conf):
        super().__init__(conf)
        options = conf.fetcher_prometheus
        if not options.metric or not options.prometheus_url:
            raise fetcher.InvalidConfiguration(
                '[fetcher_prometheus] metric and prometheus_url are '
                'required')
        labels = [options.scope_attribute, *options.filters]
        if not definitions.PROMQL_NAME.match(options.metric) or not all(
                definitions.PROMQL_LABEL.match(label) for label in labels):
            raise fetcher.InvalidConfiguration(
                '[fetcher_prometheus] metric, scope_attribute and filters '
                'must be Prometheus names')
        self.attribute = options.scope_attribute
        selector = options.metric + self._matchers(options.filters)
        if options.lookback:
            selector = 'max_over_time(%s[%ds])' % (selector,
                                                   options.lookback)
        self.query = 'max(%s) by (%s)' % (selector, self.attribute)
        self.client = prometheus.Client(options)

    @staticmethod
    def _matchers(filters):
        if not filters:
            return ''
        return '{%s}' % ', '.join('%s=%s' % (label, prometheus.quote(value))
                                  for label, value in filters.items())

    def get_scopes(self):
        try:
            result = self.client.query(self.query)
        except prometheus.PrometheusError as exc:
            raise fetcher.FetcherError(str(exc)) from None
        scopes = {}
        for series in result:
            labels = series.get('metric') if isinstance(series, dict) else None
            value = (labels or {}).get(self.attribute)
            if value:
                scopes[value] = None
        return list(scopes)

    def close(self):
        self.client.close()
