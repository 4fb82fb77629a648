"""The InfluxDB backend's day rollups (ratekeeper/storage/v2/influx_rollup)
answer exactly what the raw points sum to: after ratekeeper's deletes
(seen by another worker too), after another writer's points (CloudKitty's
layout, written straight into InfluxDB), and pages of dataframes read
through them are those of the whole ordered list."""
import datetime
import decimal
import tempfile
import unittest

import influxdb

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from tests import influx

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
BEGIN = datetime.datetime(2024, 3, 1, tzinfo=UTC)
END = BEGIN + 72 * HOUR
PRICES = {'vm': 0.1, 'vol': 0.2, 'img': 0.3}
KINDS = {'vm': 'instance', 'vol': 'volume', 'img': 'image'}


def exact(value):
    return decimal.Decimal(repr(float(value)))


def frames(hours, begin=BEGIN, price_step=0):
    """Per hour, projects p1 and p2 each run one resource of each kind;
    prices that floats cannot hold (0.1, 0.2, 0.3 + the hour's step)."""
    result = []
    for hour in range(hours):
        usage = {}
        for project in ('p1', 'p2'):
            for name, kind in KINDS.items():
                usage.setdefault(kind, []).append(testing.point(
                    hour % 5 + 1, PRICES[name] + price_step * hour, project,
                    '%s-%s' % (name, project), flavor_name='f%d' % hour))
        result.append(testing.frame(begin + hour * HOUR, usage))
    return result


def raw_sums(storage, begin=BEGIN, end=END, key=None):
    """Exact sums of every point read back raw (no rollup), per ``key``
    (a function of the point, or one group)."""
    sums = {}
    for point in storage._points(begin, end, None, None):
        group = key(point) if key else ()
        qty, rate = sums.get(group, (0, 0))
        sums[group] = (qty + exact(point[4]), rate + exact(point[5]))
    return {g: (float(q), float(r)) for g, (q, r) in sums.items()}


class RollupTest(unittest.TestCase):

    def make_storage(self, name):
        conf = testing.make_conf(
            self.enterContext(tempfile.TemporaryDirectory()),
            storage={'version': 2, 'backend': 'influxdb'},
            storage_influxdb=influx.server().options(name))
        storage = rk_storage.get_storage(conf)
        self.addCleanup(storage.close)
        return storage

    def setUp(self):
        self.database = influx.database_name('rollup')
        self.addCleanup(influx.drop_database, self.database)
        self.storage = self.make_storage(self.database)
        self.storage.push(dataframe.parse_dataframes(frames(72)))

    def totals(self, storage, groupby, **kwargs):
        result = storage.total(BEGIN, END, groupby=groupby, limit=None,
                               **kwargs)
        return {tuple(row[k] for k in groupby if k != 'time')
                + ((row['begin'],) if 'time' in groupby else ()):
                (row['qty'], row['rate']) for row in result['results']}

    def assertExact(self, storage):
        """Every summary the rollups answer equals the raw exact sums."""
        self.assertEqual(raw_sums(storage), self.totals(storage, []))
        self.assertTrue(storage._rollups.days, 'the rollups answered')
        self.assertEqual(
            raw_sums(storage, key=lambda p: (p[2], p[6]['project_id'])),
            self.totals(storage, ['type', 'project_id']))
        self.assertEqual(
            raw_sums(storage, key=lambda p: (p[2], p[0])),
            self.totals(storage, ['type', 'time']))
        self.assertEqual(
            {(kind, moment): sums for (project, kind, moment), sums
             in raw_sums(storage, key=lambda p: (
                 p[6]['project_id'], p[2], p[0])).items()
             if project == 'p1'},
            self.totals(storage, ['type', 'time'],
                        filters={'project_id': ['p1']}))
        only_p1 = raw_sums(storage, key=lambda p: p[6]['project_id'])
        self.assertEqual({(): only_p1.get('p1', (0, 0))} if only_p1 else {},
                         self.totals(storage, [],
                                     filters={'project_id': ['p1']}))

    def test_rollups_sum_exactly(self):
        self.assertExact(self.storage)
        total = self.totals(self.storage, [])[()]
        # 72 hours x 2 projects x (0.1 + 0.2 + 0.3)
        per_hour = exact(0.1) + exact(0.2) + exact(0.3)
        self.assertEqual(float(72 * 2 * per_hour), total[1])

    def test_deletes_are_seen_by_every_worker(self):
        other = self.make_storage(self.database)
        self.assertExact(self.storage)
        self.assertExact(other)
        before = self.totals(other, ['project_id'])
        self.storage.delete(BEGIN + 24 * HOUR, BEGIN + 48 * HOUR,
                            filters={'project_id': ['p1']})
        self.assertExact(other)
        self.assertExact(self.storage)
        self.assertLess(self.totals(other, ['project_id'])[('p1',)],
                        before[('p1',)])
        self.storage.delete(BEGIN + 30 * HOUR, BEGIN + 31 * HOUR)
        self.assertExact(other)
        self.storage.delete()
        self.assertEqual({}, self.totals(other, []))

    def test_another_writer_makes_the_rollups_stale(self):
        self.assertExact(self.storage)
        client = influxdb.InfluxDBClient(
            '127.0.0.1', influx.server().port, database=self.database)
        self.addCleanup(client.close)
        second = int((BEGIN + 25 * HOUR).timestamp())
        client.write_points([
            # CloudKitty's layout: a new point, and one that replaces
            # p1's instance of that hour with another price
            'dataframes,id=vm-p3,project_id=p3,type=instance qty=2.0,'
            'price=0.7,unit="instance",groupby="id|project_id",'
            'metadata="" %d' % second,
            'dataframes,id=vm-p1,project_id=p1,type=instance qty=1.0,'
            'price=0.05,unit="instance",groupby="id|project_id",'
            'metadata="" %d' % second,
        ], time_precision='s', protocol='line')
        self.assertExact(self.storage)
        by_project = self.totals(self.storage, ['project_id'])
        self.assertEqual((2.0, 0.7), by_project[('p3',)])

    def test_pages_are_those_of_the_whole_list(self):
        # a second push into the same periods: pages follow push order
        self.storage.push(dataframe.parse_dataframes(
            frames(30, begin=BEGIN + 20 * HOUR, price_step=0.001)))
        for filters, types in ((None, None), ({'project_id': ['p2']}, None),
                               ({'id': ['vm-p1', 'img-p2']}, None),
                               ({'project_id': ['p1']}, ['volume']),
                               (None, ['volume', 'image'])):
            whole = [p[:9] for p in self.storage._points(
                BEGIN, END, filters, types)]
            for limit in (1, 7, 100, 1000):
                for offset in range(0, len(whole) + limit, 97):
                    page = self.storage.retrieve(
                        BEGIN, END, filters=filters, metric_types=types,
                        offset=offset, limit=limit)
                    self.assertEqual(len(whole), page['total'])
                    self.assertEqual(
                        dataframe.frames_from_rows(
                            whole[offset:offset + limit]),
                        page['dataframes'], (filters, types, offset, limit))
        self.assertTrue(self.storage._rollups.days, 'the rollups answered')
