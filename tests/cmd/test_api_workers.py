"""[api] workers: refused on DuckDB, several processes on ClickHouse."""
import os
import subprocess
import sys
import threading

import requests

from tests import clickhouse
from tests import live

BIN = os.path.dirname(sys.executable)


def test_several_workers_on_duckdb_are_refused_with_a_clear_message(
        tmp_path):
    env = live.server_env(str(tmp_path), live.free_port(), API__WORKERS=2)
    subprocess.run([os.path.join(BIN, 'ratekeeper-dbsync'), 'upgrade'],
                   env=env, check=True, capture_output=True)
    result = subprocess.run([os.path.join(BIN, 'ratekeeper-api')], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'workers = 2' in result.stderr
    assert 'one process only' in result.stderr


def frames(writer, push):
    """One push: 50 points of one hour, ids naming writer and push."""
    begin = '2015-01-04T%02d:00:00Z' % (push % 24)
    end = '2015-01-04T%02d:59:59Z' % (push % 24)
    return {'dataframes': [{'period': {'begin': begin, 'end': end},
                            'usage': {'instance': [{
                                'vol': {'unit': 'u', 'qty': 1},
                                'rating': {'price': 0.5},
                                'groupby': {'project_id': 'w%d' % writer,
                                            'id': '%d-%d-%d' % (writer, push,
                                                                i)},
                                'metadata': {}} for i in range(50)]}}]}


def test_four_workers_on_clickhouse_store_every_point_once():
    server = clickhouse.server()
    name = clickhouse.database_name('workers')
    statuses = []
    try:
        with live.running_server(
                STORAGE__BACKEND='clickhouse',
                STORAGE_CLICKHOUSE__URL=server.url(name),
                API__WORKERS=4, API__THREADS=2) as (url, env):
            session = requests.Session

            def write(writer):
                with session() as http:
                    for push in range(15):
                        response = http.post(url + '/v2/dataframes',
                                             json=frames(writer, push))
                        statuses.append(response.status_code)

            def read():
                with session() as http:
                    for _ in range(20):
                        response = http.get(
                            url + '/v2/summary?groupby=project_id&begin='
                            '2015-01-04T00:00:00Z&end=2015-01-05T00:00:00Z')
                        statuses.append(response.status_code)

            threads = [threading.Thread(target=write, args=(w,))
                       for w in range(4)]
            threads += [threading.Thread(target=read) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert all(status < 500 for status in statuses), statuses
            assert statuses.count(204) == 60
            summary = requests.get(
                url + '/v2/summary?groupby=project_id&begin=2015-01-04T00:00'
                ':00Z&end=2015-01-05T00:00:00Z&response_format=object').json()
            assert {r['project_id']: r['qty'] for r in summary['results']} \
                == {'w%d' % w: 750.0 for w in range(4)}
            points = requests.get(
                url + '/v2/dataframes?begin=2015-01-04T00:00:00Z&end='
                '2015-01-05T00:00:00Z&limit=3000').json()
            ids = [p['groupby']['id'] for f in points['dataframes']
                   for p in f['usage']['instance']]
            assert len(ids) == len(set(ids)) == 3000
            assert_keyed_retries_store_once(url)
    finally:
        clickhouse.drop_database(server.tcp_port, name)


def assert_keyed_retries_store_once(url):
    """The same keyed push sent by 4 clients at once (to any workers):
    stored once; the others get 204 (done) or 409 (still being stored)."""
    statuses = []

    def push():
        statuses.append(requests.post(
            url + '/v2/dataframes', json=frames(9, 5),
            headers={'Idempotency-Key': 'retry-me'}).status_code)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 204 in statuses and set(statuses) <= {204, 409}, statuses
    push()
    assert statuses[-1] == 204
    summary = requests.get(
        url + '/v2/summary?filters=project_id:w9&begin=2015-01-04T00:00:00Z'
        '&end=2015-01-05T00:00:00Z').json()
    assert summary['results'][0][2] == 50.0
