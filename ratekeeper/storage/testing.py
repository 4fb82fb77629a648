"""The storage contract, as a test mixin every backend runs unchanged.

Mix :class:`StorageTest` into a ``unittest.TestCase`` and define
``make_storage(self)``: it returns an initialised, empty storage built from
``self.conf`` (see :func:`make_conf`), and registers its own cleanup. The
tests only use the BaseStorage interface.
"""
import datetime
import math

from oslo_config import cfg

from ratekeeper import conf as rk_conf
from ratekeeper import dataframe

UTC = datetime.timezone.utc
HOUR = datetime.timedelta(hours=1)
BEGIN = datetime.datetime(2015, 12, 31, 22, tzinfo=UTC)  # crosses a year
PROJECT_A = 'proj-a'
PROJECT_B = 'proj-b'


def make_conf(state_path, **groups):
    """A private ConfigOpts; ``groups`` maps a group name to its options,
    e.g. make_conf(path, storage={'version': 1})."""
    conf = cfg.ConfigOpts()
    rk_conf.register_opts(conf)
    conf([], project='ratekeeper', default_config_files=[])
    conf.set_override('state_path', state_path)
    for group, options in groups.items():
        for name, value in options.items():
            conf.set_override(name, value, group)
    return conf


def point(qty, price, project, resource, unit='unit', **metadata):
    return {'vol': {'unit': unit, 'qty': qty}, 'rating': {'price': price},
            'groupby': {'project_id': project, 'id': resource},
            'metadata': metadata}


def frame(begin, usage, hours=1):
    return {'period': {'begin': begin.isoformat(),
                       'end': (begin + hours * HOUR).isoformat()},
            'usage': usage}


def hourly_frames(hours, begin=BEGIN):
    """Per hour: A runs two instances (1 at 0.5 each) and a 10 GiB volume
    (at 0.25); B runs one instance (1 at 0.5) and a 4 MiB image (at 0.125).
    Per hour: qty 17, rate 1.875; A 12 and 1.25; B 5 and 0.625."""
    return [frame(begin + hour * HOUR, {
        'instance': [
            point(1, 0.5, PROJECT_A, 'vm-a1', flavor_name='m1.small'),
            point(1, 0.5, PROJECT_A, 'vm-a2', flavor_name='m1.large'),
            point(1, 0.5, PROJECT_B, 'vm-b1', flavor_name='m1.small'),
        ],
        'volume': [point(10, 0.25, PROJECT_A, 'vol-a1', unit='GiB',
                         volume_type='ssd')],
        'image': [point(4, 0.125, PROJECT_B, 'img-b1', unit='MiB',
                        disk_format='qcow2')],
    }) for hour in range(hours)]


class StorageTest:
    """The contract of ratekeeper.storage.v2.BaseStorage."""

    period = 3600

    def make_storage(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.storage = self.make_storage()

    # -- helpers ----------------------------------------------------------
    def push(self, frames):
        self.storage.push(dataframe.parse_dataframes(frames))

    def assertClose(self, actual, expected):
        self.assertTrue(math.isclose(actual, expected, rel_tol=1e-9,
                                     abs_tol=1e-12),
                        '%r != %r' % (actual, expected))

    def grand_total(self, begin=BEGIN, end=BEGIN + 48 * HOUR, **kwargs):
        results = self.storage.total(begin, end, **kwargs)['results']
        if not results:
            return 0, 0
        return results[0]['qty'], results[0]['rate']

    def all_points(self, **kwargs):
        return [p for batch in self.storage.stream(None, None, **kwargs)
                for p in batch]

    # -- push and retrieve ------------------------------------------------
    def test_empty_storage_reads_nothing(self):
        end = BEGIN + HOUR
        self.assertEqual({'total': 0, 'results': []},
                         self.storage.total(BEGIN, end))
        self.assertEqual({'total': 0, 'results': []},
                         self.storage.total(BEGIN, end, groupby=['type']))
        self.assertEqual({'total': 0, 'dataframes': []},
                         self.storage.retrieve(BEGIN, end))
        self.assertEqual([], self.storage.scope_ids(BEGIN, end, 'project_id'))
        self.assertEqual([], self.all_points())

    def test_retrieve_returns_what_was_pushed(self):
        self.push(hourly_frames(1))
        result = self.storage.retrieve(BEGIN, BEGIN + HOUR)
        self.assertEqual(5, result['total'])
        [wire] = result['dataframes']
        self.assertEqual(BEGIN,
                         dataframe.parse_datetime(wire['period']['begin']))
        self.assertEqual(BEGIN + HOUR,
                         dataframe.parse_datetime(wire['period']['end']))
        self.assertEqual(['image', 'instance', 'volume'],
                         sorted(wire['usage']))
        [volume] = wire['usage']['volume']
        self.assertEqual('GiB', volume['vol']['unit'])
        self.assertClose(volume['vol']['qty'], 10)
        self.assertClose(volume['rating']['price'], 0.25)
        self.assertEqual({'project_id': PROJECT_A, 'id': 'vol-a1'},
                         volume['groupby'])
        self.assertEqual({'volume_type': 'ssd'}, volume['metadata'])

    def test_attribute_values_are_stored_as_text(self):
        self.push([frame(BEGIN, {'instance': [{
            'vol': {'unit': 'instance', 'qty': 1}, 'rating': {'price': 1},
            'groupby': {'project_id': PROJECT_A, 'id': 'vm'},
            'metadata': {'vcpus': 4, 'gpu': None, 'flag': True}}]})])
        [p] = self.all_points()
        self.assertEqual({'vcpus': '4', 'flag': 'True'}, p[7])

    def test_unicode_keys_and_values_round_trip(self):
        groupby = {'project_id': 'projet-é', 'id': 'vm-日本', 'clé "x"': 'a\\b'}
        metadata = {'émoji 🚀': 'valeur\ttab', 'a.b': 'dot', '$q': 'd'}
        self.push([frame(BEGIN, {'compute': [{
            'vol': {'unit': 'µs', 'qty': 2}, 'rating': {'price': 3},
            'groupby': groupby, 'metadata': metadata}]})])
        [p] = self.all_points()
        self.assertEqual(('compute', 'µs'), p[2:4])
        self.assertEqual((groupby, metadata, None), p[6:])
        end = BEGIN + HOUR
        rows = self.storage.total(BEGIN, end, groupby=['clé "x"', 'émoji 🚀'],
                                  filters={'a.b': ['dot'], '$q': ['d']})
        self.assertEqual('a\\b', rows['results'][0]['clé "x"'])
        self.assertEqual('valeur\ttab', rows['results'][0]['émoji 🚀'])
        self.assertEqual(['projet-é'],
                         self.storage.scope_ids(BEGIN, end, 'project_id'))

    def test_descriptions_round_trip(self):
        """A metric's description is stored with each of its points and
        read back (CloudKitty lost it: its bug B9); points without one
        read None and show no description key."""
        described = 'Instance uptime, in hours (flavor priced)'
        first = point(1, 0.5, PROJECT_A, 'vm-a1')
        first['description'] = described
        second = point(1, 0.5, PROJECT_B, 'vm-b1')
        second['description'] = described
        volume = point(10, 0.25, PROJECT_A, 'vol-a1', unit='GiB')
        volume['description'] = 'Volume size, in GiB « ssd » 日本'
        self.push([frame(BEGIN, {'instance': [first, second],
                                 'volume': [volume]})])
        self.push(hourly_frames(1, BEGIN + HOUR))
        points = self.all_points()
        self.assertEqual(8, len(points))
        self.assertEqual(
            [('instance', described), ('instance', described),
             ('volume', 'Volume size, in GiB « ssd » 日本')],
            [(p[2], p[8]) for p in points[:3]])
        self.assertEqual([None] * 5, [p[8] for p in points[3:]])
        self.assertEqual(described, self.all_points(
            filters={'project_id': [PROJECT_B]},
            metric_types=['instance'])[0][8])
        [wire] = self.storage.retrieve(BEGIN, BEGIN + HOUR)['dataframes']
        self.assertEqual([described, described],
                         [p['description'] for p in wire['usage']['instance']])
        [wire] = self.storage.retrieve(BEGIN + HOUR,
                                       BEGIN + 2 * HOUR)['dataframes']
        self.assertFalse(any('description' in p
                             for points in wire['usage'].values()
                             for p in points))
        # sums and groups are not split by the description
        self.assertEqual(3, self.storage.total(
            BEGIN, BEGIN + 2 * HOUR, groupby=['type'])['total'])

    def test_many_attribute_keys(self):
        metadata = {'key_%02d' % i: 'value %d' % i for i in range(60)}
        self.push([frame(BEGIN, {'instance': [
            point(1, 1, PROJECT_A, 'vm', **metadata)]})])
        [p] = self.all_points()
        self.assertEqual(metadata, p[7])
        rows = self.storage.total(BEGIN, BEGIN + HOUR, groupby=['key_59'],
                                  filters={'key_42': ['value 42']})
        self.assertEqual('value 59', rows['results'][0]['key_59'])

    def test_a_failing_push_stores_nothing(self):
        self.push(hourly_frames(1))
        frames = hourly_frames(2, BEGIN + HOUR)
        # A lone surrogate cannot be encoded by any backend or driver.
        frames[1]['usage']['bad\ud800type'] = [point(1, 1, PROJECT_A, 'x')]
        with self.assertRaises(Exception):
            self.push(frames)
        self.assertEqual(5, len(self.all_points()))
        self.push(hourly_frames(1, BEGIN + HOUR))  # still usable
        self.assertEqual(10, len(self.all_points()))

    def test_retrieve_is_oldest_first_then_in_insertion_order(self):
        later, earlier = BEGIN + 2 * HOUR, BEGIN
        self.push([frame(later, {'t': [point(1, 1, 'p', 'late-1'),
                                       point(1, 1, 'p', 'late-2')]})])
        self.push([frame(earlier, {'t': [point(1, 1, 'p', 'early-1')]})])
        self.push([frame(earlier, {'t': [point(1, 1, 'p', 'early-2')]})])
        ids = [p[6]['id'] for p in self.all_points()]
        self.assertEqual(['early-1', 'early-2', 'late-1', 'late-2'], ids)
        result = self.storage.retrieve(BEGIN, BEGIN + 3 * HOUR, offset=1,
                                       limit=2)
        self.assertEqual(4, result['total'])
        ids = [p['groupby']['id'] for f in result['dataframes']
               for points in f['usage'].values() for p in points]
        self.assertEqual(['early-2', 'late-1'], ids)

    def test_retrieve_pages_through_every_point_once(self):
        self.push(hourly_frames(4))
        seen = []
        for offset in range(0, 20, 3):
            result = self.storage.retrieve(BEGIN, BEGIN + 4 * HOUR,
                                           offset=offset, limit=3)
            self.assertEqual(20, result['total'])
            seen += [(f['period']['begin'], p['groupby']['id'])
                     for f in result['dataframes']
                     for points in f['usage'].values() for p in points]
        self.assertEqual(20, len(set(seen)))
        beyond = self.storage.retrieve(BEGIN, BEGIN + 4 * HOUR, offset=20)
        self.assertEqual({'total': 20, 'dataframes': []}, beyond)

    def test_retrieve_filters_and_metric_types(self):
        self.push(hourly_frames(2))
        end = BEGIN + 2 * HOUR
        self.assertEqual(2, self.storage.retrieve(
            BEGIN, end, filters={'project_id': [PROJECT_B]},
            metric_types=['image'])['total'])
        self.assertEqual(6, self.storage.retrieve(
            BEGIN, end, metric_types=['instance'])['total'])
        self.assertEqual(8, self.storage.retrieve(
            BEGIN, end, metric_types=['instance', 'volume'])['total'])
        self.assertEqual(4, self.storage.retrieve(
            BEGIN, end, filters={'flavor_name': ['m1.small']})['total'])
        self.assertEqual(2, self.storage.retrieve(  # AND across keys
            BEGIN, end, filters={'flavor_name': ['m1.small'],
                                 'project_id': [PROJECT_A]})['total'])
        self.assertEqual(4, self.storage.retrieve(  # OR within a key
            BEGIN, end, filters={'id': ['vm-a1', 'img-b1']})['total'])
        self.assertEqual(0, self.storage.retrieve(
            BEGIN, end, filters={'no_such_key': ['x']})['total'])
        self.assertEqual(5, self.storage.retrieve(  # [begin, end)
            BEGIN + HOUR, BEGIN + 3 * HOUR)['total'])

    # -- total ------------------------------------------------------------
    def test_total_without_groupby(self):
        self.push(hourly_frames(3))
        result = self.storage.total(BEGIN, BEGIN + 2 * HOUR)
        self.assertEqual(1, result['total'])
        [row] = result['results']
        self.assertEqual((BEGIN, BEGIN + 2 * HOUR), (row['begin'], row['end']))
        self.assertClose(row['qty'], 34)
        self.assertClose(row['rate'], 3.75)
        self.assertEqual({'total': 1, 'results': []},
                         self.storage.total(BEGIN, BEGIN + HOUR, offset=1))

    def test_total_sums_decimal_prices_exactly_enough(self):
        self.push([frame(BEGIN + i * HOUR, {'volume': [
            point(0.1, 0.0005, PROJECT_A, 'v%d' % j) for j in range(50)]})
            for i in range(40)])
        qty, rate = self.grand_total()
        self.assertClose(qty, 200)
        self.assertClose(rate, 1.0)

    def test_total_groupby_type_and_scope(self):
        self.push(hourly_frames(2))
        result = self.storage.total(BEGIN, BEGIN + 2 * HOUR,
                                    groupby=['project_id', 'type'])
        self.assertEqual(4, result['total'])
        rows = {(r['project_id'], r['type']): r for r in result['results']}
        self.assertEqual({(PROJECT_A, 'instance'), (PROJECT_A, 'volume'),
                          (PROJECT_B, 'instance'), (PROJECT_B, 'image')},
                         set(rows))
        self.assertClose(rows[(PROJECT_A, 'volume')]['qty'], 20)
        self.assertClose(rows[(PROJECT_B, 'image')]['rate'], 0.25)
        for row in result['results']:
            self.assertEqual(['begin', 'end', 'qty', 'rate', 'project_id',
                              'type'], list(row))
            self.assertEqual((BEGIN, BEGIN + 2 * HOUR),
                             (row['begin'], row['end']))

    def test_total_groupby_missing_attribute_reads_empty(self):
        self.push(hourly_frames(1))
        rows = self.storage.total(BEGIN, BEGIN + HOUR,
                                  groupby=['volume_type'])['results']
        by_value = {r['volume_type']: r for r in rows}
        self.assertEqual({'', 'ssd'}, set(by_value))
        self.assertClose(by_value['']['qty'], 7)
        self.assertClose(by_value['ssd']['rate'], 0.25)

    def test_total_groupby_time_gives_one_row_per_period(self):
        self.push(hourly_frames(3))
        result = self.storage.total(BEGIN, BEGIN + 3 * HOUR,
                                    groupby=['time', 'project_id'])
        self.assertEqual(6, result['total'])
        for row in result['results']:
            self.assertEqual(['begin', 'end', 'qty', 'rate', 'project_id'],
                             list(row))
            self.assertEqual(HOUR, row['end'] - row['begin'])
            self.assertEqual(datetime.timezone.utc, row['begin'].tzinfo)
        begins = sorted({r['begin'] for r in result['results']})
        self.assertEqual([BEGIN, BEGIN + HOUR, BEGIN + 2 * HOUR], begins)

    def test_total_groupby_calendar_keys(self):
        self.push(hourly_frames(4))  # 22:00 Dec 31 2015 to 02:00 Jan 1 2016
        rows = self.storage.total(BEGIN, BEGIN + 4 * HOUR,
                                  groupby=['year', 'month'])['results']
        got = {(r['year'], r['month']): r['qty'] for r in rows}
        self.assertEqual({('2015', '12'): 34, ('2016', '1'): 34}, got)
        rows = self.storage.total(
            BEGIN, BEGIN + 4 * HOUR,
            groupby=['day_of_the_year', 'week_of_the_year'])['results']
        self.assertEqual({('365', '52'), ('1', '00')},
                         {(r['day_of_the_year'], r['week_of_the_year'])
                          for r in rows})

    def test_calendar_key_carried_by_a_point_wins(self):
        self.push([frame(BEGIN, {'t': [point(1, 1, PROJECT_A, 'x', month='7'),
                                       point(2, 1, PROJECT_A, 'y')]})])
        rows = self.storage.total(BEGIN, BEGIN + HOUR,
                                  groupby=['month'])['results']
        self.assertEqual({'7': 1, '12': 2},
                         {r['month']: r['qty'] for r in rows})
        self.assertEqual(1, self.storage.retrieve(
            BEGIN, BEGIN + HOUR, filters={'month': ['12']})['total'])

    def test_groupby_value_wins_over_metadata(self):
        self.push([frame(BEGIN, {'t': [{
            'vol': {'unit': 'u', 'qty': 1}, 'rating': {'price': 1},
            'groupby': {'project_id': 'from-groupby'},
            'metadata': {'project_id': 'from-metadata', 'zone': 'z1'}}]})])
        rows = self.storage.total(BEGIN, BEGIN + HOUR,
                                  groupby=['project_id', 'zone'])['results']
        self.assertEqual([('from-groupby', 'z1')],
                         [(r['project_id'], r['zone']) for r in rows])

    def test_total_pagination_counts_every_group(self):
        self.push(hourly_frames(5))
        end = BEGIN + 5 * HOUR
        everything = self.storage.total(BEGIN, end, groupby=['time', 'type'])
        self.assertEqual(15, everything['total'])
        self.assertEqual(15, len(everything['results']))
        pages = [self.storage.total(BEGIN, end, groupby=['time', 'type'],
                                    offset=offset, limit=4)
                 for offset in range(0, 16, 4)]
        self.assertEqual([15] * 4, [page['total'] for page in pages])
        self.assertEqual(everything['results'],
                         [row for page in pages for row in page['results']])
        beyond = self.storage.total(BEGIN, end, groupby=['type'], offset=10)
        self.assertEqual({'total': 3, 'results': []}, beyond)

    def test_total_filters_and_metric_types(self):
        self.push(hourly_frames(2))
        end = BEGIN + 2 * HOUR
        qty, rate = self.grand_total(end=end, filters={
            'project_id': [PROJECT_A]})
        self.assertClose(qty, 24)
        self.assertClose(rate, 2.5)
        qty, rate = self.grand_total(end=end, metric_types=['image', 'volume'],
                                     filters={'project_id': [PROJECT_B]})
        self.assertClose(qty, 8)
        self.assertClose(rate, 0.25)

    # -- delete, scope_ids, stream ----------------------------------------
    def test_delete_range_and_filters(self):
        self.push(hourly_frames(3))
        self.storage.delete(BEGIN + HOUR, BEGIN + 2 * HOUR,
                            filters={'project_id': [PROJECT_B]})
        self.assertEqual(13, len(self.all_points()))
        self.storage.delete(begin=BEGIN + 2 * HOUR)
        self.assertEqual(8, len(self.all_points()))
        self.storage.delete()
        self.assertEqual([], self.all_points())

    def test_totals_follow_deletes(self):
        self.push(hourly_frames(2))
        end = BEGIN + 2 * HOUR
        self.storage.delete(BEGIN, BEGIN + HOUR,
                            filters={'flavor_name': ['m1.small']})
        self.storage.delete(BEGIN + HOUR, end,
                            filters={'project_id': [PROJECT_B]})
        qty, rate = self.grand_total(end=end)
        self.assertClose(qty, 15 + 12)
        self.assertClose(rate, 1.875 - 1.0 + 1.25)
        rows = self.storage.total(BEGIN, end, groupby=['project_id', 'type'])
        got = {(r['project_id'], r['type']): r['qty']
               for r in rows['results']}
        self.assertEqual({(PROJECT_A, 'instance'): 3,
                          (PROJECT_A, 'volume'): 20,
                          (PROJECT_B, 'image'): 4}, got)
        self.assertEqual([PROJECT_A],
                         self.storage.scope_ids(BEGIN + HOUR, end,
                                                'project_id'))
        self.assertEqual([PROJECT_A, PROJECT_B],
                         self.storage.scope_ids(BEGIN, end, 'project_id'))

    def test_delete_then_push_again_counts_once(self):
        # what the processor does after a push cut short (delete the
        # scope's points from the marked period on, push again) and a
        # reprocessing step (delete the scope's window, push it again)
        self.push(hourly_frames(3))
        scope_a = {'project_id': [PROJECT_A]}

        def frames_of_a(hours, begin):
            frames = hourly_frames(hours, begin)
            for one in frames:
                for kind, points in list(one['usage'].items()):
                    one['usage'][kind] = [
                        p for p in points
                        if p['groupby']['project_id'] == PROJECT_A]
            return frames

        for _ in range(2):
            self.storage.delete(BEGIN + HOUR, None, filters=scope_a)
            self.push(frames_of_a(2, BEGIN + HOUR))
        self.storage.delete(BEGIN + HOUR, BEGIN + 2 * HOUR, filters=scope_a)
        self.push(frames_of_a(1, BEGIN + HOUR))
        self.assertEqual(15, len(self.all_points()))
        end = BEGIN + 3 * HOUR
        rows = self.storage.total(BEGIN, end, groupby=['time', 'project_id'])
        got = {(r['begin'], r['project_id']): (r['qty'], r['rate'])
               for r in rows['results']}
        self.assertEqual(6, len(got))
        for hour in range(3):
            moment = BEGIN + hour * HOUR
            self.assertEqual((12, 1.25), got[(moment, PROJECT_A)])
            self.assertEqual((5, 0.625), got[(moment, PROJECT_B)])
        qty, rate = self.grand_total(end=end)
        self.assertClose(qty, 3 * 17)
        self.assertClose(rate, 3 * 1.875)

    def test_scope_ids(self):
        self.push(hourly_frames(1))
        self.push([frame(BEGIN + HOUR, {'t': [point(1, 1, 'proj-c', 'x')]})])
        self.assertEqual([PROJECT_A, PROJECT_B],
                         self.storage.scope_ids(BEGIN, BEGIN + HOUR,
                                                'project_id'))
        self.assertEqual([PROJECT_A, PROJECT_B, 'proj-c'],
                         self.storage.scope_ids(BEGIN, BEGIN + 2 * HOUR,
                                                'project_id'))
        self.assertEqual(['m1.large', 'm1.small'],
                         self.storage.scope_ids(BEGIN, BEGIN + HOUR,
                                                'flavor_name'))

    def test_stream_yields_everything_in_order_in_batches(self):
        self.push(hourly_frames(3, BEGIN + HOUR))
        self.push(hourly_frames(1))
        batches = list(self.storage.stream(None, None, batch_size=3))
        self.assertTrue(all(0 < len(b) <= 3 for b in batches))
        points = [p for batch in batches for p in batch]
        self.assertEqual(20, len(points))
        begins = [p[0] for p in points]
        self.assertEqual(sorted(begins), begins)
        self.assertEqual([BEGIN, BEGIN + HOUR], [begins[0], points[0][1]])
        first_hour = [(p[2], p[6]['id']) for p in points[:5]]
        self.assertEqual([('instance', 'vm-a1'), ('instance', 'vm-a2'),
                          ('instance', 'vm-b1'), ('volume', 'vol-a1'),
                          ('image', 'img-b1')], first_hour)
        begin, end, metric_type, unit, qty, price, groupby, metadata, \
            description = points[3]
        self.assertEqual(('volume', 'GiB'), (metric_type, unit))
        self.assertClose(qty, 10)
        self.assertClose(price, 0.25)
        self.assertEqual(({'project_id': PROJECT_A, 'id': 'vol-a1'},
                          {'volume_type': 'ssd'}), (groupby, metadata))
        self.assertIsNone(description)

    def test_stream_range_filters_and_metric_types(self):
        self.push(hourly_frames(4))
        points = [p for batch in self.storage.stream(
            BEGIN + HOUR, BEGIN + 3 * HOUR,
            filters={'project_id': [PROJECT_A]},
            metric_types=['instance']) for p in batch]
        self.assertEqual(4, len(points))
        self.assertEqual({BEGIN + HOUR, BEGIN + 2 * HOUR},
                         {p[0] for p in points})
