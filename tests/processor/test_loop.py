"""The processor loop on a real Prometheus: which periods are due, faults,
collection switched off and on, inactive scopes, the skip expression, and
the window between the push and the state commit."""
import decimal

import orjson
import pytest

from ratekeeper.fetcher import prometheus as prometheus_fetcher
from ratekeeper.processor import state as scope_state
from tests import live
from tests.processor import conftest
from tests.processor import helpers

SMALL_YML = '''
metrics:
  instance_up:
    unit: instance
    alt_name: instance
    groupby: [id]
    metadata: [flavor_name]
    mutate: NUMBOOL
'''


def _conf(tmp_path, prometheus_history, **groups):
    url, begin = prometheus_history
    groups.setdefault('fetcher_source', {'sources': ['p-one']})
    return helpers.processor_conf(tmp_path, url, begin, SMALL_YML, **groups)


def _last(conf, scope='p-one'):
    return scope_state.ScopeStates(conf).get(scope).last_processed_timestamp


def _instances(client, begin):
    return helpers.summary(client, begin, begin + helpers.hours(24),
                           'type').get(('instance',), (0, 0))[0]


@pytest.mark.parametrize('wait_periods, now_hours, stored', [
    (0, 6.2, 6),     # the 7th period has not ended
    (1, 6.2, 5),     # the 6th ended 12 minutes ago: one more period to wait
    (2, 6.2, 4),
    (0, 0.5, 0),     # a new scope in its first period: nothing before it ends
])
def test_a_period_is_due_once_ended_plus_wait_periods(
        prometheus_history, tmp_path, wait_periods, now_hours, stored):
    conf = _conf(tmp_path, prometheus_history,
                 collect={'wait_periods': wait_periods})
    begin = prometheus_history[1]
    with helpers.service(conf) as (storage, client):
        with helpers.processor(
                conf, storage, begin + helpers.hours(now_hours)) as processor:
            assert processor.run_pass() == stored
        assert _instances(client, begin) == 3 * stored
        assert _last(conf) == begin + helpers.hours(stored - 1)


def test_prometheus_down_keeps_the_state_and_reports(prometheus_history,
                                                     tmp_path):
    down = 'http://127.0.0.1:%d/api/v1' % live.free_port()
    conf = _conf(tmp_path, prometheus_history,
                 collector_prometheus={'prometheus_url': down})
    begin = prometheus_history[1]
    now = begin + helpers.hours(6.2)
    with helpers.service(conf) as (storage, client):
        with helpers.processor(conf, storage, now) as processor:
            assert processor.run_pass() == 0
            assert 'out of reach' in processor.errors['p-one']
        assert _last(conf) == begin - helpers.hours(1)
        conf.set_override('prometheus_url', prometheus_history[0],
                          'collector_prometheus')
        with helpers.processor(conf, storage, now) as processor:
            assert processor.run_pass() == 6
            assert processor.errors == {}
        assert _instances(client, begin) == 18


def test_v1_collector_state_stops_and_starts_collection(prometheus_history,
                                                        tmp_path):
    conf = _conf(tmp_path, prometheus_history)
    begin = prometheus_history[1]
    with helpers.service(conf) as (storage, client):
        def set_enabled(enabled):
            response = client.put('/v1/collector/states/',
                                  headers=helpers.JSON, data=orjson.dumps(
                                      {'name': 'prometheus',
                                       'enabled': enabled}))
            assert response.status_code == 200, response.get_data()

        with helpers.processor(conf, storage,
                               begin + helpers.hours(6.2)) as processor:
            state = client.get('/v1/collector/states/?name=prometheus')
            assert state.get_json() == {'name': 'prometheus', 'enabled': True}
            set_enabled(False)
            assert processor.run_pass() == 0
            set_enabled(True)
            assert processor.run_pass() == 6


def test_an_inactive_scope_is_not_collected(prometheus_history, tmp_path):
    conf = _conf(tmp_path, prometheus_history, fetcher_source={
        'sources': ['p-one', 'p-two']})
    begin = prometheus_history[1]
    with helpers.service(conf) as (storage, client):
        states = scope_state.ScopeStates(conf)
        states.create('p-two', begin - helpers.hours(1), 'project_id',
                      'source', 'prometheus', active=False)
        with helpers.processor(conf, storage,
                               begin + helpers.hours(6.2)) as processor:
            assert processor.run_pass() == 6
        assert _last(conf, 'p-two') == begin - helpers.hours(1)


def test_skip_expression_drops_points_without_eval(prometheus_history,
                                                   tmp_path):
    yml = SMALL_YML + '''    skip_datapoints_expression: >-
      datapoint.get("metadata", {}).get("flavor_name") == "m1.large"
'''
    url, begin = prometheus_history
    conf = helpers.processor_conf(tmp_path, url, begin, yml,
                                  fetcher_source={'sources': ['p-one']})
    with helpers.service(conf) as (storage, client):
        with helpers.processor(conf, storage,
                               begin + helpers.hours(6.2)) as processor:
            assert processor.run_pass() == 6
        assert _instances(client, begin) == 2 * 6


@pytest.mark.parametrize('per_push, stored_before, marked, redone', [
    (1, 6, 1, 5),     # period 0 done, 1 pushed, not recorded
    (2, 12, 2, 4),    # periods 0-1 done, 2-3 pushed, not recorded
])
def test_a_stop_between_push_and_state_commit_is_undone(
        prometheus_history, tmp_path, per_push, stored_before, marked,
        redone):
    conf = _conf(tmp_path, prometheus_history,
                 orchestrator={'max_periods_per_push': per_push})
    begin = prometheus_history[1]
    now = begin + helpers.hours(6.2)
    with helpers.service(conf) as (storage, client):
        with helpers.processor(conf, storage, now) as processor:
            advance = processor.states.set_last_processed
            calls = []

            def dies_on_the_second(state, period_begin):
                calls.append(period_begin)
                if len(calls) == 2:
                    raise KeyboardInterrupt('killed')
                advance(state, period_begin)

            processor.states.set_last_processed = dies_on_the_second
            with pytest.raises(KeyboardInterrupt):
                processor.process_scope('p-one')
        # the second push went through, its state never advanced
        assert _instances(client, begin) == stored_before
        state = scope_state.ScopeStates(conf).get('p-one')
        assert state.processing_timestamp == begin + helpers.hours(marked)
        with helpers.processor(conf, storage, now) as processor:
            assert processor.run_pass() == redone
        assert _instances(client, begin) == 18
        assert scope_state.ScopeStates(conf).get(
            'p-one').processing_timestamp is None


def test_prometheus_fetcher_lists_the_scope_label_values(prometheus_history,
                                                         tmp_path):
    conf = _conf(tmp_path, prometheus_history, fetcher_prometheus={
        'prometheus_url': prometheus_history[0], 'metric': 'instance_up',
        'filters': {'id': 'vm-a'}, 'lookback': 12 * 3600})
    scopes = prometheus_fetcher.PrometheusFetcher(conf).get_scopes()
    assert sorted(scopes) == sorted(conftest.SCOPES + conftest.MORE_SCOPES)
    conf.set_override('filters', {'id': 'vm-x'}, 'fetcher_prometheus')
    assert prometheus_fetcher.PrometheusFetcher(conf).get_scopes() == [
        'someone-else']


def test_quantities_keep_every_digit():
    from ratekeeper.collector import definitions
    definition, = definitions.parse(
        {'metrics': {'m': {'unit': 'u', 'factor': '1/3', 'offset': 1}}},
        'project_id')
    assert definition.quantity('1234567890.123456') == \
        decimal.Decimal('1234567890.123456') / 3 + 1
    assert definition.quantity('NaN') is None
    assert definition.quantity('+Inf') is None


def test_a_stop_between_two_chunks_of_one_push_is_undone(
        prometheus_history, tmp_path):
    """Six due periods collected at once are stored a period at a time
    (max_points_per_push below a period's points) under one mark: a
    processor stopped after the second chunk leaves the mark at the first
    period, and the next run deletes both chunks and stores all six once."""
    conf = _conf(tmp_path, prometheus_history,
                 orchestrator={'max_periods_per_push': 6,
                               'max_points_per_push': 1})
    begin = prometheus_history[1]
    now = begin + helpers.hours(6.2)
    with helpers.service(conf) as (storage, client):
        with helpers.processor(conf, storage, now) as processor:
            push, pushed = processor.storage.push, []

            def dies_on_the_third(batch):
                pushed.append(len(batch))
                if len(pushed) == 3:
                    raise KeyboardInterrupt('killed')
                push(batch)

            processor.storage.push = dies_on_the_third
            with pytest.raises(KeyboardInterrupt):
                processor.process_scope('p-one')
            processor.storage.push = push
        assert _instances(client, begin) == 6
        state = scope_state.ScopeStates(conf).get('p-one')
        assert state.processing_timestamp == begin
        assert state.last_processed_timestamp < begin
        with helpers.processor(conf, storage, now) as processor:
            assert processor.run_pass() == 6
        assert _instances(client, begin) == 18
        assert scope_state.ScopeStates(conf).get(
            'p-one').processing_timestamp is None
