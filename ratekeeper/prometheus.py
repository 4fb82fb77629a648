"""A small client of Prometheus's HTTP API (instant queries), shared by
the Prometheus collector and fetcher, and PromQL quoting.

Options come from a section with CloudKitty's names: prometheus_url (the
API root, ending in /api/v1), prometheus_user, prometheus_password,
cafile, insecure, timeout.

HTTP goes through urllib3 (what requests is built on) directly: the
processor queries Prometheus for every scope and period, and requests
added 4 MB of resident memory to it for nothing it uses here.
"""
import json
import re

import orjson
import urllib3

METRIC_NAME = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')


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
        self.timeout = urllib3.Timeout(total=options.timeout or None)
        self.headers = {}
        if options.prometheus_user and options.prometheus_password:
            self.headers = urllib3.make_headers(basic_auth='%s:%s' % (
                options.prometheus_user, options.prometheus_password))
        tls = {'ca_certs': options.cafile} if options.cafile else \
            {'cert_reqs': 'CERT_NONE'} if options.insecure else {}
        # a connection per thread querying at once, kept between queries
        self.pool = urllib3.PoolManager(maxsize=16, **tls)

    def _get(self, url, params):
        try:
            return self.pool.request('GET', url, fields=params,
                                     headers=self.headers,
                                     timeout=self.timeout, retries=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise PrometheusError('Prometheus out of reach at %s: %s'
                                  % (url, exc)) from None

    def query(self, promql, time=None):
        """The ``result`` of an instant query (a list of {metric, value})
        evaluated at ``time`` (an aware datetime; None: now)."""
        params = {'query': promql}
        if time is not None:
            params['time'] = '%.3f' % time.timestamp()
        return self._result(self._get(self.url, params))

    def query_range(self, promql, start, end, step):
        """The ``result`` of a range query (a list of {metric, values})
        evaluated at start, start + step, ... end (aware datetimes, step
        in seconds): the instant query at each of those times."""
        params = {'query': promql, 'start': '%.3f' % start.timestamp(),
                  'end': '%.3f' % end.timestamp(), 'step': '%ds' % step}
        return self._result(self._get(self.range_url, params))

    def _result(self, response):
        try:
            body = orjson.loads(response.data)
        except ValueError:
            raise PrometheusError(
                'Prometheus answered %d without JSON at %s: %.200r'
                % (response.status, self.url,
                   response.data.decode('utf-8', 'replace'))) from None
        if not isinstance(body, dict):
            raise PrometheusError('Prometheus answered %d with unexpected '
                                  'JSON: %.200r' % (response.status,
                                                    body))
        if body.get('status') != 'success':
            raise PrometheusError(
                'Prometheus refused the query (%d %s): %s' % (
                    response.status, body.get('errorType'),
                    body.get('error')),
                transient=response.status >= 500)
        data = body.get('data')
        if not isinstance(data, dict) or not isinstance(
                data.get('result'), list):
            raise PrometheusError('Prometheus answered without data.result:'
                                  ' %.200r' % (body,))
        return data['result']

    def close(self):
        self.pool.clear()
