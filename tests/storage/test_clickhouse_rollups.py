"""The ClickHouse rollups (per period, per month) stay equal to the points
they sum: after pushes, deletes (reprocessing) and pushes again, on one
server and on a two-shard cluster, every summary and dataframes page read
through them equals the same read over the points themselves, and each
rollup's rows equal the sums of the points per key. A rollup change cut
short is rebuilt, and a database made before the rollups is backfilled."""
import datetime
import decimal
import functools
import random

import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import clickhouse as ch_storage
from tests import clickhouse

UTC = datetime.timezone.utc
# three months, the first and last cut by the windows below
START = datetime.datetime(2026, 1, 28, tzinfo=UTC)
HOURS = 24 * 40
GROUPBYS = [[], ['type'], ['project_id'], ['time', 'type'],
            ['type', 'project_id'], ['project_id', 'id'],
            ['project_id', 'user_id', 'id'], ['flavor_name'],
            ['month', 'type'], ['year'], ['day_of_the_year']]
FILTERS = [None, {'project_id': ['proj-1']}, {'flavor_name': ['a', 'b']},
           {'project_id': ['proj-2'], 'user_id': ['u1']}]


def windows():
    day = datetime.timedelta(days=1)
    return [(START, START + HOURS * testing.HOUR),
            (START + 3 * day, START + 30 * day),  # both months cut
            (datetime.datetime(2026, 2, 1, tzinfo=UTC),
             datetime.datetime(2026, 3, 1, tzinfo=UTC)),  # one whole month
            (START + 10 * day, START + 11 * day),
            (datetime.datetime(2026, 2, 1, 5, tzinfo=UTC),
             datetime.datetime(2026, 3, 8, tzinfo=UTC))]


def frames(rnd, resources=30, periods=40):
    """Hourly frames of random points at random hours of the 40 days;
    prices in 1/1000s, each resource's attributes fixed."""
    for _ in range(periods):
        begin = START + rnd.randrange(HOURS) * testing.HOUR
        usage = {}
        for i in range(resources):
            point = testing.point(
                rnd.randrange(1, 50), rnd.randrange(1, 999) / 1000,
                'proj-%d' % (i % 4), 'r%d' % i,
                flavor_name='abc'[i % 3])
            point['groupby']['user_id'] = 'u%d' % (i % 2)
            usage.setdefault(['instance', 'volume'][i % 2], []).append(point)
        yield [testing.frame(begin, usage)]


def open_storage(tmp_path, port, database, cluster=None):
    options = {'url': 'clickhouse://127.0.0.1:%d/%s' % (port, database)}
    if cluster:
        options['cluster'] = cluster
    conf = testing.make_conf(str(tmp_path), storage={'backend': 'clickhouse'},
                             storage_clickhouse=options)
    return rk_storage.get_storage(conf)


@pytest.fixture(params=['single', 'cluster'])
def storage(request, tmp_path):
    yield from storage_on(request.param, tmp_path)


@pytest.fixture
def single_storage(tmp_path):
    yield from storage_on('single', tmp_path)


def storage_on(kind, tmp_path):
    if kind == 'single':
        ports, cluster = [clickhouse.server().tcp_port], None
    else:
        ports = [s.tcp_port for s in clickhouse.cluster()]
        cluster = clickhouse.CLUSTER
    name = clickhouse.database_name('rollups')
    storage = open_storage(tmp_path, ports[0], name, cluster)
    storage.reopen = lambda: open_storage(tmp_path, ports[0], name, cluster)
    yield storage
    storage.close()
    for port in ports:
        clickhouse.drop_database(port, name)


# The month rollup of the releases before the attribute sets
ARRAYS_MONTH_COLUMNS = '(type String, scope String, month Date, %s, %s)' % (
    ', '.join('%s Array(String)' % name
              for name in ch_storage.ATTRIBUTE_COLUMNS),
    ch_storage.SUM_COLUMNS)
ARRAYS_MONTH = {
    'key': 'type, scope, month, ' + ', '.join(ch_storage.ATTRIBUTE_COLUMNS),
    'key_sql': [('type', '{type}'), ('scope', '{scope}'),
                ('month', 'toStartOfMonth({begin})')]
    + [(name, '{%s}' % name) for name in ch_storage.ATTRIBUTE_COLUMNS],
}


def arrays_month_rollup(storage, on_points=False,
                        old=ch_storage.ARRAYS_BY_MONTH):
    """Make a month rollup keyed on the attribute arrays and its views,
    named ``old``, as the releases before the attribute sets did
    (``on_points``: as the ones before the ingest tables did, its view on
    the points table)."""
    targets = storage._targets()
    for client, suffix in targets:
        storage._execute('CREATE TABLE %s %s %s' % (
            storage._name(old + suffix), ARRAYS_MONTH_COLUMNS,
            ch_storage.ROLLUP_ENGINE.format('month', ARRAYS_MONTH['key'])),
            client=client)
    if storage.cluster:
        storage._execute(
            'CREATE TABLE %s %s ENGINE = Distributed(%%(cluster)s, '
            '%%(database)s, %%(local)s, rand())' % (
                storage._name(old), ARRAYS_MONTH_COLUMNS),
            {'cluster': storage.cluster, 'database': storage.database,
             'local': old + '_local'})
        views = [(client, old + suffix + '_view', old + suffix,
                  ch_storage.TABLE + suffix, storage._points_sql())
                 for client, suffix in targets]
    elif on_points:
        views = [(storage._client(), old + '_view', old, ch_storage.TABLE,
                  storage._points_sql())]
    else:
        views = [(storage._client(), '%s_from_%s' % (old, table), old, table,
                  ingest['sql'])
                 for table, ingest in ch_storage.INGESTS.items()]
    for client, view, target, source, sql in views:
        storage._execute(
            'CREATE MATERIALIZED VIEW %s TO %s AS SELECT %s, %s FROM %s '
            'GROUP BY %s' % (
                storage._name(view), storage._name(target),
                ch_storage.rollup_select(ARRAYS_MONTH, sql),
                ch_storage.ROLLUP_SUMS.format(''), storage._name(source),
                ARRAYS_MONTH['key']), client=client)


def drop_month_rollup(storage):
    """Drop the month rollup and its views."""
    names = [ch_storage.BY_MONTH]
    for client, suffix in storage._targets():
        views = [row[0] for row in storage._execute(
            "SELECT name FROM system.tables WHERE database = %(database)s "
            "AND engine = 'MaterializedView'",
            {'database': storage.database}, client=client)
            if row[0].startswith(tuple(names))]
        for table in views + [name + suffix for name in names]:
            storage._execute('DROP TABLE %s' % storage._name(table),
                             client=client)
    if storage.cluster:
        for name in names:
            storage._execute('DROP TABLE %s' % storage._name(name))


def tables(storage, client=None):
    return {row[0] for row in storage._execute(
        'SELECT name FROM system.tables WHERE database = %(database)s',
        {'database': storage.database}, client=client)}


def over_points(storage, read):
    """``read()`` while the rollups are marked as changing: it sums the
    points themselves."""
    pending = storage._pending_begin([])
    try:
        return read()
    finally:
        storage._pending_end(pending)


def rollup_rows(storage, name, source):
    rollup = ch_storage.ROLLUPS[name]
    sql = ('SELECT {key}, sum(qty), sum(price), sum(n) FROM ({source}) '
           'GROUP BY {key} HAVING sum(n) != 0 ORDER BY {key}')
    from_points = ('SELECT %s, %s FROM %s GROUP BY %s' % (
        ch_storage.rollup_select(rollup), ch_storage.ROLLUP_SUMS.format(''),
        storage.table, rollup['key']))
    from_rollup = 'SELECT * FROM %s' % storage._name(name)
    return storage._execute(sql.format(
        key=rollup['key'], source=from_rollup if source == 'rollup'
        else from_points))


def check_equal(storage):
    for name in ch_storage.ROLLUPS:
        rows = rollup_rows(storage, name, 'points')
        assert rows
        assert rollup_rows(storage, name, 'rollup') == rows
    reads = []
    for begin, end in windows():
        for index, groupby in enumerate(GROUPBYS):
            # unfiltered, and with each filter in turn (every filter meets
            # several groupings, each grouping one filter)
            for filters in (None, FILTERS[1 + index % (len(FILTERS) - 1)]):
                reads.append(lambda b=begin, e=end, g=groupby, f=filters:
                             storage.total(b, e, groupby=g, filters=f))
            reads.append(lambda b=begin, e=end, g=groupby: storage.total(
                b, e, groupby=g, offset=1, limit=3))
        for filters in FILTERS[:2]:
            for offset, limit in ((0, 7), (35, 50), (100, 1000)):
                reads.append(lambda b=begin, e=end, f=filters, o=offset,
                             n=limit: storage.retrieve(b, e, filters=f,
                                                       offset=o, limit=n))
    expected = over_points(storage, lambda: [read() for read in reads])
    assert [read() for read in reads] == expected


def test_rollups_equal_the_points_after_pushes_deletes_and_pushes(storage):
    rnd = random.Random(15)
    pushed = list(frames(rnd))
    for body in pushed:
        storage.push(dataframe.parse_dataframes(body))
    before = over_points(storage, lambda: storage.total(
        START, START + HOURS * testing.HOUR, groupby=['type']))
    check_equal(storage)
    # reprocessing: a scope's days deleted, then pushed again
    begin = START + 2 * 24 * testing.HOUR
    end = datetime.datetime(2026, 2, 20, tzinfo=UTC)
    storage.delete(begin, end, {'project_id': ['proj-1']})
    storage.delete(end, end + 24 * testing.HOUR)
    check_equal(storage)
    for body in pushed:
        again = only(body, begin, end)
        if again[0]['usage']:
            storage.push(dataframe.parse_dataframes(again))
    check_equal(storage)
    assert storage.total(START, START + HOURS * testing.HOUR,
                         groupby=['type']) == before


def only(body, begin, end):
    """The points of ``body`` that the deletes above removed."""
    [frame] = body
    moment = datetime.datetime.fromisoformat(frame['period']['begin'])
    usage = {}
    for metric, points in frame['usage'].items():
        for point in points:
            if ((begin <= moment < end
                 and point['groupby']['project_id'] == 'proj-1')
                    or end <= moment < end + 24 * testing.HOUR):
                usage.setdefault(metric, []).append(point)
    return [dict(frame, usage=usage)]


def test_a_change_cut_short_is_rebuilt(storage):
    for body in frames(random.Random(3), periods=10):
        storage.push(dataframe.parse_dataframes(body))
    expected = storage.total(START, START + HOURS * testing.HOUR,
                             groupby=['project_id', 'id'])
    # a delete that died after subtracting from the rollups, before the
    # points were deleted, long enough ago
    month = datetime.date(2026, 2, 1)
    stale = datetime.datetime.now(UTC).replace(microsecond=0) - \
        datetime.timedelta(seconds=ch_storage.STALE_PENDING_SECONDS + 60)
    storage._execute('INSERT INTO %s (id, state, created, months) VALUES'
                     % storage._name(ch_storage.PENDING),
                     [(1, 0, stale, [month])])
    for client, suffix in storage._targets():
        for name, rollup in ch_storage.ROLLUPS.items():
            storage._execute(
                'INSERT INTO %s SELECT %s, %s FROM %s WHERE '
                'toStartOfMonth(begin) = %%(month)s GROUP BY %s' % (
                    storage._name(name + suffix),
                    ch_storage.rollup_select(rollup),
                    ch_storage.ROLLUP_SUMS.format('-'),
                    storage._name(ch_storage.TABLE + suffix), rollup['key']),
                {'month': month}, client=client)
    # reads meanwhile sum the points
    assert storage.total(START, START + HOURS * testing.HOUR,
                         groupby=['project_id', 'id']) == expected
    other = storage.reopen()  # a process starting repairs it
    other.close()
    assert storage._rollups_ready()
    check_equal(storage)


def rollup_views(storage, client=None):
    return sorted(row[0] for row in storage._execute(
        "SELECT name FROM system.tables WHERE database = %(database)s AND "
        "engine = 'MaterializedView'", {'database': storage.database},
        client=client)
        if row[0].startswith(tuple(ch_storage.ROLLUPS)))


def test_a_database_made_before_the_rollups_is_backfilled(storage):
    for body in frames(random.Random(4), periods=10):
        storage.push(dataframe.parse_dataframes(body))
    for client, suffix in storage._targets():
        for table in rollup_views(storage, client) + [
                name + suffix for name in ch_storage.ROLLUPS]:
            storage._execute('DROP TABLE %s' % storage._name(table),
                             client=client)
    if storage.cluster:
        for name in ch_storage.ROLLUPS:
            storage._execute('DROP TABLE %s' % storage._name(name))
    other = storage.reopen()
    other.close()
    check_equal(storage)


def test_rollup_views_on_the_points_table_give_way_to_the_ingest_views(
        single_storage):
    """A server's database made before the ingest tables had its rollup
    views on the points table; ClickHouse after 18.16 runs them for the
    rows the ingest views insert there, which would count them twice.
    (A cluster's shards keep theirs on their local points.)"""
    storage = single_storage
    rnd = random.Random(5)
    for body in frames(rnd, periods=6):
        storage.push(dataframe.parse_dataframes(body))
    drop_month_rollup(storage)
    for view in rollup_views(storage):
        storage._execute('DROP TABLE %s' % storage._name(view))
    by_begin = ch_storage.ROLLUPS[ch_storage.BY_BEGIN]
    storage._execute('CREATE TABLE %s %s %s' % (
        storage._name(ch_storage.OLD_BY_BEGIN), by_begin['columns'],
        ch_storage.ROLLUP_ENGINE.format('begin', by_begin['key'])))
    storage._execute(
        'CREATE MATERIALIZED VIEW %s TO %s AS SELECT %s, %s FROM %s '
        'GROUP BY %s' % (
            storage._name(ch_storage.OLD_BY_BEGIN + '_view'),
            storage._name(ch_storage.OLD_BY_BEGIN),
            ch_storage.rollup_select(by_begin),
            ch_storage.ROLLUP_SUMS.format(''), storage.table,
            by_begin['key']))
    arrays_month_rollup(storage, on_points=True)
    other = storage.reopen()
    other.close()
    assert not tables(storage) & {ch_storage.ARRAYS_BY_MONTH,
                                  ch_storage.OLD_BY_BEGIN}
    assert rollup_views(storage) == sorted(
        '%s_from_%s' % (name, table) for name in ch_storage.ROLLUPS
        for table in ch_storage.INGESTS)
    for body in frames(rnd, periods=6):
        storage.push(dataframe.parse_dataframes(body))
    check_equal(storage)


@pytest.mark.parametrize('retired', ch_storage.RETIRED)
def test_the_rollups_of_earlier_releases_give_way(storage, retired):
    """A database of an earlier release: its rollups (per period, and per
    month keyed on the attribute arrays, on their hashes next to the
    sets, or on the texts) and their views are dropped, and the rollups
    are summed from the points, those pushed since included."""
    rnd = random.Random(6)
    for body in frames(rnd, periods=6):
        storage.push(dataframe.parse_dataframes(body))
    drop_month_rollup(storage)
    arrays_month_rollup(storage, old=retired)
    for body in frames(rnd, periods=6):
        storage.push(dataframe.parse_dataframes(body))
    other = storage.reopen()
    other.close()
    for client, _ in storage._targets():
        assert not [name for name in tables(storage, client)
                    if name.startswith(retired)]
    check_equal(storage)


def test_a_months_rollup_row_per_resource(storage):
    """Each push of a month brings the same resources again: the month
    rollup sums them into one row each (its key, the attribute texts),
    and a month read grouped by an attribute other than the scope
    equals the points."""
    now = datetime.datetime.now(UTC).replace(minute=0, second=0,
                                             microsecond=0)
    begin = now.replace(day=1, hour=0)
    for hour in range(5):
        usage = {'instance': [
            testing.point(1, 0.5, 'proj-%d' % (i % 2), 'r%d' % i)
            for i in range(6)]}
        storage.push(dataframe.parse_dataframes(
            [testing.frame(begin + hour * testing.HOUR, usage)]))
    assert sorted(storage._execute(
        'SELECT any(groupby_values[indexOf(groupby_keys, %(id)s)]), sum(n) '
        'FROM {0} GROUP BY type, scope, month, {1}'.format(
            storage._name(ch_storage.BY_MONTH),
            ', '.join(ch_storage.TEXT_COLUMNS)), {'id': 'id'})) == [
        ('r%d' % i, 5) for i in range(6)]
    assert storage.total(begin, begin + 5 * testing.HOUR,
                         groupby=['id']) == over_points(
        storage, lambda: storage.total(begin, begin + 5 * testing.HOUR,
                                       groupby=['id']))


def test_attribute_texts_holding_the_separator_are_stored_as_sent(storage):
    """Keys and values are sent joined by a separator the server splits
    at, and stored so; a push whose texts hold it or the escape character
    of the stored texts (or that are not all text) goes as arrays, stored
    escaped, and every push reads back as it was sent."""
    separator, escape = ch_storage.ATTRIBUTE_SEPARATOR, ch_storage.ESCAPE
    weird = {'project_id': 'p' + separator + 'q', 'id': '',
             'k' + separator: 'v', 'user_id': separator}
    escapes = {'project_id': escape + '0', 'id': escape + '1' + escape,
               escape + '2': escape * 2 + separator, 'k': '0'}
    sent = [({'project_id': 'p1', 'id': 'a'}, {'flavor': 'x'}),
            ({'project_id': 'p1', 'id': 'b'}, {}),
            ({'project_id': 'p1', 'id': ''}, {'flavor': ''}),
            (weird, {'m': separator * 2}),
            ({'project_id': 'p2', 'id': 'n'}, {'size': 3, 'gone': None}),
            (escapes, {'m': ''}),
            ({'project_id': 'p3', 'id': '%s0%s1' % ('\\x1e', '\\')},
             {'n': escape})]
    begin = START
    for groupby, metadata in sent:
        point = testing.point(2, 0.5, 'p0', 'r0')
        point['groupby'], point['metadata'] = groupby, metadata
        storage.push(dataframe.parse_dataframes(
            [testing.frame(begin, {'instance': [point]})]))
        begin += testing.HOUR
    stored = [(p['groupby'], p['metadata']) for frame in storage.retrieve(
        START, begin, limit=100)['dataframes']
        for p in frame['usage']['instance']]
    expected = [(g, {k: ('%s' % v) for k, v in m.items() if v is not None})
                for g, m in sent]
    assert stored == expected
    check_equal(storage)
    kinds = {name: kind for name, kind in storage._execute(
        'SELECT name, default_kind FROM system.columns WHERE database = '
        "%(database)s AND table = 'rated_points'",
        {'database': storage.database})}
    assert [kinds[name] for name in ch_storage.ATTRIBUTE_COLUMNS] == [
        'ALIAS'] * 4
    assert [kinds[name + '_text'] for name in ch_storage.ATTRIBUTE_COLUMNS
            ] == [''] * 4


def test_sums_are_the_decimal_sums_of_the_values_pushed(storage):
    """Each value is rounded to the nearest 1e-12 before it is summed, as
    DuckDB rounds it: toDecimal128(x, 12) truncated a double just below
    its decimal (8.4743 read 8.474299999999, and sums such as 168.9191
    read 168.919099999998)."""
    qtys = [478.885, 653.838, 0.1, 0.2, 37.2921]
    prices = [8.4743, 8.3577, 4.2212, 4.1431, 4.3896]
    usage = {'instance': [testing.point(qty, price, 'proj-1', 'r%d' % i)
                          for i, (qty, price) in enumerate(zip(qtys,
                                                               prices))]}
    storage.push(dataframe.parse_dataframes([testing.frame(START, usage)]))
    window = (START, START + testing.HOUR)
    total = {'qty': float(sum(decimal.Decimal(repr(q)) for q in qtys)),
             'rate': float(sum(decimal.Decimal(repr(p)) for p in prices))}

    def over_the_points(**kwargs):
        return over_points(storage, lambda: storage.total(*window, **kwargs))

    for read in (functools.partial(storage.total, *window), over_the_points):
        [result] = read()['results']
        assert {k: result[k] for k in total} == total
        by_id = read(groupby=['project_id', 'id'])['results']
        assert [(r['qty'], r['rate']) for r in by_id] == list(
            zip(qtys, prices))
