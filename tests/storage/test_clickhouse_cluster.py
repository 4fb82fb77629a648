"""The same points give the same totals on one ClickHouse server and on a
two-shard cluster (Distributed table over the shards' local tables)."""
import random

import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from tests import clickhouse

GROUPBYS = [None, ['type'], ['project_id'], ['time', 'type'],
            ['project_id', 'flavor_name'], ['month', 'day_of_the_year']]


def pushes(count=12):
    """Pushes of random points over 3 days, prices in 1/1000s."""
    rnd = random.Random(15)
    for push in range(count):
        begin = testing.BEGIN + rnd.randrange(72) * testing.HOUR
        yield [testing.frame(begin, {rnd.choice(['instance', 'volume']): [
            testing.point(rnd.randrange(1, 50), rnd.randrange(1, 999) / 1000,
                          'proj-%d' % rnd.randrange(5), 'r%d-%d' % (push, i),
                          flavor_name=rnd.choice(['a', 'b', 'c']))
            for i in range(40)]})]


def open_storage(tmp_path, port, cluster=None):
    options = {'url': 'clickhouse://127.0.0.1:%d/%s'
               % (port, clickhouse.database_name('same'))}
    if cluster:
        options['cluster'] = cluster
    conf = testing.make_conf(str(tmp_path), storage={'backend': 'clickhouse'},
                             storage_clickhouse=options)
    return rk_storage.get_storage(conf)


@pytest.fixture
def storages(tmp_path):
    single = open_storage(tmp_path, clickhouse.server().tcp_port)
    servers = clickhouse.cluster()
    sharded = open_storage(tmp_path, servers[0].tcp_port, clickhouse.CLUSTER)
    yield single, sharded
    for storage, ports in ((single, [clickhouse.server().tcp_port]),
                           (sharded, [s.tcp_port for s in servers])):
        storage.close()
        for port in ports:
            clickhouse.drop_database(port, storage.database)


def test_one_server_and_two_shards_give_the_same_totals(storages):
    single, sharded = storages
    for frames in pushes():
        batch = dataframe.parse_dataframes(frames)
        single.push(batch)
        sharded.push(dataframe.parse_dataframes(frames))
    begin, end = testing.BEGIN, testing.BEGIN + 72 * testing.HOUR
    for groupby in GROUPBYS:
        expected = single.total(begin, end, groupby=groupby)
        assert expected['total'] > 0
        assert sharded.total(begin, end, groupby=groupby) == expected
        assert sharded.total(begin, end, groupby=groupby, offset=2,
                             limit=3) == single.total(
            begin, end, groupby=groupby, offset=2, limit=3)
    filters = {'project_id': ['proj-1', 'proj-3']}
    assert sharded.total(begin, end, groupby=['type'], filters=filters) == \
        single.total(begin, end, groupby=['type'], filters=filters)
    assert sharded.retrieve(begin, end, limit=1000) == \
        single.retrieve(begin, end, limit=1000)
