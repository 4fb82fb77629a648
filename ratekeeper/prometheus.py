"""A small client of Prometheus's HTTP API (instant queries), shared by
the Prometheus collector and fetcher, and PromQL quoting.

Options come from a section with CloudKitty's names: prometheus_url (the
API root, ending in /api/v1), prometheus_user, prometheus_password,
cafile, insecure, timeout.
"""
import json

import requests


class PrometheusError(Exception):
    """The query failed; ``transient`` when retrying as is may work (the
    server out of reach, timing out, answering 5xx or garbage)."""

    def __init__(self, message, transient=True):
        super().__init__(message)
        self.transient = transient


def quote(value):
    """A PromQL string literal holding ``value`` exactly: quotes,
    backslashes and control characters escaped (CloudKitty inserted scope
    ids as they were, so a '"' broke the query)."""
    return json.dumps(value, ensure_ascii=False)


class Client:
    def __init__(self, options):
        self.url = options.prometheus_url.rstrip('/') + '/query'
        self.range_url = self.url + '_range'
        self.timeout = options.timeout or None
        self.session = requests.Session()
        if options.prometheus_user and options.prometheus_password:
            self.session.auth = (options.prometheus_user,
                                 options.prometheus_password)
        self.session.verify = options.cafile or not options.insecure

    def query(self, promql, time=None):
        """The ``result`` of an instant query (a list of {metric, value})
        evaluated at ``time`` (an aware datetime; None: now)."""
        params = {'query': promql}
        if time is not None:
            params['time'] = '%.3f' % time.timestamp()
        try:
            response = self.session.get(self.url, params=params,
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            raise PrometheusError('Prometheus out of reach at %s: %s'
                                  % (self.url, exc)) from None
        return self._result(response)

    def query_range(self, promql, start, end, step):
        """The ``result`` of a range query (a list of {metric, values})
        evaluated at start, start + step, ... end (aware datetimes, step
        in seconds): the instant query at each of those times."""
        params = {'query': promql, 'start': '%.3f' % start.timestamp(),
                  'end': '%.3f' % end.timestamp(), 'step': '%ds' % step}
        try:
            response = self.session.get(self.range_url, params=params,
                                        timeout=self.timeout)
        except requests.RequestException as exc:
            raise PrometheusError('Prometheus out of reach at %s: %s'
                                  % (self.range_url, exc)) from None
        return self._result(response)

    def _result(self, response):
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                'Prometheus answered %d without JSON at %s: %.200r'
                % (response.status_code, self.url, response.text)) from None
        if not isinstance(body, dict):
            raise PrometheusError('Prometheus answered %d with unexpected '
                                  'JSON: %.200r' % (response.status_code,
                                                    body))
        if body.get('status') != 'success':
            raise PrometheusError(
                'Prometheus refused the query (%d %s): %s' % (
                    response.status_code, body.get('errorType'),
                    body.get('error')),
                transient=response.status_code >= 500)
        data = body.get('data')
        if not isinstance(data, dict) or not isinstance(
                data.get('result'), list):
            raise PrometheusError('Prometheus answered without data.result:'
                                  ' %.200r' % (body,))
        return data['result']

    def close(self):
        self.session.close()
