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


def test_a_file_made_before_descriptions_gets_the_column_at_start(tmp_path):
    """A DuckDB file from before descriptions were kept: the storage adds
    the column when it opens it; its points read without a description,
    new ones keep theirs."""
    import duckdb
    path = str(tmp_path / 'old.duckdb')
    with duckdb.connect(path) as old:
        old.execute(duckdb_storage.CREATE_TABLE)
        old.execute('ALTER TABLE rated_points ADD COLUMN "g:project_id" '
                    'VARCHAR')
        old.execute("INSERT INTO rated_points VALUES (0, '2015-12-31 22:00',"
                    " '2015-12-31 23:00', 'cpu', 'u', 1, 1, 'p1')")
    conf = testing.make_conf(str(tmp_path), storage={'version': 2},
                             storage_duckdb={'path': path})
    storage = rk_storage.get_storage(conf)
    try:
        point = testing.point(2, 1, 'p2', 'vm')
        point['description'] = 'CPU time'
        storage.push(dataframe.parse_dataframes([testing.frame(
            testing.BEGIN + testing.HOUR, {'cpu': [point]})]))
        points = [p for batch in storage.stream(None, None) for p in batch]
    finally:
        storage.close()
    assert [({'project_id': 'p1'}, None),
            ({'project_id': 'p2', 'id': 'vm'}, 'CPU time')] == [
        (p[6], p[8]) for p in points]
