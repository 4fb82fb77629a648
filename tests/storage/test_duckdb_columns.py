"""DuckDB keeps each attribute key as a column: keys it cannot hold apart,
or too many of them, are refused as bad input, and the store goes on."""
import pytest

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import duckdb as duckdb_storage

WINDOW = (testing.BEGIN, testing.BEGIN + 24 * testing.HOUR)


@pytest.fixture
def storage(tmp_path):
    conf = testing.make_conf(str(tmp_path), storage={'version': 2})
    storage = rk_storage.get_storage(conf)
    yield storage
    storage.close()


def push_point(storage, hour=0, groupby=None, metadata=None):
    begin = testing.BEGIN + hour * testing.HOUR
    batch = dataframe.parse_dataframes([testing.frame(begin, {'cpu': [{
        'vol': {'unit': 'u', 'qty': 1}, 'rating': {'price': 1},
        'groupby': groupby or {}, 'metadata': metadata or {}}]})])
    storage.push(batch)


def stored_points(storage):
    return storage.retrieve(*WINDOW)['total']


def test_a_key_differing_from_a_stored_one_by_case_is_refused(storage):
    push_point(storage, groupby={'flavor': 'a'})
    with pytest.raises(errors.InvalidInput, match='only by letter case'):
        push_point(storage, 1, groupby={'FLAVOR': 'b'})
    assert stored_points(storage) == 1
    push_point(storage, 2, groupby={'flavor': 'c'})
    assert stored_points(storage) == 2


def test_keys_of_one_push_differing_by_case_are_refused(storage):
    with pytest.raises(errors.InvalidInput, match='only by letter case'):
        push_point(storage, metadata={'Size': '1', 'size': '2'})
    assert stored_points(storage) == 0


def test_groupby_and_metadata_keys_may_share_a_name(storage):
    push_point(storage, groupby={'size': '1'}, metadata={'Size': '2'})
    assert stored_points(storage) == 1


def test_too_many_distinct_keys_are_refused(storage):
    limit = duckdb_storage.MAX_ATTRIBUTE_COLUMNS
    push_point(storage, metadata={'k%d' % i: 'v' for i in range(limit - 10)})
    with pytest.raises(errors.InvalidInput, match='Too many distinct'):
        push_point(storage, 1, groupby={'g%d' % i: 'v' for i in range(20)})
    push_point(storage, 2, groupby={'g%d' % i: 'v' for i in range(5)})
    assert stored_points(storage) == 2
