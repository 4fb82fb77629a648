"""The API process collecting by itself (embedded DuckDB storage and a
collector configured), its /healthcheck, and the client's summary."""
import json
import os
import subprocess
import time
import urllib.request

import pytest

from tests import live
from tests.processor import conftest
from tests.processor import helpers


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope='module')
def collecting_api(prometheus_history, tmp_path_factory):
    url, begin = prometheus_history
    tmp_path = tmp_path_factory.mktemp('api')
    (tmp_path / 'metrics.yml').write_text(conftest.METRICS_YML)
    options = {
        'COLLECT__COLLECTOR': 'prometheus',
        'COLLECT__METRICS_CONF': str(tmp_path / 'metrics.yml'),
        'COLLECT__FIRST_PERIOD': begin.isoformat(),
        'COLLECT__WAIT_PERIODS': '0',
        'FETCHER__BACKEND': 'source',
        'FETCHER_SOURCE__SOURCES': 'p-one,p-two',
        'COLLECTOR_PROMETHEUS__PROMETHEUS_URL': url,
        'ORCHESTRATOR__POLL_INTERVAL': '0.5',
    }
    with live.running_server(**options) as (api, env):
        yield api, env, begin


def _wait_for_states(api, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = _get(api + '/healthcheck',
                            {'Accept': 'application/json'})
        details = json.loads(body)['reasons'][0]['details']
        due = [s['periods_due'] for s in details['scopes']]
        if len(due) == count and not any(due):
            return details
        time.sleep(0.3)
    raise AssertionError('the API process did not collect in %ss' % timeout)


def test_the_api_process_collects_and_reports_per_scope_lag(collecting_api):
    api, _env, begin = collecting_api
    details = _wait_for_states(api, 2)
    assert sorted(s['scope_id'] for s in details['scopes']) == [
        'p-one', 'p-two']
    assert all('broken_metric' in s['error'] for s in details['scopes'])
    status, body = _get(api + '/healthcheck',
                        {'Accept': 'application/json',
                         'X-Project-Id': 'p-one', 'X-Roles': 'member'})
    assert status == 200
    assert json.loads(body) == {'detailed': False,
                                'reasons': [
                                    'OK (processor: 2 scope(s) failing)']}
    status, body = _get(api + '/healthcheck')
    assert status == 200 and body.startswith(b'OK')


def test_the_client_summary_shows_collected_costs(collecting_api):
    api, env, begin = collecting_api
    _wait_for_states(api, 2)
    result = subprocess.run(
        [os.path.join(live.BIN, 'cloudkitty'), '--os-auth-type', 'none',
         '--os-endpoint', api, 'summary', 'get', '-g', 'type',
         '-b', begin.isoformat(),
         '-e', (begin + helpers.hours(48)).isoformat(), '-f', 'json'],
        capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    rows = {row['Type']: row for row in json.loads(result.stdout)}
    # 3 instances x 6 hours x 2 scopes; no rules: price 0
    assert float(rows['instance']['Qty']) == 36
    assert float(rows['volume']['Qty']) == 6 * (1 + 2)
