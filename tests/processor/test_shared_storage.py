"""ratekeeper-processor on the v2 storages several processes share
(ClickHouse, InfluxDB), beside a 4-worker ratekeeper-api on the same
storage, with the real Prometheus of conftest holding known history:
three processors (tooz locks on Redis) store every scope-period exactly
once and /v2/summary of the API workers gives the exact totals; the API
workers neither collect nor reprocess, and say so; a reprocessing asked of
the API is worked by a processor: the window is deleted and rated again
with the new rules, not counted twice.

(The processes of one backend run for the tests of that backend only; the
crash tests are in test_shared_crashes, so that no idle deployment runs
beside them.)
"""
import datetime
import decimal
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from ratekeeper.db import migration
from ratekeeper.processor import service as processor_service
from ratekeeper.processor import state as scope_state
from ratekeeper.storage import testing
from tests import clickhouse
from tests import databases
from tests import influx
from tests import live
from tests.processor import conftest
from tests.processor import test_processes as processes

HOURS = conftest.HOURS
PERIOD = processes.PERIOD
ALL_SCOPES = processes.ALL_SCOPES


def storage_sections(backend, database):
    if backend == 'clickhouse':
        return {'storage': {'version': 2, 'backend': 'clickhouse'},
                'storage_clickhouse': {
                    'url': clickhouse.server().url(database)}}
    return {'storage': {'version': 2, 'backend': 'influxdb'},
            'storage_influxdb': influx.server().options(database)}


def drop(backend, database):
    if backend == 'clickhouse':
        clickhouse.drop_database(clickhouse.server().tcp_port, database)
    else:
        influx.drop_database(database)


def _http(method, url, body=None):
    request = urllib.request.Request(
        url, method=method, data=None if body is None
        else json.dumps(body).encode('utf-8'),
        headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            data = response.read()
            return response.status, json.loads(data) if data else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode('utf-8', 'replace')


def _summary(api, begin):
    """{(type, scope): (qty, rate)} of the whole history."""
    query = urllib.parse.urlencode({
        'begin': begin.isoformat(),
        'end': (begin + datetime.timedelta(hours=HOURS)).isoformat(),
        'groupby': 'type,project_id', 'response_format': 'object',
        'limit': 1000})
    status, body = _http('GET', api + '/v2/summary?' + query)
    assert status == 200, body
    return {(row['type'], row['project_id']):
            (decimal.Decimal(str(row['qty'])),
             decimal.Decimal(str(row['rate'])))
            for row in body['results']}


def _check_summary(api, begin, instance_price=None):
    """The exact quantities; rates 0 but the instances of the scopes in
    ``instance_price`` ({scope: price per instance})."""
    got = _summary(api, begin)
    periods = HOURS * 3600 // PERIOD
    expected_keys = set()
    for scopes, vms in ((conftest.SCOPES, 3), (conftest.MORE_SCOPES, 1)):
        for k, scope in enumerate(scopes):
            qty, rate = got[('instance', scope)]
            assert qty == vms * periods
            price = decimal.Decimal((instance_price or {}).get(scope, 0))
            assert rate == price * vms * periods
            qty, rate = got[('volume', scope)]
            assert float(qty) == pytest.approx((k + 1) * periods, abs=1e-6)
            assert rate == 0
            expected_keys |= {('instance', scope), ('volume', scope)}
    assert set(got) == expected_keys


class Deployment:
    """A 4-worker ratekeeper-api and ratekeeper-processors on one config:
    PostgreSQL for the rules and states, Redis for the locks."""

    def __init__(self, tmp_path, url, begin, sections):
        self.tmp_path = tmp_path
        self.begin = begin
        self.port = live.free_port()
        self.api = 'http://127.0.0.1:%d' % self.port
        sections.setdefault('DEFAULT', {})['auth_strategy'] = 'noauth'
        sections['api'] = {'host': '127.0.0.1', 'port': self.port,
                           'workers': 4}
        sections.setdefault('orchestrator', {}).update({
            'coordination_url': 'redis://127.0.0.1:6379?namespace=rk-test-%s'
                                % secrets.token_hex(4),
            # idle passes at most every second (they cost CPU the other
            # processes of the test want), reprocessing looked for sooner
            'poll_interval': 1, 'reprocessing_poll_interval': 0.3,
            # 12 pushes a scope, not 2: one processor could store every
            # scope before the two others had started
            'max_periods_per_push': 3})
        self.config = processes._write_config(tmp_path, url, begin,
                                              **sections)
        self.conf = processes._conf(self.config)
        migration.upgrade(self.conf)
        self.states = scope_state.ScopeStates(self.conf)
        self.last = begin + datetime.timedelta(seconds=HOURS * 3600 - PERIOD)
        self.log = open(tmp_path / 'processors.log', 'ab')
        self.api_log = open(tmp_path / 'api.log', 'ab')
        self.api_process = None
        self.processors = []

    def start_api(self):
        self.api_process = subprocess.Popen(
            [os.path.join(live.BIN, 'ratekeeper-api'), '--config-file',
             self.config], stdout=self.api_log, stderr=subprocess.STDOUT)
        live.wait_until_up(self.api + '/', self.api_process, timeout=60)

    def start_processors(self, count):
        self.processors += [processes._start(self.config, self.log)
                            for _ in range(count)]

    def wait_until_done(self):
        processes._wait_until_done(self.states, self.last, self.processors)

    def processors_log(self):
        self.log.flush()
        return (self.tmp_path / 'processors.log').read_text()

    def stop(self):
        try:
            processes._stop(self.processors)
        finally:
            if self.api_process is not None:
                live.stop(self.api_process)
            self.log.close()
            self.api_log.close()


@pytest.fixture(scope='module', params=['clickhouse', 'influxdb'])
def deployment(request, prometheus_history, tmp_path_factory):
    """A 4-worker API and three processors on ``backend``, once the
    processors have collected the whole history."""
    backend = request.param
    url, begin = prometheus_history
    tmp_path = tmp_path_factory.mktemp('shared-' + backend)
    database = (clickhouse if backend == 'clickhouse'
                else influx).database_name('processors')
    with databases.temporary_database('postgresql', 'shared') as dburl:
        sections = storage_sections(backend, database)
        sections['database'] = {'connection': dburl}
        running = Deployment(tmp_path, url, begin, sections)
        try:
            running.start_api()
            running.start_processors(3)
            running.wait_until_done()
            yield backend, running
        finally:
            running.stop()
            drop(backend, database)


def test_three_processors_beside_api_workers_store_each_period_once(
        deployment):
    _backend, running = deployment
    processes._check_store(running.conf, running.begin)
    _check_summary(running.api, running.begin)
    logs = running.processors_log()
    workers = {line.split()[2] for line in logs.splitlines()
               if 'period(s) stored' in line and ' 0 period(s)' not in line}
    assert len(workers) >= 2, 'one processor did all the work'
    api_log = (running.tmp_path / 'api.log').read_text()
    assert 'run ratekeeper-processor' in api_log
    assert 'the API workers do not collect nor reprocess' in api_log


def test_a_reprocessing_replaces_the_window_exactly(deployment):
    _backend, running = deployment
    api = running.api
    status, body = _http('PUT', api + '/v2/rating/modules/hashmap',
                         {'enabled': True})
    assert status == 204, body
    status, service = _http('POST', api + '/v1/rating/module_config/'
                            'hashmap/services', {'name': 'instance'})
    assert status == 201, service
    status, body = _http(
        'POST', api + '/v1/rating/module_config/hashmap/mappings?force=true',
        {'service_id': service['service_id'], 'cost': '0.5',
         'type': 'flat', 'start': '2020-01-01T00:00:00'})
    assert status == 201, body
    end = running.last.replace(tzinfo=None).isoformat()
    status, body = _http('POST', api + '/v2/task/reprocesses', {
        'scope_ids': 'p-one', 'reason': 'new instance price',
        'start_reprocess_time': running.begin.replace(
            tzinfo=None).isoformat(),
        'end_reprocess_time': end})
    assert status == 202, body
    deadline = time.monotonic() + 120
    while True:
        status, body = _http('GET', api + '/v2/task/reprocesses/p-one')
        assert status == 200, body
        if body['results'][0]['current_reprocess_time'] == end:
            break
        assert time.monotonic() < deadline, 'not reprocessed: %s' % body
        time.sleep(0.3)
    # p-one's instances priced, quantities unchanged, nothing twice
    _check_summary(api, running.begin, {'p-one': '0.5'})
    processes._check_store(running.conf, running.begin)


@pytest.mark.parametrize('storage, collector, api_works, role', [
    ({'version': 2, 'backend': 'duckdb'}, 'prometheus', True,
     'collecting with prometheus and reprocessing in this process'),
    ({'version': 2, 'backend': 'duckdb'}, '', True,
     'reprocessing in this process'),
    ({'version': 2, 'backend': 'clickhouse'}, 'prometheus', False,
     'the API workers do not collect nor reprocess: the clickhouse'),
    ({'version': 2, 'backend': 'influxdb'}, '', False,
     'the API workers do not reprocess: the influxdb'),
    ({'version': 1, 'backend': 'sqlalchemy'}, 'prometheus', False,
     'the API workers do not collect: the sqlalchemy'),
])
def test_api_workers_collect_and_reprocess_on_embedded_storage_only(
        tmp_path, storage, collector, api_works, role):
    conf = testing.make_conf(str(tmp_path), storage=storage,
                             collect={'collector': collector})
    assert processor_service.reprocesses_in_api(conf) is api_works
    assert processor_service.embedded(conf) is (api_works and
                                                bool(collector))
    assert processor_service.api_role(conf).startswith(role)
