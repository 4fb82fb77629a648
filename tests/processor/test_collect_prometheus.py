"""End to end: a real Prometheus with known history, the processor
collecting every metrics.yml feature, the exact totals read back through
/v2/summary."""
import decimal

import pytest

from ratekeeper.processor import state as scope_state
from tests.processor import conftest
from tests.processor import helpers


@pytest.fixture(scope='module')
def collected(prometheus_history, tmp_path_factory):
    """Six hours of the three scopes collected, rated and stored."""
    url, begin = prometheus_history
    tmp_path = tmp_path_factory.mktemp('collected')
    conf = helpers.processor_conf(tmp_path, url, begin)
    with helpers.service(conf) as (storage, client):
        helpers.price_instances(client)
        with helpers.processor(conf, storage,
                               begin + helpers.hours(6.2)) as processor:
            stored = processor.run_pass()
            yield dict(conf=conf, storage=storage, client=client,
                       begin=begin, stored=stored, processor=processor)


def test_every_due_period_of_every_scope_is_stored(collected):
    assert collected['stored'] == conftest.HOURS * len(conftest.SCOPES)
    states = scope_state.ScopeStates(collected['conf']).list()
    assert sorted(s.scope_id for s in states) == sorted(conftest.SCOPES)
    last = collected['begin'] + helpers.hours(conftest.HOURS - 1)
    for state in states:
        assert state.last_processed_timestamp == last
        assert (state.scope_key, state.fetcher, state.collector) == (
            'project_id', 'source', 'prometheus')
        assert state.processing_timestamp is None


def test_exact_totals_of_every_metric_feature(collected):
    begin = collected['begin']
    totals = helpers.summary(collected['client'], begin,
                             begin + helpers.hours(24))
    expected = {}
    for k, scope in enumerate(conftest.SCOPES):
        for metric, (qty, _count) in conftest.expected_per_period(k).items():
            rate = qty * decimal.Decimal('0.5') if metric == 'instance' \
                else decimal.Decimal(0)
            expected[(metric, scope)] = (qty * conftest.HOURS,
                                         rate * conftest.HOURS)
    assert set(totals) == set(expected)
    for key, (qty, rate) in expected.items():
        # exact to the double storage keeps (CloudKitty rounded to 9
        # digits: 1234567890.123456 became 1234567890)
        assert float(totals[key][0]) == pytest.approx(float(qty), rel=1e-14,
                                                      abs=1e-12), key
        assert float(totals[key][1]) == pytest.approx(float(rate),
                                                      abs=1e-12), key


def test_points_carry_groupby_metadata_and_time_attributes(collected):
    begin = collected['begin']
    points = [point for batch in collected['storage'].stream(
        begin, begin + helpers.hours(1), filters={'project_id': ['p-one']},
        metric_types=['instance']) for point in batch]
    assert len(points) == 3
    by_id = {p[6]['id']: p for p in points}
    assert by_id['vm-a'][7] == {'flavor_name': 'm1.small'}
    assert by_id['vm-c'][7] == {'flavor_name': ''}   # missing label: ''
    groupby = by_id['vm-b'][6]
    local = begin.astimezone()
    assert groupby['project_id'] == 'p-one'
    assert groupby['month'] == str(local.month)
    assert groupby['year'] == str(local.year)
    assert groupby['day_of_the_year'] == str(local.timetuple().tm_yday)
    assert groupby['week_of_the_year'] == local.strftime('%U')


def test_a_refused_metric_is_left_out_and_reported(collected):
    assert 'broken_metric' not in {
        key[0] for key in helpers.summary(
            collected['client'], collected['begin'],
            collected['begin'] + helpers.hours(24))}
    errors = collected['processor'].errors
    assert set(errors) == set(conftest.SCOPES)
    assert all('broken_metric' in text for text in errors.values())


def test_a_second_pass_stores_nothing_more(collected):
    assert collected['processor'].run_pass() == 0
