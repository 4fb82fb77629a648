"""The vectorised hashmap engine against worked examples, the reference
rule set's known totals, and the Decimal reference pricer."""
import datetime
import decimal
import math
import os
import sys

import pytest

from ratekeeper import dataframe
from ratekeeper.rating.hashmap import engine
from ratekeeper.rating.hashmap import reference
from tests.rating import rulesets

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'bench'))
import usagegen  # noqa: E402

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 11, 1, tzinfo=UTC)
D = decimal.Decimal


def batch_of(points, begin=START):
    """points: (type, qty, groupby, metadata)"""
    batch = dataframe.PointBatch()
    for metric_type, qty, groupby, metadata in points:
        batch.begin.append(begin)
        batch.end.append(begin + datetime.timedelta(hours=1))
        batch.type.append(metric_type)
        batch.unit.append('u')
        batch.qty.append(qty)
        batch.price.append(0.0)
        batch.groupby.append(groupby)
        batch.metadata.append(metadata)
    return batch


def priced(snapshot, points, begin=START):
    batch = batch_of(points, begin)
    engine.Engine(snapshot).price(batch)
    return batch.price


@pytest.mark.parametrize('point, expected', [
    (('instance', 1, {}, {'flavor_name': 'm1.large', 'vcpus': '4'}),
     0.076),
    (('instance', 1, {}, {'flavor_name': 'm1.large', 'vcpus': '2'}), 0.08),
    (('volume', 100, {}, {'volume_type': 'ssd'}), 0.075),
    (('volume', 100, {}, {'volume_type': 'lvm'}), 0.05),
    (('image', 4096, {}, {'disk_format': 'raw'}), 0.036864),
    (('image', 512, {}, {}), 0.00512),
    (('network', 10, {}, {}), 0.0),
])
def test_worked_examples(point, expected):
    assert priced(rulesets.reference_rules().snapshot(), [point])[0] == \
        pytest.approx(expected, rel=1e-12)


def reference_example_rules():
    """The groups example of the reference (§5.3)."""
    b = rulesets.Builder()
    g1, g2 = b.group('g1'), b.group('g2')
    svc = b.service('instance')
    flavor = b.field(svc, 'flavor')
    other = b.field(svc, 'other')
    b.mapping('1.5', service_id=svc, group_id=g1)
    b.mapping('2', 'rate', field_id=flavor, value='m1.small', group_id=g1)
    b.threshold('5', '10', service_id=svc, group_id=g1)
    b.threshold('8', '0.5', 'rate', service_id=svc, group_id=g1)
    b.mapping('0.25', service_id=svc, group_id=g2)
    b.mapping('3', 'rate', field_id=other, value='x', group_id=g2)
    b.mapping('0.1', field_id=flavor, value='m1.small')
    b.mapping('0.05', service_id=svc)
    return b.snapshot()


@pytest.mark.parametrize('qty, expected', [(8, 18.8), (5, 29.25)])
def test_groups_thresholds_and_flats_combine(qty, expected):
    point = ('instance', qty, {}, {'flavor': 'm1.small', 'other': 'x'})
    assert priced(reference_example_rules(), [point])[0] == \
        pytest.approx(expected, rel=1e-12)


def test_tenant_rules_override_global_ones():
    b = rulesets.Builder()
    svc = b.service('instance')
    b.mapping('1', service_id=svc)
    b.mapping('3', service_id=svc, tenant_id='p1')
    points = [('instance', 2, {'project_id': 'p1'}, {}),
              ('instance', 2, {'project_id': 'p2'}, {})]
    assert priced(b.snapshot(), points) == [6.0, 2.0]


def test_validity_dates_pick_the_rules_of_each_period():
    b = rulesets.Builder()
    svc = b.service('instance')
    b.mapping('1', service_id=svc, start=datetime.datetime(2026, 1, 1),
              end=datetime.datetime(2026, 6, 1))
    b.mapping('2', service_id=svc, start=datetime.datetime(2026, 6, 1))
    point = [('instance', 1, {}, {})]
    snapshot = b.snapshot()
    assert priced(snapshot, point, datetime.datetime(
        2025, 12, 31, tzinfo=UTC)) == [0.0]
    assert priced(snapshot, point, datetime.datetime(
        2026, 3, 1, tzinfo=UTC)) == [1.0]
    assert priced(snapshot, point, datetime.datetime(
        2026, 6, 1, tzinfo=UTC)) == [2.0]


def test_non_numeric_value_of_a_threshold_field_is_refused():
    with pytest.raises(engine.UnpriceablePoint):
        priced(rulesets.reference_rules().snapshot(),
               [('instance', 1, {}, {'vcpus': 'many'})])


def usage(points):
    gen = usagegen.Generator(unrated=True)
    return dataframe.parse_dataframes(
        [frame for frame, _ in gen.frames(points, START)])


@pytest.mark.parametrize('points, total', [(200, 8.335144),
                                           (10000, 416.7572),
                                           (100000, 4167.572)])
def test_reference_rule_set_totals(points, total):
    batch = usage(points)
    engine.Engine(rulesets.reference_rules().snapshot()).price(batch)
    assert math.fsum(batch.price) == pytest.approx(total, abs=1e-9)


def test_engine_equals_reference_on_shared_usage():
    snapshot = rulesets.reference_rules().snapshot()
    batch = usage(2000)
    expected = reference.price_batch(snapshot, batch)
    engine.Engine(snapshot).price(batch)
    for got, want in zip(batch.price, expected):
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-15)
    assert sum(expected) == D('83.35144')


def test_many_point_selections_each_get_their_own_attributes():
    """Each type's selection of a batch reads its own points' attributes,
    however many selections a batch makes (their arrays are freed as
    pricing goes, and a new one may take the memory of an old one: a
    stale selection priced points with another type's attributes, or
    failed when the lengths differed)."""
    b = rulesets.Builder()
    for number in range(12):
        service = b.service('type%d' % number)
        field = b.field(service, 'size')
        b.mapping('1', 'flat', field_id=field, value='small')
        b.mapping('5', 'flat', field_id=field, value='large')
    snapshot = b.snapshot()
    points = []
    for number in range(12):
        for position in range(1 + number % 4):
            size = 'large' if (position + number) % 3 == 0 else 'small'
            points.append(('type%d' % number, 1, {'project_id': 'p'},
                           {'size': size}))
    batch = batch_of(points)
    expected = [float(price) for price in
                reference.price_batch(snapshot, batch)]
    for _ in range(20):
        batch.price = [0.0] * len(batch)
        engine.Engine(snapshot).price(batch)
        assert batch.price == expected


def _attribute_rules():
    """Service 'instance' flat 1; field 'size' thresholds 0.3 and 4.1
    (flat 10 and 100, one group); field 'gpu' threshold 1 (flat 5);
    field 'flavor' flat mappings 'm1.small' 2 and 'None' 3."""
    b = rulesets.Builder()
    service = b.service('instance')
    b.mapping('1', service_id=service)
    size, gpu, flavor = (b.field(service, name)
                         for name in ('size', 'gpu', 'flavor'))
    group = b.group('size')
    b.threshold('0.3', '10', field_id=size, group_id=group)
    b.threshold('4.1', '100', field_id=size, group_id=group)
    b.threshold('1', '5', field_id=gpu)
    flavors = b.group('flavor')
    b.mapping('2', field_id=flavor, value='m1.small', group_id=flavors)
    b.mapping('3', field_id=flavor, value='None', group_id=flavors)
    return b.snapshot()


@pytest.mark.parametrize('groupby, metadata, expected', [
    # thresholds compare Decimal(value): text as written, JSON numbers
    # exactly (the double nearest 4.1 lies below 4.1), true as 1
    ({}, {'size': '4.1'}, 101),
    ({}, {'size': 4.1}, 11),
    ({}, {'size': 0.3}, 1),
    ({}, {'size': '0.29999999999999999'}, 1),
    ({}, {'size': ' 5'}, 101),
    ({}, {'size': '1_000'}, 101),
    ({}, {'size': '\u0665'}, 101),   # ARABIC-INDIC DIGIT FIVE
    ({}, {'gpu': True}, 6),
    ({}, {'gpu': False}, 1),
    # a null value is there: compared as 'None' with mapping values, and
    # a groupby null hides the metadata's value
    ({}, {'flavor': None}, 4),
    ({'flavor': None}, {'flavor': 'm1.small'}, 4),
    ({'flavor': 'm1.small'}, {'flavor': None}, 3),
])
def test_attribute_values_are_read_as_cloudkitty_reads_them(
        groupby, metadata, expected):
    """Prices CloudKitty 25's hashmap gives these points (observed)."""
    snapshot = _attribute_rules()
    point = ('instance', 1, groupby, metadata)
    assert priced(snapshot, [point]) == [expected]
    assert reference.price_batch(snapshot, batch_of([point])) == [expected]


@pytest.mark.parametrize('value', [None, 'NaN', 'many', '', {'a': 1}])
def test_values_thresholds_cannot_compare_are_refused(value):
    snapshot = _attribute_rules()
    point = ('instance', 1, {}, {'size': value})
    with pytest.raises(engine.UnpriceablePoint):
        priced(snapshot, [point])
    with pytest.raises(decimal.InvalidOperation):
        reference.price_batch(snapshot, batch_of([point]))


def test_equal_values_of_other_types_are_priced_apart():
    """1, 1.0 and true are equal Python keys but three texts for a
    mapping: the profiles the engine keeps never mix them, nor with
    lists and objects (unhashable), in one batch or across batches."""
    b = rulesets.Builder()
    service = b.service('instance')
    field = b.field(service, 'size')
    for value, cost in (('1', '1'), ('1.0', '2'), ('True', '4'),
                        ('[1]', '8'), ("{'a': 1}", '16')):
        b.mapping(cost, field_id=field, value=value)
    snapshot = b.snapshot()
    values = [1, 1.0, True, '1', [1], {'a': 1}, '1.0', 'True']
    batch = batch_of([('instance', 1, {}, {'size': v}) for v in values])
    priced_engine = engine.Engine(snapshot)
    for _ in range(2):
        batch.price = [0.0] * len(batch)
        priced_engine.price(batch)
        assert batch.price == [1.0, 2.0, 4.0, 1.0, 8.0, 16.0, 2.0, 4.0]


def test_profiles_past_the_limit_are_built_again():
    """A field mapped on a value of every resource gives each point its
    own profile: past MAX_PROFILES they are forgotten, and every point is
    still priced as the reference prices it."""
    b = rulesets.Builder()
    service = b.service('instance')
    field, size = b.field(service, 'id'), b.field(service, 'size')
    for number in range(0, 3 * engine.MAX_PROFILES, 7):
        b.mapping('%d.5' % number, field_id=field, value='r%d' % number)
    b.threshold('3', '0.5', 'rate', field_id=size)
    snapshot = b.snapshot()
    points = [('instance', 1 + number % 3, {},
               {'id': 'r%d' % number, 'size': str(number % 5)})
              for number in range(3 * engine.MAX_PROFILES)]
    priced_engine = engine.Engine(snapshot)
    expected = [float(price) for price in
                reference.price_batch(snapshot, batch_of(points))]
    for _ in range(2):
        batch = batch_of(points)
        priced_engine.price(batch)
        assert batch.price == pytest.approx(expected, rel=1e-12)
