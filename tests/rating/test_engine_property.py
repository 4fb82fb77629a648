"""Property: the vectorised engine prices every point as the per-point
Decimal reference does, over random rule sets and points."""
import datetime
import decimal

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from ratekeeper.rating.hashmap import engine
from ratekeeper.rating.hashmap import reference
from tests.rating import rulesets
from tests.rating.test_engine import batch_of

UTC = datetime.timezone.utc
MOMENTS = [datetime.datetime(2026, 1, 1), datetime.datetime(2026, 3, 1),
           datetime.datetime(2026, 6, 1)]
BEGINS = [datetime.datetime(2026, 2, 1, tzinfo=UTC),
          datetime.datetime(2026, 3, 1, tzinfo=UTC),
          datetime.datetime(2026, 7, 1, tzinfo=UTC)]
# mapping values, and the attribute values of points: text, JSON numbers
# and booleans, null, and text Decimal reads but float64 does not
VALUES = ['x', 'y', '1', '2', '3.5', 'None', 'True', '2.5']
ATTRIBUTE_VALUES = VALUES + [None, True, False, 2, 2.5, 0.1, ' 2', '1_0',
                             'NaN', '2.50000000001', '2.49999999999999999']
costs = st.decimals(min_value=-1, max_value=20, places=3,
                    allow_nan=False, allow_infinity=False).map(str)
levels = st.sampled_from(['0', '1', '2', '2.5', '5', '10'])
kinds = st.sampled_from(['flat', 'rate'])
tenants = st.sampled_from([None, None, 't1'])


@st.composite
def rule_sets(draw):
    b = rulesets.Builder()
    services = [b.service(name) for name in
                draw(st.sets(st.sampled_from(['a', 'b']), min_size=1))]
    fields = [b.field(service, name) for service in services
              for name in draw(st.sets(st.sampled_from(['f1', 'f2'])))]
    groups = [None] + [b.group(name) for name in
                       draw(st.sets(st.sampled_from(['g1', 'g2'])))]
    for _ in range(draw(st.integers(0, 8))):
        on_field = fields and draw(st.booleans())
        start = draw(st.sampled_from(MOMENTS))
        end = draw(st.sampled_from([None] + [m for m in MOMENTS
                                             if m > start]))
        b.mapping(draw(costs), draw(kinds),
                  service_id=None if on_field else draw(
                      st.sampled_from(services)),
                  field_id=draw(st.sampled_from(fields)) if on_field
                  else None,
                  value=draw(st.sampled_from(VALUES)) if on_field else None,
                  group_id=draw(st.sampled_from(groups)),
                  tenant_id=draw(tenants), start=start, end=end)
    for _ in range(draw(st.integers(0, 4))):
        on_field = fields and draw(st.booleans())
        b.threshold(draw(levels), draw(costs), draw(kinds),
                    service_id=None if on_field else draw(
                        st.sampled_from(services)),
                    field_id=draw(st.sampled_from(fields)) if on_field
                    else None,
                    group_id=draw(st.sampled_from(groups)),
                    tenant_id=draw(tenants))
    return b.snapshot()


attribute_values = st.sampled_from(ATTRIBUTE_VALUES)
points = st.tuples(
    st.sampled_from(['a', 'b', 'c']),
    st.sampled_from([0, 1, 2, 2.5, 5, 10, 0.1]),
    # groupby wins over metadata, a null value included
    st.fixed_dictionaries({'project_id': st.sampled_from(['t1', 't2'])},
                          optional={'f1': attribute_values}),
    st.dictionaries(st.sampled_from(['f1', 'f2', 'other']),
                    attribute_values))


@settings(max_examples=300, deadline=None)
@given(rule_sets(), st.lists(points, min_size=1, max_size=30),
       st.sampled_from(BEGINS))
def test_engine_equals_reference(snapshot, usage, begin):
    batch = batch_of(usage, begin)
    try:
        expected = reference.price_batch(snapshot, batch)
    except decimal.InvalidOperation:
        with pytest.raises(engine.UnpriceablePoint):
            engine.Engine(snapshot).price(batch)
        return
    engine.Engine(snapshot).price(batch)
    for got, want in zip(batch.price, expected):
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(rule_sets(),
       st.lists(st.tuples(points, st.sampled_from(BEGINS)), min_size=1,
                max_size=30),
       st.booleans())
def test_engine_equals_reference_across_periods(snapshot, usage,
                                                tenant_scoped):
    """A batch spanning several periods (rules valid in one and not in
    another), priced with or without the tenants' own rules (a quote uses
    only the global ones)."""
    batch = batch_of([point for point, _ in usage])
    batch.begin = [begin for _, begin in usage]
    batch.end = [begin + datetime.timedelta(hours=1) for _, begin in usage]
    # without the tenants' rules, the reference finds no point's tenant
    scope_key = 'project_id' if tenant_scoped else 'no such key'
    try:
        expected = reference.price_batch(snapshot, batch, scope_key)
    except decimal.InvalidOperation:
        with pytest.raises(engine.UnpriceablePoint):
            engine.Engine(snapshot).price(batch, tenant_scoped)
        return
    engine.Engine(snapshot).price(batch, tenant_scoped)
    for got, want in zip(batch.price, expected):
        assert got == pytest.approx(float(want), rel=1e-12, abs=1e-12)
