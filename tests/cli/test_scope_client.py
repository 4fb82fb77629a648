"""The official client's scope and reprocessing commands against a live
server, whose own reprocessing worker acts on what they ask."""
import ast
import json
import time
import urllib.request

import pytest

from tests import client_process
from tests import live
from tests.cli.test_v2_client import cloudkitty
from tests.cli.test_v2_client import header
from tests.cli.test_v2_client import rows
from tests.functional import fixtures

A, B = fixtures.PROJECT_A, fixtures.PROJECT_B
DAY_BEGIN = '2015-01-04T00:00:00+00:00'
LAST_HOUR = '2015-01-04T23:00:00+00:00'


def run_client(url, *args):
    return client_process.run(
        ['--os-auth-type', 'none', '--os-endpoint', url, *args])


def post(url, path, document):
    request = urllib.request.Request(
        url + path, data=json.dumps(document).encode(), method='POST',
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b'null')


def get(url, path):
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.loads(response.read())


def eventually(check, timeout=15):
    """Poll ``check`` until it returns a true value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture(scope='module')
def server():
    """A day of known data for both projects, and their scope states at
    its last hour."""
    with live.running_server() as (url, _env):
        post(url, '/v2/dataframes', {'dataframes': fixtures.known_frames(
            fixtures.PastDataFixture.BEGIN, 24)})
        for project in (A, B):
            post(url, '/v2/scope', {'scope_id': project,
                                    'scope_key': 'project_id',
                                    'fetcher': 'source',
                                    'collector': 'prometheus',
                                    'last_processed_timestamp': LAST_HOUR})
        yield url


def hours_of(url, project):
    result = get(url, '/v2/summary?groupby=time&limit=100&filters='
                 'project_id:%s&begin=2015-01-04T00:00:00Z'
                 '&end=2015-01-05T00:00:00Z' % project)
    return {row[0]: row[3] for row in result['results']}


def state_of(url, project):
    [row] = rows(url, 'scope', 'state', 'get', '--scope-id', project)
    return row


def test_scope_state_get_prints_every_scope(server):
    out = cloudkitty(server, 'scope', 'state', 'get')
    assert header(out) == ['Scope ID', 'Scope Key', 'Collector', 'Fetcher',
                           'State']
    found = {row['Scope ID']: row
             for row in rows(server, 'scope', 'state', 'get')}
    assert set(found) == {A, B}
    assert found[A] == {'Scope ID': A, 'Scope Key': 'project_id',
                        'Collector': 'prometheus', 'Fetcher': 'source',
                        'State': LAST_HOUR}


def test_scope_state_get_filters(server):
    assert [r['Scope ID'] for r in rows(
        server, 'scope', 'state', 'get', '--scope-id', B)] == [B]
    cloudkitty(server, 'scope', 'state', 'get', '--collector', 'gnocchi',
               expect_exit=1)  # the client's message for a 404


def test_scope_state_reset(server):
    out = cloudkitty(server, 'scope', 'state', 'reset',
                     '2015-01-04T11:00:00', '--scope-id', A)
    assert out == ''
    assert eventually(lambda: state_of(server, A)['State']
                      == '2015-01-04T11:00:00+00:00')
    hours = hours_of(server, A)
    # the period of the new state stays, the later ones are gone
    assert len(hours) == 12 and max(hours) == '2015-01-04T11:00:00+00:00'
    assert len(hours_of(server, B)) == 24
    assert state_of(server, B)['State'] == LAST_HOUR


def test_scope_patch(server):
    """The client returns the updated scope from its command, which cliff
    takes for the exit status: it prints the object and exits 1, against
    CloudKitty 25 as here. The change is made."""
    result = run_client(server, 'scope', 'patch', '--scope-id', B,
                        '--active', 'false')
    assert result.returncode == 1
    assert ast.literal_eval(result.stderr.strip())['active'] is False
    scope = get(server, '/v2/scope?scope_id=' + B)['results'][0]
    assert scope['active'] is False
    cloudkitty(server, 'scope', 'patch', '--scope-id', B, '--active',
               'true', expect_exit=1)
    assert get(server, '/v2/scope?scope_id=' + B)['results'][0]['active']


def test_tasks_reprocessing_create_and_get(server):
    out = cloudkitty(server, 'tasks', 'reprocessing', 'create',
                     '--scope-id', B, '--start-reprocess-time',
                     '2015-01-04T02:00:00+00:00', '--end-reprocess-time',
                     '2015-01-04T05:00:00+00:00', '--reason', 'noop now')
    assert out.strip() == ''

    def finished():
        found = rows(server, 'tasks', 'reprocessing', 'get')
        return found if found and all(
            r['Current reprocessing time'] == r['End reprocessing time']
            for r in found) else None

    assert eventually(finished) == [{
        'Scope ID': B, 'Reason': 'noop now',
        'Start reprocessing time': '2015-01-04T02:00:00',
        'End reprocessing time': '2015-01-04T05:00:00',
        'Current reprocessing time': '2015-01-04T05:00:00'}]
    table = cloudkitty(server, 'tasks', 'reprocessing', 'get', '--scope-id',
                       B, '--order', 'asc')
    assert 'noop now' in table
    # only noop is enabled: the re-rated hours cost nothing now
    hours = hours_of(server, B)
    assert [hours['2015-01-04T%02d:00:00+00:00' % h] for h in range(8)] \
        == [0.625, 0.625, 0.0, 0.0, 0.0, 0.0, 0.625, 0.625]


def test_tasks_reprocessing_create_refused(server):
    result = run_client(server, 'tasks', 'reprocessing', 'create',
                        '--scope-id', A, '--start-reprocess-time',
                        '2015-01-04T02:30:00', '--end-reprocess-time',
                        '2015-01-04T05:00:00', '--reason', 'unaligned')
    assert result.returncode == 1
    assert 'does not comply with the configured collector period' \
        in result.stderr
    assert get(server, '/v2/task/reprocesses?scope_ids=' + A) == {
        'results': []}
