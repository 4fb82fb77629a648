"""A ClickHouse points table of the first releases (attributes as arrays,
no description) gets the description column when the storage starts:
old points read without one, new ones keep it, and new points go on
being stored as arrays there."""
import tempfile

import clickhouse_driver

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import clickhouse as ch_storage
from tests import clickhouse

OLD_COLUMNS = ("(begin DateTime('UTC'), end DateTime('UTC'), type String, "
               'unit String, qty Float64, price Float64, scope String, '
               'groupby_keys Array(String), groupby_values Array(String), '
               'metadata_keys Array(String), metadata_values Array(String), '
               'push_id UInt64, row UInt32)')


def test_a_table_made_before_descriptions_gets_the_column_at_start():
    assert 'description' not in OLD_COLUMNS
    port = clickhouse.server().tcp_port
    name = clickhouse.database_name('upgrade')
    client = clickhouse_driver.Client('127.0.0.1', port=port)
    try:
        client.execute('CREATE DATABASE %s' % name)
        client.execute('CREATE TABLE %s.rated_points %s %s'
                       % (name, OLD_COLUMNS, ch_storage.MERGE_TREE))
        client.execute(
            "INSERT INTO %s.rated_points (begin, end, type, unit, qty, "
            "price, scope, groupby_keys, groupby_values, metadata_keys, "
            "metadata_values, push_id, row) VALUES" % name,
            [(testing.BEGIN, testing.BEGIN + testing.HOUR, 'cpu', 'u', 1.0,
              1.0, 'p1', ['project_id'], ['p1'], [], [], 1, 0)])
        with tempfile.TemporaryDirectory() as state:
            conf = testing.make_conf(
                state, storage={'version': 2, 'backend': 'clickhouse'},
                storage_clickhouse={'url': 'clickhouse://127.0.0.1:%d/%s'
                                    % (port, name)})
            for _ in range(2):  # the second start finds the column
                storage = rk_storage.get_storage(conf)
                storage.close()
            storage = rk_storage.get_storage(conf)
            try:
                point = testing.point(2, 1, 'p2', 'vm')
                point['description'] = 'CPU time'
                storage.push(dataframe.parse_dataframes([testing.frame(
                    testing.BEGIN + testing.HOUR, {'cpu': [point]})]))
                points = [p for batch in storage.stream(None, None)
                          for p in batch]
                page = storage.retrieve(testing.BEGIN,
                                        testing.BEGIN + 2 * testing.HOUR)
            finally:
                storage.close()
        assert [('p1', None), ('p2', 'CPU time')] == [
            (p[6]['project_id'], p[8]) for p in points]
        assert [{'project_id': 'p1'}, {'project_id': 'p2', 'id': 'vm'}] == [
            p['groupby'] for frame in page['dataframes']
            for p in frame['usage']['cpu']]
        assert ('Array(String)', '') in client.execute(
            "SELECT type, default_kind FROM system.columns WHERE database "
            "= %(name)s AND table = 'rated_points' AND name = "
            "'groupby_values'", {'name': name})
    finally:
        client.disconnect()
        clickhouse.drop_database(port, name)
