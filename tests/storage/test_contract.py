"""One storage contract, run unchanged against every backend."""
import tempfile
import unittest

import clickhouse_driver
import sqlalchemy as sa

from ratekeeper import db
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v1 import sqlalchemy as v1_sqlalchemy
from ratekeeper.storage.v1.sqlalchemy import models
from tests import clickhouse
from tests import databases
from tests import influx


class DuckDBStorageTest(testing.StorageTest, unittest.TestCase):
    def make_storage(self):
        state_path = self.enterContext(tempfile.TemporaryDirectory())
        conf = testing.make_conf(state_path, storage={'version': 2})
        storage = rk_storage.get_storage(conf)
        self.addCleanup(storage.close)
        return storage

    def test_no_transaction_is_left_open(self):
        # DuckDB checkpoints its write-ahead log into the file only when no
        # transaction is open; one left open by an unfinished result kept
        # every point in memory and in an ever-growing log
        self.push(testing.hourly_frames(3))
        self.storage.total(testing.BEGIN, testing.BEGIN + 3 * testing.HOUR,
                           groupby=['type'])
        self.storage.retrieve(testing.BEGIN, testing.BEGIN + testing.HOUR)
        list(self.storage.stream(testing.BEGIN,
                                 testing.BEGIN + testing.HOUR))
        self.storage._db.cursor().execute('CHECKPOINT')


class SQLStorageTest(testing.StorageTest):
    """The SQL (v1) backend on one database per class, emptied per test."""

    url = None

    @classmethod
    def database_url(cls, state_path):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.state_path = cls.enterClassContext(tempfile.TemporaryDirectory())
        cls.url = cls.database_url(cls.state_path)
        cls.conf = testing.make_conf(
            cls.state_path, storage={'version': 1},
            database={'connection': cls.url})
        cls.addClassCleanup(db.dispose, cls.conf)

    def make_storage(self):
        storage = rk_storage.get_storage(self.conf)
        self.assertIsInstance(storage, v1_sqlalchemy.SQLAlchemyStorage)
        self.addCleanup(self.empty, storage)
        return storage

    def empty(self, storage):
        with storage.engine.begin() as connection:
            connection.execute(models.points.delete())
            connection.execute(models.rollups.delete())
            connection.execute(models.type_rollups.delete())
            connection.execute(models.periods.delete())
        storage.close()

    def test_a_failing_insert_rolls_back_its_periods(self):
        self.push(testing.hourly_frames(1))

        def broken_insert(dbapi_connection, rows):
            raise sa.exc.OperationalError('INSERT', {}, Exception('boom'))

        self.storage.dialect.insert_points = broken_insert
        with self.assertRaises(rk_storage.v2.StorageError):
            self.push(testing.hourly_frames(3))
        with self.storage.engine.connect() as connection:
            periods = connection.execute(
                sa.select(sa.func.count()).select_from(models.periods))
            self.assertEqual(1, periods.scalar())

    def test_sums_read_without_float_noise(self):
        # summed as doubles, 3000 + 4 x 0.07 is 3000.2800000000007
        prices = [3000, 0.07, 0.07, 0.07, 0.07]
        self.push([testing.frame(testing.BEGIN, {'instance': [
            testing.point(1, price, 'p1', 'r%d' % i)
            for i, price in enumerate(prices)]})])
        for groupby in (None, ['type'], ['type', 'project_id']):
            [row] = self.storage.total(
                testing.BEGIN, testing.BEGIN + testing.HOUR,
                groupby=groupby)['results']
            self.assertEqual(3000.28, row['rate'])


class SQLiteStorageTest(SQLStorageTest, unittest.TestCase):
    @classmethod
    def database_url(cls, state_path):
        return 'sqlite:///%s/v1.sqlite' % state_path


class ServerStorageTest(SQLStorageTest):
    kind = None

    @classmethod
    def database_url(cls, state_path):
        return cls.enterClassContext(
            databases.temporary_database(cls.kind, 'contract'))


class PostgreSQLStorageTest(ServerStorageTest, unittest.TestCase):
    kind = 'postgresql'


class MariaDBStorageTest(ServerStorageTest, unittest.TestCase):
    kind = 'mariadb'


class ClickHouseStorageTest(testing.StorageTest, unittest.TestCase):
    """A new database per test on the session's ClickHouse server."""

    cluster = False

    def make_storage(self):
        if self.cluster:
            servers = clickhouse.cluster()
            port = servers[0].tcp_port
            options = {'cluster': clickhouse.CLUSTER}
        else:
            port = clickhouse.server().tcp_port
            options = {}
        name = clickhouse.database_name('contract')
        options['url'] = 'clickhouse://127.0.0.1:%d/%s' % (port, name)
        conf = testing.make_conf(
            self.enterContext(tempfile.TemporaryDirectory()),
            storage={'version': 2, 'backend': 'clickhouse'},
            storage_clickhouse=options)
        storage = rk_storage.get_storage(conf)
        self.addCleanup(self.drop, storage, name)
        return storage

    def drop(self, storage, name):
        storage.close()
        ports = ([s.tcp_port for s in clickhouse.cluster()] if self.cluster
                 else [clickhouse.server().tcp_port])
        for port in ports:
            clickhouse.drop_database(port, name)


class ClickHouseClusterStorageTest(ClickHouseStorageTest):
    """The same contract through a Distributed table over two shards."""

    cluster = True

    def test_pushes_are_spread_over_both_shards(self):
        for hour in range(10):  # each push whole on one shard
            self.push(testing.hourly_frames(
                1, testing.BEGIN + hour * testing.HOUR))
        counts = []
        for server in clickhouse.cluster():
            client = clickhouse_driver.Client('127.0.0.1',
                                              port=server.tcp_port)
            counts.append(client.execute(
                'SELECT count() FROM %s.rated_points_local'
                % self.storage.database)[0][0])
            client.disconnect()
        self.assertEqual(50, sum(counts))
        self.assertNotIn(0, counts)


class InfluxDBStorageTest(testing.StorageTest, unittest.TestCase):
    """A new database per test on the session's InfluxDB server."""

    def make_storage(self):
        name = influx.database_name('contract')
        conf = testing.make_conf(
            self.enterContext(tempfile.TemporaryDirectory()),
            storage={'version': 2, 'backend': 'influxdb'},
            storage_influxdb=influx.server().options(name))
        storage = rk_storage.get_storage(conf)
        self.addCleanup(influx.drop_database, name)
        self.addCleanup(storage.close)
        return storage
