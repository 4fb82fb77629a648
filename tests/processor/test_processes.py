"""ratekeeper-processor processes against a real Prometheus: killed with
SIGKILL mid-run and restarted, nothing is counted twice or skipped; three
at once against one store share the scopes, each scope-period stored
exactly once."""
import collections
import datetime
import os
import random
import secrets
import signal
import subprocess
import sys
import time

import pytest

from ratekeeper import db
from ratekeeper import storage as rk_storage
from ratekeeper.db import migration
from ratekeeper.processor import state as scope_state
from ratekeeper.storage import testing
from tests import databases
from tests.processor import conftest

PERIOD = 600
METRICS_YML = '''
metrics:
  instance_up:
    unit: instance
    alt_name: instance
    groupby: [id]
    mutate: NUMBOOL
  volume_bytes:
    unit: GiB
    alt_name: volume
    factor: 1/1073741824
    groupby: [id]
    extra_args: {aggregation_method: avg}
'''
ALL_SCOPES = conftest.SCOPES + conftest.MORE_SCOPES
BIN = os.path.dirname(sys.executable)
RECOVERED = 'were being stored when a processor stopped'


def _write_config(tmp_path, url, begin, **sections):
    (tmp_path / 'metrics.yml').write_text(METRICS_YML)
    options = {
        'DEFAULT': {'state_path': str(tmp_path / 'state')},
        'collect': {'collector': 'prometheus', 'period': PERIOD,
                    'wait_periods': 0, 'first_period': begin.isoformat(),
                    'metrics_conf': str(tmp_path / 'metrics.yml')},
        'fetcher': {'backend': 'source'},
        'fetcher_source': {'sources': ','.join(ALL_SCOPES)},
        'collector_prometheus': {'prometheus_url': url},
        'orchestrator': {'coordination_url': 'file://%s/locks' % tmp_path,
                         'poll_interval': 0.2, 'max_workers': 2},
    }
    for section, values in sections.items():
        options.setdefault(section, {}).update(values)
    path = tmp_path / 'ratekeeper.conf'
    sections_text = []
    for section, values in options.items():
        lines = ''.join('%s = %s\n' % item for item in values.items())
        sections_text.append('[%s]\n%s\n' % (section, lines))
    path.write_text(''.join(sections_text))
    return str(path)


def _conf(config_path):
    conf = testing.make_conf('/nonexistent')
    conf.clear_override('state_path')
    conf(['--config-file', config_path], project='ratekeeper')
    return conf


def _start(config_path, log):
    return subprocess.Popen(
        [os.path.join(BIN, 'ratekeeper-processor'), '--config-file',
         config_path], stdout=log, stderr=subprocess.STDOUT)


def _progress(states, last):
    """Scopes done (state at ``last``), periods stored so far."""
    listed = states.list(limit=None)
    done = sum(1 for s in listed if s.last_processed_timestamp >= last)
    return done, listed


def _expected_points(begin):
    """{(scope, type, period begin): points} of the history collected
    with 10-minute periods."""
    expected = {}
    for scopes, vms in ((conftest.SCOPES, 3), (conftest.MORE_SCOPES, 1)):
        for scope in scopes:
            for n in range(conftest.HOURS * 3600 // PERIOD):
                moment = begin + datetime.timedelta(seconds=n * PERIOD)
                expected[(scope, 'instance', moment)] = vms
                expected[(scope, 'volume', moment)] = 1
    return expected


def _stored_points(storage, begin):
    counted = collections.Counter()
    volume = collections.defaultdict(float)
    for batch in storage.stream(begin, begin + datetime.timedelta(days=1)):
        for (p_begin, _end, kind, _unit, qty, _price, groupby,
             _metadata, _description) in batch:
            counted[(groupby['project_id'], kind, p_begin)] += 1
            if kind == 'volume':
                volume[groupby['project_id']] += qty
    return counted, volume


def _check_exactly_once(storage, begin):
    counted, volume = _stored_points(storage, begin)
    assert dict(counted) == _expected_points(begin)
    for scopes in (conftest.SCOPES, conftest.MORE_SCOPES):
        for k, scope in enumerate(scopes):
            assert volume[scope] == pytest.approx(
                (k + 1) * conftest.HOURS * 3600 / PERIOD, abs=1e-9)


def _check_store(conf, begin):
    storage = rk_storage.get_storage(conf)
    try:
        _check_exactly_once(storage, begin)
    finally:
        storage.close()
        db.dispose(conf)


def _wait_until_done(states, last, processes, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, 'a processor exited'
        if _progress(states, last)[0] == len(ALL_SCOPES):
            return
        time.sleep(0.2)
    raise AssertionError('the processors did not catch up in %ss' % timeout)


def _stop(processes):
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            assert process.wait(timeout=60) == 0
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def kill_9_rounds(config, begin, log_path):
    """Start a processor on ``config`` and kill it with SIGKILL at a
    random moment once it has stored something, again and again (twice at
    least, until one kill fell between a push and its state commit), then
    let one finish; check every scope-period stored exactly once."""
    conf = _conf(config)
    migration.upgrade(conf)
    states = scope_state.ScopeStates(conf)
    last = begin + datetime.timedelta(seconds=conftest.HOURS * 3600 - PERIOD)
    kills_mid_run = 0
    log = open(log_path, 'ab')
    for _round in range(10):
        process = _start(config, log)
        before = sum(s.last_processed_timestamp.timestamp()
                     for s in _progress(states, last)[1])
        deadline = time.monotonic() + 30
        # kill once it has stored something more, at a random moment
        while time.monotonic() < deadline:
            done, listed = _progress(states, last)
            if sum(s.last_processed_timestamp.timestamp()
                   for s in listed) > before:
                break
            time.sleep(0.05)
        time.sleep(random.uniform(0, 0.3))
        done, _listed = _progress(states, last)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if done == len(ALL_SCOPES):
            break
        kills_mid_run += 1
        log.flush()
        if kills_mid_run >= 2 and RECOVERED in log_path.read_text():
            break
    assert kills_mid_run >= 2, 'the processor finished before being killed'
    process = _start(config, log)
    try:
        _wait_until_done(states, last, [process])
    finally:
        _stop([process])
        log.close()
    _check_store(conf, begin)
    # at least one kill fell between a push and its state commit, and the
    # next processor deleted what that push had stored
    assert RECOVERED in log_path.read_text()


def test_kill_9_mid_run_never_counts_twice_nor_skips(prometheus_history,
                                                     tmp_path):
    url, begin = prometheus_history
    # one period per push: many push-to-commit windows to be killed in
    config = _write_config(tmp_path, url, begin, orchestrator={
        'max_periods_per_push': 1})
    kill_9_rounds(config, begin, tmp_path / 'processor.log')


def test_three_processors_store_every_scope_period_once(prometheus_history,
                                                        tmp_path):
    url, begin = prometheus_history
    with databases.temporary_database('postgresql', 'processors') as dburl:
        config = _write_config(
            tmp_path, url, begin,
            storage={'version': 1, 'backend': 'sqlalchemy'},
            database={'connection': dburl},
            orchestrator={'coordination_url':
                          'redis://127.0.0.1:6379?namespace=rk-test-%s'
                          % secrets.token_hex(4),
                          # 12 pushes a scope, not 2: one processor could
                          # store every scope before the others started
                          'max_periods_per_push': 3})
        conf = _conf(config)
        migration.upgrade(conf)
        states = scope_state.ScopeStates(conf)
        last = begin + datetime.timedelta(
            seconds=conftest.HOURS * 3600 - PERIOD)
        with open(tmp_path / 'processors.log', 'ab') as log:
            processes = [_start(config, log) for _ in range(3)]
            try:
                _wait_until_done(states, last, processes)
            finally:
                _stop(processes)
        _check_store(conf, begin)
        logs = (tmp_path / 'processors.log').read_text()
        workers = {line.split()[2] for line in logs.splitlines()
                   if 'period(s) stored' in line
                   and ' 0 period(s)' not in line}
        assert len(workers) >= 2, 'one processor did all the work'
