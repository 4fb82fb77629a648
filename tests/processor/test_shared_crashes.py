"""ratekeeper-processor on ClickHouse and InfluxDB, crashed: a processor
killed with SIGKILL mid-run and started again counts nothing twice and
skips nothing; the ClickHouse server killed while a processor runs and
started again: the processor retries, its state never passes a period not
stored, and the totals come out exact. Without a collector, a processor
acts on the resets asked of the API."""
import datetime
import os
import signal
import time

import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from ratekeeper.processor import schedule
from ratekeeper.processor import state as scope_state
from ratekeeper.storage import testing
from tests import clickhouse
from tests import influx
from tests.processor import conftest
from tests.processor import helpers
from tests.processor import test_processes as processes
from tests.processor import test_shared_storage as shared

HOURS = conftest.HOURS
PERIOD = processes.PERIOD


@pytest.mark.parametrize('backend', ['clickhouse', 'influxdb'])
def test_kill_9_mid_run_never_counts_twice_nor_skips(backend,
                                                     prometheus_history,
                                                     tmp_path):
    url, begin = prometheus_history
    database = (clickhouse if backend == 'clickhouse'
                else influx).database_name('kill')
    sections = shared.storage_sections(backend, database)
    # one period per push: many push-to-commit windows to be killed in
    sections['orchestrator'] = {'max_periods_per_push': 1}
    config = processes._write_config(tmp_path, url, begin, **sections)
    try:
        processes.kill_9_rounds(config, begin, tmp_path / 'processor.log')
    finally:
        shared.drop(backend, database)


@pytest.fixture
def own_clickhouse():
    """A server of this test's own: the test kills it."""
    if not os.path.exists(clickhouse.BINARY):
        pytest.skip('clickhouse-server is not installed')
    server = clickhouse.Server()
    server.start()
    yield server
    server.remove()


def test_clickhouse_killed_under_a_running_processor(prometheus_history,
                                                     own_clickhouse,
                                                     tmp_path):
    url, begin = prometheus_history
    config = processes._write_config(
        tmp_path, url, begin,
        storage={'version': 2, 'backend': 'clickhouse'},
        storage_clickhouse={'url': own_clickhouse.url('rk_outage'),
                            'connect_timeout': 1, 'query_timeout': 5},
        orchestrator={'max_periods_per_push': 1})
    conf = processes._conf(config)
    migration.upgrade(conf)
    states = scope_state.ScopeStates(conf)
    last = begin + datetime.timedelta(seconds=HOURS * 3600 - PERIOD)
    log_path = tmp_path / 'processor.log'
    with open(log_path, 'ab') as log:
        process = processes._start(config, log)
        try:
            deadline = time.monotonic() + 60
            while not any(s.last_processed_timestamp >= begin for s in
                          processes._progress(states, last)[1]):
                assert time.monotonic() < deadline, 'nothing stored'
                time.sleep(0.05)
            own_clickhouse.kill()
            # the processor meets the dead server (its pushes and deletes
            # fail) and goes on retrying
            deadline = time.monotonic() + 60
            while 'Unreachable: ClickHouse is out of reach' not in \
                    log_path.read_text():
                assert process.poll() is None
                assert time.monotonic() < deadline, 'no failure seen'
                time.sleep(0.1)
            own_clickhouse.start()
            processes._wait_until_done(states, last, [process])
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    processes._check_store(conf, begin)


@pytest.mark.parametrize('backend', ['clickhouse', 'influxdb'])
def test_a_processor_without_collector_acts_on_resets(backend,
                                                      prometheus_history,
                                                      tmp_path):
    # no collector on a shared storage: the API workers leave resets to
    # ratekeeper-processor, which does only that
    url, _begin = prometheus_history
    database = (clickhouse if backend == 'clickhouse'
                else influx).database_name('resets')
    sections = shared.storage_sections(backend, database)
    sections['collect'] = {'collector': ''}
    sections['orchestrator'] = {'reprocessing_poll_interval': 0.2}
    sections['DEFAULT'] = {'auth_strategy': 'noauth'}
    config = processes._write_config(tmp_path, url, testing.BEGIN,
                                     **sections)
    conf = processes._conf(config)
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    log_path = tmp_path / 'processor.log'
    try:
        storage.push(dataframe.parse_dataframes(testing.hourly_frames(6)))
        scope_state.ScopeStates(conf).create(
            testing.PROJECT_A, testing.BEGIN + helpers.hours(5),
            scope_key='project_id', fetcher='source', collector='prometheus')
        client = werkzeug_test.Client(rk_app.build_app(conf, storage))
        with open(log_path, 'ab') as log:
            process = processes._start(config, log)
            try:
                response = client.put('/v2/scope', json={
                    'scope_id': testing.PROJECT_A,
                    'last_processed_timestamp': (
                        testing.BEGIN + helpers.hours(2)).isoformat()})
                assert response.status_code == 202, response.get_data()
                deadline = time.monotonic() + 60
                while schedule.Resets(conf).pending():
                    assert process.poll() is None, 'the processor exited'
                    assert time.monotonic() < deadline, 'reset not done'
                    time.sleep(0.1)
            finally:
                processes._stop([process])
        rows = storage.total(testing.BEGIN, testing.BEGIN + helpers.hours(6),
                             groupby=['project_id'])['results']
        # A keeps hours 0 to 2 (12 a hour), B all six (5 a hour)
        assert {r['project_id']: r['qty'] for r in rows} == {
            testing.PROJECT_A: 36, testing.PROJECT_B: 30}
        [state] = scope_state.ScopeStates(conf).list()
        assert state.last_processed_timestamp == \
            testing.BEGIN + helpers.hours(2)
        assert 'resets and reprocessing tasks only' in log_path.read_text()
    finally:
        storage.close()
        shared.drop(backend, database)
