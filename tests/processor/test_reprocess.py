"""Reprocessing and resets end to end: data stored, a rule changed, a window
reprocessed through the API, and /v2/summary shows the new prices for that
window of that scope only; a reset deletes exactly the periods after its
timestamp; a worker killed between its delete and its push loses nothing.
"""
import concurrent.futures
import datetime
import os
import subprocess
import sys
import textwrap
import time

import orjson
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import storage as rk_storage
from ratekeeper.processor import reprocess
from ratekeeper.processor import schedule
from tests import live
from tests.functional import fixtures

UTC = datetime.timezone.utc
BEGIN = datetime.datetime(2026, 10, 1, tzinfo=UTC)
HOURS = 72
JSON = {'Content-Type': 'application/json'}
A, B = fixtures.PROJECT_A, fixtures.PROJECT_B
HASHMAP = '/v1/rating/module_config/hashmap/'
INSTANCE = 'Instance uptime'


def iso(moment):
    return moment.isoformat()


def hour(n):
    return BEGIN + datetime.timedelta(hours=n)


def call(client, method, path, body=None, status=None):
    response = client.open(path, method=method, headers=JSON,
                           data=None if body is None else orjson.dumps(body))
    if status is not None:
        assert response.status_code == status, response.get_data(
            as_text=True)
    return response


def unrated_frames(begin, hours):
    """known_frames without prices: the enabled modules price them;
    instances have their metric's description."""
    frames = fixtures.known_frames(begin, hours)
    for frame in frames:
        for points in frame['usage'].values():
            for point in points:
                del point['rating']
        for point in frame['usage'].get('instance', ()):
            point['description'] = INSTANCE
    return frames


def descriptions(storage):
    """{(type, description): points} of every stored point."""
    counted = {}
    for chunk in storage.stream(hour(0), hour(HOURS)):
        for point in chunk:
            counted[(point[2], point[8])] = \
                counted.get((point[2], point[8]), 0) + 1
    return counted


def price_instances(client, cost):
    """A flat ``cost`` per instance, valid since 2020."""
    service = call(client, 'POST', HASHMAP + 'services',
                   {'name': 'instance'}, 201).get_json()['service_id']
    return call(client, 'POST', HASHMAP + 'mappings?force=true',
                {'service_id': service, 'cost': cost, 'type': 'flat',
                 'start': '2020-01-01T00:00:00'}, 201).get_json()


def double_small_instances(client, mapping):
    field = call(client, 'POST', HASHMAP + 'fields',
                 {'service_id': mapping['service_id'],
                  'name': 'flavor_name'}, 201).get_json()['field_id']
    call(client, 'POST', HASHMAP + 'mappings?force=true',
         {'field_id': field, 'value': 'm1.small', 'cost': '2',
          'type': 'rate', 'start': '2020-01-01T00:00:00'}, 201)


def hourly_rates(client, project):
    """{hour begin: rate} of the project's instances."""
    response = call(
        client, 'GET', '/v2/summary?groupby=time&limit=1000'
        '&filters=project_id:%s&filters=type:instance&begin=%s&end=%s'
        % (project, '2026-10-01T00:00:00', '2026-10-05T00:00:00'),
        status=200).get_json()
    return {row[0]: row[3] for row in response['results']}


def point_count(storage):
    return sum(len(chunk) for chunk in storage.stream(hour(0),
                                                      hour(HOURS)))


@pytest.fixture
def loaded(service):
    """Three days of both projects priced at a flat 1 per instance, their
    states at the last hour, then the rule changed (m1.small doubled)."""
    client = werkzeug_test.Client(service['app'])
    call(client, 'PUT', '/v2/rating/modules/hashmap', {'enabled': True}, 204)
    mapping = price_instances(client, '1')
    call(client, 'POST', '/v2/dataframes',
         {'dataframes': unrated_frames(BEGIN, HOURS)}, 204)
    for project in (A, B):
        call(client, 'POST', '/v2/scope',
             {'scope_id': project, 'scope_key': 'project_id',
              'fetcher': 'source', 'collector': 'prometheus',
              'last_processed_timestamp': iso(hour(HOURS - 1))}, 200)
    double_small_instances(client, mapping)
    service['conf'].set_override('coordination_url', 'file://%s/locks'
                                 % service['conf'].state_path,
                                 'orchestrator')
    return dict(service, client=client)


def run_worker(service, step_periods=5, passes=1):
    """What one worker completes in ``passes`` passes, one count each."""
    service['conf'].set_override('reprocessing_step_periods', step_periods,
                                 'orchestrator')
    worker = reprocess.Reprocessor(service['conf'], service['storage'])
    try:
        return [worker.run_once() for _ in range(passes)]
    finally:
        worker.close()


def test_a_reprocessed_window_shows_the_new_prices_there_only(loaded):
    client = loaded['client']
    before = {p: hourly_rates(client, p) for p in (A, B)}
    assert set(before[A].values()) == {2.0}  # two instances at 1
    points = point_count(loaded['storage'])
    described = descriptions(loaded['storage'])
    assert described[('instance', INSTANCE)] == 3 * HOURS

    call(client, 'POST', '/v2/task/reprocesses',
         {'scope_ids': [A], 'start_reprocess_time': iso(hour(24)),
          'end_reprocess_time': iso(hour(47)), 'reason': 'flavor price'},
         202)
    assert run_worker(loaded) == [1]
    assert descriptions(loaded['storage']) == described  # kept (B9)

    after = hourly_rates(client, A)
    for n in range(HOURS):
        key = iso(hour(n))
        # m1.small doubled: 2 + 1 inside [24h, 48h), as before elsewhere
        assert after[key] == (3.0 if 24 <= n < 48 else 2.0), key
    assert hourly_rates(client, B) == before[B]
    assert point_count(loaded['storage']) == points
    [task] = call(client, 'GET', '/v2/task/reprocesses/' + A,
                  status=200).get_json()['results']
    assert task['current_reprocess_time'] == task['end_reprocess_time'] \
        == '2026-10-02T23:00:00'


def test_all_scopes_are_reprocessed(loaded):
    client = loaded['client']
    call(client, 'POST', '/v2/task/reprocesses',
         {'scope_ids': 'ALL', 'start_reprocess_time': iso(hour(0)),
          'end_reprocess_time': iso(hour(0)), 'reason': 'one hour'}, 202)
    assert run_worker(loaded, passes=2) == [2, 0]  # nothing left
    assert hourly_rates(client, A)[iso(hour(0))] == 3.0
    assert hourly_rates(client, A)[iso(hour(1))] == 2.0
    # B's one instance is an m1.small too
    assert hourly_rates(client, B)[iso(hour(0))] == 2.0


class FailingFor:
    """A reprocessing source whose re-rating of one scope fails (its
    collector down, a script raising), the others' as usual."""

    def __init__(self, source, scope_id):
        self.source, self.scope_id = source, scope_id

    def rated(self, scope_id, scope_key, begin, end):
        if scope_id == self.scope_id:
            raise RuntimeError('the source of %s is down' % scope_id)
        return self.source.rated(scope_id, scope_key, begin, end)

    def close(self):
        self.source.close()


def test_a_failing_task_leaves_the_others_done(loaded):
    client = loaded['client']
    before_a = hourly_rates(client, A)
    for project in (A, B):
        call(client, 'POST', '/v2/task/reprocesses',
             {'scope_ids': project, 'start_reprocess_time': iso(hour(0)),
              'end_reprocess_time': iso(hour(0)), 'reason': 'one hour'},
             202)
    conf, storage = loaded['conf'], loaded['storage']
    failing = FailingFor(reprocess.default_source(conf, storage), A)
    worker = reprocess.Reprocessor(conf, storage, source=failing)
    try:
        assert worker.run_once() == 1  # B's, though A's came first
    finally:
        worker.close()
    assert hourly_rates(client, B)[iso(hour(0))] == 2.0
    assert hourly_rates(client, A) == before_a  # nothing of A changed
    [left] = schedule.Schedule(conf).unfinished()
    assert left.scope_id == A

    assert run_worker(loaded) == [1]  # its source back: done at last
    assert hourly_rates(client, A)[iso(hour(0))] == 3.0
    assert schedule.Schedule(conf).unfinished() == []


def test_a_reset_deletes_the_periods_after_its_timestamp(loaded):
    client = loaded['client']
    call(client, 'PUT', '/v2/scope',
         {'state': iso(hour(47)), 'scope_id': A}, 202)
    assert run_worker(loaded) == [1]
    rates = hourly_rates(client, A)
    # the period the state names stays rated (CloudKitty deleted it too)
    assert sorted(rates) == [iso(hour(n)) for n in range(48)]
    assert len(hourly_rates(client, B)) == HOURS
    [state] = call(client, 'GET', '/v2/scope?scope_id=' + A,
                   status=200).get_json()['results']
    assert state['last_processed_timestamp'] == iso(hour(47))
    assert schedule.Resets(loaded['conf']).pending() == []


def test_a_reset_moving_a_scope_back_ends_its_reprocessing_there(loaded):
    client = loaded['client']
    call(client, 'POST', '/v2/task/reprocesses',
         {'scope_ids': A, 'start_reprocess_time': iso(hour(0)),
          'end_reprocess_time': iso(hour(71)), 'reason': 'all of it'}, 202)
    call(client, 'PUT', '/v2/scope',
         {'last_processed_timestamp': iso(hour(9)), 'scope_id': A}, 202)
    assert run_worker(loaded) == [2]
    rates = hourly_rates(client, A)
    # nothing after the reset's period came back: the processor collects
    # those again
    assert rates == {iso(hour(n)): 3.0 for n in range(10)}


def test_two_workers_at_once_do_each_task_once(loaded):
    client = loaded['client']
    points = point_count(loaded['storage'])
    for project in (A, B):
        call(client, 'POST', '/v2/task/reprocesses',
             {'scope_ids': project, 'start_reprocess_time': iso(hour(0)),
              'end_reprocess_time': iso(hour(HOURS - 1)),
              'reason': 'twice the workers'}, 202)
    loaded['conf'].set_override('reprocessing_step_periods', 3,
                                'orchestrator')
    workers = [reprocess.Reprocessor(loaded['conf'], loaded['storage'])
               for _ in range(2)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda worker: worker.run_once(), workers))
    for worker in workers:
        worker.close()
    assert sum(done) == 2
    assert point_count(loaded['storage']) == points
    rates = hourly_rates(client, A)
    assert set(rates.values()) == {3.0}, sorted(rates.items())
    rates_b = hourly_rates(client, B)
    assert set(rates_b.values()) == {2.0}, sorted(rates_b.items())
    assert schedule.Schedule(loaded['conf']).unfinished() == []


def test_workers_out_of_reach_of_their_coordinator_never_stop_the_process(
        service):
    """Workers start in their threads: the process (the API) goes on at
    once whatever their coordinator does."""
    conf = service['conf']
    conf.set_override('coordination_url', 'redis://127.0.0.1:%d'
                      % live.free_port(), 'orchestrator')
    started = time.monotonic()
    stop = reprocess.start_in_background(conf, service['storage'])
    try:
        assert stop is not None
        assert time.monotonic() - started < 5
    finally:
        stop.set()


KILLED_WORKER = textwrap.dedent('''
    import os, sys
    from ratekeeper import storage as rk_storage
    from ratekeeper.processor import reprocess
    from tests.functional import fixtures

    conf = fixtures.make_conf(sys.argv[1])
    conf.set_override('coordination_url', 'file://%s/locks' % sys.argv[1],
                      'orchestrator')
    conf.set_override('reprocessing_step_periods', 5, 'orchestrator')
    storage = rk_storage.get_storage(conf)
    pushes = []

    def push_then_die(batch):
        pushes.append(batch)
        if len(pushes) == 2:  # the second step: deleted, not pushed
            os._exit(9)
        return real_push(batch)

    real_push, storage.push = storage.push, push_then_die
    reprocess.Reprocessor(conf, storage).run_once()
''')


def test_a_worker_killed_between_delete_and_push_loses_nothing(loaded):
    client = loaded['client']
    conf = loaded['conf']
    points = point_count(loaded['storage'])
    described = descriptions(loaded['storage'])
    call(client, 'POST', '/v2/task/reprocesses',
         {'scope_ids': [A], 'start_reprocess_time': iso(hour(24)),
          'end_reprocess_time': iso(hour(47)), 'reason': 'crash'}, 202)
    loaded['storage'].close()  # DuckDB: one process owns the file

    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    killed = subprocess.run([sys.executable, '-c', KILLED_WORKER,
                             conf.state_path], cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == 9, killed.stderr
    [task] = schedule.Schedule(conf).unfinished()
    assert task.pending_points is not None
    assert task.current == hour(28)  # the first step of five periods

    storage = rk_storage.get_storage(conf)
    runner = reprocess.Reprocessor(conf, storage)
    try:
        assert runner.run_once() == 1
        assert point_count(storage) == points
        assert descriptions(storage) == described
        rates = dict(enumerate(_rates_from(storage, A)))
    finally:
        runner.close()
        storage.close()
    assert rates == {n: (3.0 if 24 <= n < 48 else 2.0)
                     for n in range(HOURS)}


def _rates_from(storage, project):
    result = storage.total(hour(0), hour(HOURS), groupby=['time'],
                           filters={'project_id': [project]},
                           metric_types=['instance'], limit=1000)
    return [row['rate'] for row in sorted(result['results'],
                                          key=lambda row: row['begin'])]
