"""Operator tools: ratekeeper-status upgrade check, ratekeeper-dbsync stamp,
proxy headers (X-Forwarded-*) and the request log, as real processes."""
import contextlib
import json
import os
import sqlite3
import subprocess
import urllib.request

import pytest

from tests import live

STATUS = os.path.join(live.BIN, 'ratekeeper-status')
DBSYNC = os.path.join(live.BIN, 'ratekeeper-dbsync')


def run(command, state, *args, env_options=None):
    env = live.server_env(state, live.free_port(), **(env_options or {}))
    return subprocess.run([command] + list(args), env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def state(tmp_path):
    state = str(tmp_path)
    assert run(DBSYNC, state, 'upgrade').returncode == 0
    return state


def test_upgrade_check_succeeds_on_a_migrated_deployment(state):
    result = run(STATUS, state, 'upgrade', 'check', '--json')
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {check['check']: check
              for check in json.loads(result.stdout)['checks']}
    assert checks['Storage']['result'] == 0
    details = checks['Database migrations']['details']
    assert details.startswith('migrations applied: ')
    applied = dict(part.split() for part in
                   details[len('migrations applied: '):].split(', '))
    assert applied == revisions(state)


def test_upgrade_check_fails_before_migrations(tmp_path):
    result = run(STATUS, str(tmp_path), 'upgrade', 'check')
    assert result.returncode == 2, result.stdout
    assert 'migrations not applied' in result.stdout


def test_upgrade_check_warns_of_deprecated_and_unknown_names(state, tmp_path):
    policy = tmp_path / 'policy.yaml'
    policy.write_text('"summary:get_summary": "role:admin"\n'
                      '"ratekeeper:nosuch:get": ""\n')
    config = tmp_path / 'ratekeeper.conf'
    config.write_text('[DEFAULT]\nauth_strategy = noauth\nbogus = 1\n'
                      '[api]\nthreads = 4\nthreadz = 4\n'
                      '[oslo_policy]\npolicy_file = %s\n' % policy)
    result = run(STATUS, state, '--config-file', str(config), 'upgrade',
                 'check', '--json')
    assert result.returncode == 1, result.stdout + result.stderr
    details = {check['check']: check['details']
               for check in json.loads(result.stdout)['checks']}
    rules = details['Policy file rules']
    assert "rule 'summary:get_summary' is deprecated, name it " \
        "'ratekeeper:summary:get'" in rules
    assert "unknown rule 'ratekeeper:nosuch:get'" in rules
    options = details['Configuration options']
    assert 'unknown option [DEFAULT] bogus' in options
    assert 'unknown option [api] threadz' in options
    assert 'threads' not in options.replace('threadz', '')


def revisions(state):
    return dict(line.split(': ') for line in run(
        DBSYNC, state, 'current').stdout.splitlines())


def test_stamp_adopts_a_database_at_a_known_revision(state):
    with contextlib.closing(sqlite3.connect(
            os.path.join(state, 'ratekeeper.sqlite'))) as connection:
        connection.execute('DELETE FROM rk_alembic_hashmap')
        connection.commit()
    assert revisions(state)['hashmap'] == 'none'
    # without a version, upgrade would create tables that already exist
    assert run(DBSYNC, state, 'upgrade').returncode != 0

    assert run(DBSYNC, state, 'stamp', 'hashmap_0002').returncode == 0
    assert revisions(state)['hashmap'] == 'hashmap_0002'
    assert run(DBSYNC, state, 'upgrade').returncode == 0


def test_stamp_needs_a_tree_for_a_revision_several_trees_have(state):
    core_head = revisions(state)['core']
    storage_head = revisions(state)['storage_v1']
    result = run(DBSYNC, state, 'stamp', '0001')
    assert result.returncode == 2
    assert "revision '0001' is in several trees" in result.stderr
    assert run(DBSYNC, state, 'stamp', '0001', '--tree',
               'storage_v1').returncode == 0
    assert revisions(state)['storage_v1'] == '0001'
    assert revisions(state)['core'] == core_head  # stamped in one tree only
    assert run(DBSYNC, state, 'upgrade').returncode != 0 or \
        revisions(state)['storage_v1'] == storage_head


def versions_links(url, headers):
    request = urllib.request.Request(url + '/', headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return [link['href'] for version in json.load(answer)['versions']
                for link in version['links']]


FORWARDED = {'X-Forwarded-Proto': 'https',
             'X-Forwarded-Host': 'rating.example.org'}


def test_links_follow_proxy_headers_when_enabled(tmp_path):
    with live.running_server(
            state_path=str(tmp_path),
            OSLO_MIDDLEWARE__ENABLE_PROXY_HEADERS_PARSING='true') as (url, _):
        assert versions_links(url, FORWARDED) == [
            'https://rating.example.org/v1', 'https://rating.example.org/v2']


def test_proxy_headers_are_ignored_by_default(tmp_path):
    with live.running_server(state_path=str(tmp_path)) as (url, _env):
        assert versions_links(url, FORWARDED) == [url + '/v1', url + '/v2']
        request = urllib.request.Request(
            url + '/v1/info/metrics', headers={'X-Openstack-Request-Id':
                                               'req-test-log-line'})
        with urllib.request.urlopen(request, timeout=30) as answer:
            request_id = answer.headers['X-Openstack-Request-Id']
    with open(os.path.join(str(tmp_path), 'api.log')) as stream:
        log = stream.read()
    assert '127.0.0.1 "GET /v1/info/metrics HTTP/1.1" status: 200 len: ' \
        in log
    assert 'request_id: %s' % request_id in log
