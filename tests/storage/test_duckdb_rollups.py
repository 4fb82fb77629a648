"""DuckDB's rollups answer summaries with exactly the sums of the points:
after pushes, deletes (reprocessing), restarts, a crash, compactions, and
on a database written before the rollups existed."""
import datetime
import itertools

import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import rollups

UTC = datetime.timezone.utc
HOUR = testing.HOUR
# 05:00, so that windows have partial days at both ends
START = datetime.datetime(2024, 2, 27, 5, tzinfo=UTC)
HOURS = 80
PROJECTS = ['p-a', 'p-b', 'p-c']
PRICES = [0.005, 0.1, 0.2, 0.3, 1e-7]


def frames(hours, start=START, first=0):
    """Per hour and project: instances with awkward prices (0.1 + 0.2),
    a volume without user, an image with a metadata key that is also a
    groupby key elsewhere."""
    out = []
    for hour in range(first, first + hours):
        usage = {'instance': [], 'volume': [], 'image': []}
        for i, project in enumerate(PROJECTS):
            for j in range(3):
                usage['instance'].append({
                    'vol': {'unit': 'instance', 'qty': 1},
                    'rating': {'price': PRICES[(hour + i + j) % 5]},
                    'groupby': {'project_id': project,
                                'user_id': 'u%d' % (j % 2),
                                'id': '%s-vm%d' % (project, j)},
                    'metadata': {'flavor_name': 'm1.s%d' % j}})
            usage['volume'].append({
                'vol': {'unit': 'GiB', 'qty': 0.1 * (i + 1)},
                'rating': {'price': 0.0005 * (hour % 7)},
                'groupby': {'project_id': project, 'id': project + '-vol'},
                'metadata': {'volume_type': 'ssd'}})
            if hour % 3 == 0:
                usage['image'].append({
                    'vol': {'unit': 'MiB', 'qty': 4},
                    'rating': {'price': 0.00001},
                    'groupby': {'project_id': project, 'id': project + '-img',
                                'user_id': 'u1'},
                    'metadata': {'disk_format': 'raw'}})
        out.append(testing.frame(start + hour * HOUR, usage))
    return out


WINDOWS = [
    (START, START + HOURS * HOUR),            # partial days at both ends
    (START - 5 * HOUR, START + HOURS * HOUR),  # whole days, then up to now
    (datetime.datetime(2024, 3, 1, tzinfo=UTC), START + 70 * HOUR),
    (START - 5 * HOUR, START + 67 * HOUR),    # whole days then a part
    (START + 19 * HOUR, START + 43 * HOUR),   # exactly one day
    (START + 20 * HOUR, START + 30 * HOUR),   # within one day
    (None, None),
    (START + 10 * HOUR, None),
    (None, START + 50 * HOUR),
]
SUMMARIES = [
    ([], None, None),
    (['type'], None, None),
    (['project_id'], None, None),
    (['type', 'project_id'], None, None),
    (['project_id', 'user_id', 'id'], None, None),
    (['user_id'], {'project_id': ['p-b']}, None),
    (['time', 'type'], None, None),
    (['time'], {'project_id': ['p-a', 'p-c']}, ['instance']),
    (['project_id'], None, ['instance', 'image']),
    ([], {'project_id': ['p-a']}, None),
    (['id'], {'user_id': ['u1']}, ['instance']),
    # not covered: metadata and calendar keys, time with other keys
    (['flavor_name'], None, None),
    (['month', 'type'], None, None),
    (['time', 'user_id'], None, None),
]
PAGES = [(0, None), (2, 3)]


def open_storage(path, **options):
    conf = testing.make_conf(str(path), storage={'version': 2},
                             storage_duckdb=options)
    return rk_storage.get_storage(conf)


def push(storage, hours, first=0):
    for hour in range(first, first + hours, 7):
        storage.push(dataframe.parse_dataframes(
            frames(min(7, first + hours - hour), first=hour)))


def raw_and_rollup(storage, window, groupby, filters, types, page):
    answers = []
    for use_rollups in (False, True):
        storage.use_rollups = use_rollups
        answers.append(storage.total(
            *window, groupby=groupby, filters=filters, metric_types=types,
            offset=page[0], limit=page[1]))
    storage.use_rollups = True
    return answers


def check_same_totals(storage):
    """Every summary equal from the points and from the rollups (which
    answer most of them, and all of the benchmark's)."""
    covered = 0
    for window, (groupby, filters, types), page in itertools.product(
            WINDOWS, SUMMARIES, PAGES):
        raw, rolled = raw_and_rollup(storage, window, groupby, filters,
                                     types, page)
        assert rolled == raw, (window, groupby, filters, types, page)
        if storage._rollup_parts(*window, groupby, filters):
            covered += 1
    assert covered >= len(WINDOWS) * 10
    check_rollup_counts(storage)


def check_rollup_counts(storage):
    """Each rollup counts every point it covers (rollup_day: those before
    its watermark), and sums what they sum."""
    for name, where in [(name, 'begin < ' + rollups.WATERMARK)
                        for name in rollups.SUMMED]:
        points = storage._db.execute(
            'SELECT COUNT(*), SUM(CAST(qty AS DECIMAL(38, 12))), '
            'SUM(CAST(price AS DECIMAL(38, 12))) FROM rated_points '
            'WHERE ' + where).fetchall()
        sums = storage._db.execute(
            f'SELECT SUM(n), SUM(qty), SUM(price) FROM {name}').fetchall()
        if points[0][0]:
            assert sums == points
        else:
            assert sums[0][0] in (0, None)


@pytest.fixture
def storage(tmp_path):
    storage = open_storage(tmp_path)
    yield storage
    storage.close()


def test_the_benchmark_summaries_are_answered_by_the_rollups(storage):
    push(storage, HOURS)
    storage._flush()
    window = (START, START + HOURS * HOUR)
    for groupby, filters in [([], None), (['type'], None),
                             (['project_id'], None),
                             (['type', 'project_id'], None),
                             (['project_id', 'user_id', 'id'], None),
                             (['time', 'type'], None),
                             ([], {'project_id': ['p-a']})]:
        parts = storage._rollup_parts(*window, groupby, filters)
        assert parts and parts[0][0] in (rollups.PERIOD, rollups.DAY)
    assert storage._rollup_parts(*window, ['flavor_name'], None) is None
    # a month so far by resource (watermark: today): a month of groups,
    # today's points
    today = datetime.datetime(2024, 2, 29, tzinfo=UTC)
    now = today + 13 * HOUR
    month = datetime.datetime(2024, 2, 1, tzinfo=UTC)
    assert storage._plan_all_keys(month, now, today) == [
        (rollups.MONTH, month, today), ('rated_points', today, now)]
    # days when the window starts within a month
    assert storage._plan_all_keys(START, now, today) == [
        (rollups.DAY, START + 19 * HOUR, today),
        ('rated_points', START, START + 19 * HOUR),
        ('rated_points', today, now)]
    # before the watermark: whole buckets only
    assert storage._plan_all_keys(month, today - 5 * HOUR, today) == [
        (rollups.DAY, month, today - 24 * HOUR),
        ('rated_points', today - 24 * HOUR, today - 5 * HOUR)]


def test_rollup_totals_equal_the_points_after_pushes(storage):
    push(storage, HOURS)
    check_same_totals(storage)
    # the days before the newest point's are summed in rollup_day and
    # rollup_month
    watermark = storage._db.execute(
        f'SELECT watermark FROM {rollups.STATE}').fetchall()[0][0]
    newest = START + (HOURS - 1) * HOUR
    assert watermark == rollups.day_start(newest).replace(tzinfo=None)
    result = storage.total(None, None)['results'][0]
    raw = storage._db.execute(
        'SELECT CAST(SUM(CAST(price AS DECIMAL(38, 12))) AS DOUBLE) '
        'FROM rated_points').fetchall()[0][0]
    assert result['rate'] == raw


def test_rollup_totals_equal_the_points_after_deletes(storage):
    push(storage, HOURS)
    # reprocessing one project over part of two days, then putting back
    # different points
    begin, end = START + 15 * HOUR, START + 40 * HOUR
    storage.delete(begin, end, {'project_id': ['p-b']})
    check_same_totals(storage)
    storage.delete(START + 50 * HOUR, START + 53 * HOUR)
    storage.delete(filters={'id': ['p-a-vm1']})
    check_same_totals(storage)
    push(storage, 10, first=16)  # p-b's points back, and more of the rest
    check_same_totals(storage)
    # a group whose points are all gone has no row
    storage.delete(filters={'project_id': ['p-c']})
    rows = storage.total(None, None, groupby=['project_id'])['results']
    assert [r['project_id'] for r in rows] == ['p-a', 'p-b']
    check_same_totals(storage)
    storage.delete()
    assert storage.total(None, None) == {'total': 0, 'results': []}
    check_same_totals(storage)


def test_rollup_totals_survive_a_restart_and_a_crash(tmp_path):
    storage = open_storage(tmp_path)
    push(storage, 40)
    storage.delete(START + 3 * HOUR, START + 9 * HOUR,
                   {'project_id': ['p-a']})
    storage.close()
    storage = open_storage(tmp_path)
    check_same_totals(storage)
    stored = storage.retrieve(None, None)['total']
    push(storage, 40, first=40)  # staged, not inserted yet
    storage._log.close()  # a crash: only the log has them
    storage._db.close()
    storage._db = None
    storage = open_storage(tmp_path)
    try:
        check_same_totals(storage)
        assert storage.retrieve(None, None)['total'] == stored + sum(
            len(points) for frame in frames(40, first=40)
            for points in frame['usage'].values())
    finally:
        storage.close()


def test_compaction_merges_rows_and_keeps_totals(tmp_path, monkeypatch):
    monkeypatch.setattr(rollups, 'COMPACT_ROWS', 50)
    storage = open_storage(tmp_path, write_batch_points=0)
    try:
        push(storage, HOURS)
        storage.delete(START + 30 * HOUR, START + 35 * HOUR,
                       {'user_id': ['u0']})
        check_same_totals(storage)
        rows = storage._db.execute(
            f'SELECT COUNT(*), COUNT(DISTINCT (begin, type, "g:project_id"))'
            f' FROM {rollups.PERIOD}').fetchall()[0]
        assert rows[0] < 1.2 * rows[1]  # merged, nearly one row per group
    finally:
        storage.close()


def test_a_database_without_rollups_gets_them_at_start(tmp_path):
    storage = open_storage(tmp_path)
    push(storage, HOURS)
    storage.delete(START, START + 5 * HOUR, {'project_id': ['p-a']})
    storage._flush()
    # as written by a version without rollups
    storage._db.execute(f'DROP TABLE {rollups.PERIOD}')
    storage._db.execute(f'DROP TABLE {rollups.DAY}')
    storage.close()
    storage = open_storage(tmp_path)
    try:
        check_same_totals(storage)
    finally:
        storage.close()


def test_rollups_are_rebuilt_for_another_scope_key(tmp_path):
    storage = open_storage(tmp_path)
    push(storage, 30)
    storage.close()
    conf = testing.make_conf(str(tmp_path), storage={'version': 2},
                             collect={'scope_key': 'user_id'})
    storage = rk_storage.get_storage(conf)
    try:
        assert storage._rollup_parts(None, None, ['time', 'user_id'], None)
        check_same_totals(storage)
    finally:
        storage.close()


def test_a_new_groupby_key_reaches_the_day_rollup(storage):
    push(storage, 30)
    storage.push(dataframe.parse_dataframes([testing.frame(
        START + 31 * HOUR, {'instance': [{
            'vol': {'unit': 'u', 'qty': 2}, 'rating': {'price': 0.3},
            'groupby': {'project_id': 'p-a', 'zone': 'z1'},
            'metadata': {}}]})]))
    rows = storage.total(None, None, groupby=['zone'])['results']
    assert [(r['zone'], r['qty']) for r in rows] == [
        ('', rows[0]['qty']), ('z1', 2)]
    assert storage._rollup_parts(None, None, ['zone'], None)
    check_same_totals(storage)
