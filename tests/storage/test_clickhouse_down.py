"""ClickHouse down: pushes and reads get a 503 JSON error with Retry-After
at once (no hang), acknowledged points survive, and the service recovers
by itself when the server is back."""
import datetime
import json
import threading
import time

import clickhouse_driver
import pytest
from werkzeug import test as wz_test

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from tests import clickhouse
from tests.functional import fixtures

SUMMARY = ('/v2/summary?begin=2015-01-04T00:00:00Z'
           '&end=2015-01-05T00:00:00Z&response_format=object')


def body(hour):
    return json.dumps({'dataframes': [{
        'period': {'begin': '2015-01-04T%02d:00:00Z' % hour,
                   'end': '2015-01-04T%02d:00:00Z' % (hour + 1)},
        'usage': {'instance': [{'vol': {'unit': 'u', 'qty': 1},
                                'rating': {'price': 0.5},
                                'groupby': {'project_id': 'p',
                                            'id': 'i%d' % i},
                                'metadata': {}} for i in range(10)]}}]})


@pytest.fixture(scope='module')
def own_server():
    """A server of this module's own: the tests kill it."""
    if not clickhouse.os.path.exists(clickhouse.BINARY):
        pytest.skip('clickhouse-server is not installed')
    server = clickhouse.Server()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def client(own_server, tmp_path):
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('backend', 'clickhouse', 'storage')
    conf.set_override('url', own_server.url('rk_down'), 'storage_clickhouse')
    conf.set_override('connect_timeout', 1, 'storage_clickhouse')
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    yield wz_test.Client(rk_app.build_app(conf, storage))
    storage.close()


def post(client, hour):
    return client.post('/v2/dataframes', data=body(hour),
                       content_type='application/json')


def check_outage_and_recovery(client, kill, start):
    """A push, the server killed, a push and a read (quick 503s), the
    server started again: pushes and reads work, every acknowledged point
    is there."""
    assert post(client, 0).status_code == 204
    kill()
    for request in (lambda: post(client, 1), lambda: client.get(SUMMARY)):
        started = time.monotonic()
        response = request()
        assert time.monotonic() - started < 10
        assert response.status_code == 503
        assert response.headers['Retry-After']
        assert response.headers['Content-Type'] == 'application/json'
        assert response.get_json()['message']
    start()
    assert post(client, 2).status_code == 204
    [row] = client.get(SUMMARY).get_json()['results']
    assert (row['qty'], row['rate']) == (20.0, 10.0)


def test_a_dead_server_is_a_quick_503_and_the_service_recovers(
        own_server, client):
    check_outage_and_recovery(client, own_server.kill, own_server.start)


def test_a_delete_whose_mutation_stalls_fails_instead_of_hanging(
        own_server, tmp_path):
    # a mutation failing on every attempt (ClickHouse retries it for
    # ever, is_done stays 0) stalls every delete of the table after it
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('backend', 'clickhouse', 'storage')
    conf.set_override('url', own_server.url('rk_stall'), 'storage_clickhouse')
    conf.set_override('query_timeout', 1, 'storage_clickhouse')
    storage = rk_storage.get_storage(conf)
    try:
        storage.init()
        storage.push(dataframe.parse_dataframes(
            json.loads(body(0))['dataframes']))
        storage._execute('ALTER TABLE rk_stall.rated_points DELETE WHERE '
                         'throwIf(qty > 0)')
        with pytest.raises(rk_storage.v2.StorageError,
                           match='made no progress'):
            storage.delete(filters={'project_id': ['p']})
        # nothing deleted, the points still read
        day = datetime.datetime(2015, 1, 4, tzinfo=datetime.timezone.utc)
        [row] = storage.total(day, day + datetime.timedelta(days=1))[
            'results']
        assert row['qty'] == 10
    finally:
        storage.close()
        clickhouse.drop_database(own_server.tcp_port, 'rk_stall')


def test_a_delete_waits_for_the_inserts_running_before_it(own_server,
                                                          tmp_path):
    # a mutation leaves the parts written after it alone: an insert still
    # running when the delete begins (a push cut short, its client gone)
    # would survive it and be counted twice once pushed again
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('backend', 'clickhouse', 'storage')
    conf.set_override('url', own_server.url('rk_inflight'),
                      'storage_clickhouse')
    storage = rk_storage.get_storage(conf)
    slow = clickhouse_driver.Client('127.0.0.1', port=own_server.tcp_port)
    try:
        storage.init()
        insert = threading.Thread(target=slow.execute, args=(
            "INSERT INTO rk_inflight.rated_points_ingest (begin_seconds, "
            "end_seconds, type, unit, qty, price, scope, groupby_keys_text, "
            "groupby_values_text, metadata_keys_text, metadata_values_text, "
            "push_id, row) SELECT 1420329600, 1420333200, 'instance', 'u', "
            "1, 0.5, 'p', 'project_id', 'p', '', '', 1, "
            "toUInt32(sleep(2))",))
        insert.start()
        while not storage._execute(
                "SELECT count() FROM system.processes WHERE query LIKE "
                "'INSERT INTO rk_inflight%'")[0][0]:
            assert insert.is_alive()
            time.sleep(0.01)
        storage.delete(filters={'project_id': ['p']})
        insert.join()
        assert storage._execute(
            'SELECT count() FROM rk_inflight.rated_points')[0][0] == 0
    finally:
        slow.disconnect()
        storage.close()
        clickhouse.drop_database(own_server.tcp_port, 'rk_inflight')
