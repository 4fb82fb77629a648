"""A stopping ratekeeper-api writes the points it staged."""
import json
import os
import subprocess
import sys
import urllib.request

import duckdb

from ratekeeper.storage import testing
from tests import live

BIN = os.path.dirname(sys.executable)


def test_a_stopping_server_writes_its_staged_points(tmp_path):
    env = live.server_env(str(tmp_path), live.free_port())
    url = 'http://127.0.0.1:%s' % env['OS_API__PORT']
    subprocess.run([os.path.join(BIN, 'ratekeeper-dbsync'), 'upgrade'],
                   env=env, check=True, capture_output=True)
    with open(tmp_path / 'api.log', 'wb') as log:
        server = subprocess.Popen([os.path.join(BIN, 'ratekeeper-api')],
                                  env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            live.wait_until_up(url + '/', server)
            frames = json.loads(json.dumps(testing.hourly_frames(2),
                                           default=str))
            request = urllib.request.Request(
                url + '/v2/dataframes', method='POST',
                data=json.dumps({'dataframes': frames}).encode(),
                headers={'Content-Type': 'application/json'})
            with urllib.request.urlopen(request) as response:
                assert response.status == 204
            staged = tmp_path / 'ratekeeper.duckdb.staged'
            assert staged.stat().st_size > 0  # logged, not yet in DuckDB
        finally:
            server.terminate()
            assert server.wait(timeout=30) == 0
    assert staged.stat().st_size == 0
    database = duckdb.connect(str(tmp_path / 'ratekeeper.duckdb'))
    assert database.execute(
        'SELECT COUNT(*) FROM rated_points').fetchall() == [(10,)]
    database.close()
