"""Per-day rollups of an InfluxDB ``dataframes`` measurement, kept in
the API process and checked against a cheap change marker on every read.

InfluxDB 1.x sums a month of points in about as long as CloudKitty's own
summary takes, so summing on the server again cannot be much faster.
Instead each worker keeps, per UTC day, the exact sums of every series
(tag set) and of every (period, type), read once from the raw points.
A summary grouped and filtered on tags then adds a few thousand day
cells in Python instead of a million points in InfluxDB; the layout
CloudKitty reads is not touched (nothing is written for the rollups).

Freshness: InfluxDB counts, per shard, the write requests and points it
accepted (``SHOW STATS FOR 'shard'``; reset when influxd restarts, so
its start time is part of the marker). A day's rollup records the
counters of the shards its day overlaps; any write to one of them, by
ratekeeper or by another writer (a CloudKitty filling the same
database), changes them, and the day is read again before it answers.
InfluxDB counts no deletes, so ratekeeper's own deletes write one point
(measurement ``rk_changes``, which CloudKitty never reads) into every
shard they touch. A delete by another writer is seen with its next write
to that shard (CloudKitty's reprocessing deletes then writes the period
again). Where ``SHOW STATS`` is refused (a user without admin rights),
there is no rollup and every read goes to InfluxDB.

Sums are exact: each value counts as its shortest decimal form quantized
to 1e-12 (as the backend's Python sums), added as integers of 1e-12.
"""
import datetime
import decimal
import threading

DAY_US = 86400 * 10 ** 6
UNITS = decimal.Decimal(10) ** 12
CENT = decimal.Decimal('1e-12')
MARK_MEASUREMENT = 'rk_changes'
MAX_VIEWS = 64
# a longer window reads InfluxDB (a day rollup each for centuries of
# empty days would cost more than it saves)
MAX_WINDOW = datetime.timedelta(days=800)


def units(value, memo={}):
    """``value`` in integer units of 1e-12 (0 when missing)."""
    if value is None:
        return 0
    found = memo.get(value)
    if found is None:
        if len(memo) > 200000:
            memo.clear()
        found = memo[value] = int(
            (decimal.Decimal(repr(float(value))).quantize(CENT) * UNITS)
            .to_integral_value())
    return found


def to_float(amount):
    return float(decimal.Decimal(amount) / UNITS)


class Day:
    """One UTC day of points: per series (tags) and per (time, type,
    scope) the sums of qty and price (1e-12 units) and the number of
    points (the scope: the series' ``[collect] scope_key`` tag, or '')."""
    __slots__ = ('key', 'series', 'times', 'first', 'last', 'views')

    def __init__(self, key):
        self.key = key
        self.series = []   # [tags, qty, price, points]
        self.times = {}    # (time us, type, scope) -> [qty, price, n]
        self.first = self.last = None
        self.views = {}

    def view(self, groupby, filters, metric_types):
        """Sums per group of the ``groupby`` tags over the series that
        pass ``filters`` (tag -> values) and ``metric_types``."""
        name = (groupby, filters, metric_types)
        found = self.views.get(name)
        if found is not None:
            return found
        sums = {}
        for tags, qty, price, points in self.series:
            if metric_types and tags.get('type') not in metric_types:
                continue
            if any(tags.get(k, '') not in values for k, values in filters):
                continue
            group = tuple(tags.get(k) or '' for k in groupby)
            cell = sums.get(group)
            if cell is None:
                sums[group] = [qty, price, points]
            else:
                cell[0] += qty
                cell[1] += price
                cell[2] += points
        if len(self.views) >= MAX_VIEWS:
            self.views.clear()
        self.views[name] = sums
        return sums


class Rollups:
    """The day rollups of one storage (one process), with the shard
    marker they were read at."""

    def __init__(self, storage):
        self.storage = storage
        self.days = {}
        self.shards = {}      # shard id -> (start us, end us)
        self.lock = threading.Lock()
        self.available = True

    # -- change marker ----------------------------------------------------
    def marker(self):
        """(influxd start, {shard id: (write requests, points)}) of the
        database, or None when InfluxDB does not tell."""
        if not self.available:
            return None
        from ratekeeper.storage import v2 as storage_v2
        try:
            results = self.storage._call(
                'query', "SHOW STATS FOR 'shard'; "
                "SHOW DIAGNOSTICS FOR 'system'")
        except storage_v2.StorageError as exc:
            if 'out of reach' in str(exc):
                raise
            self.available = False  # not an admin: no rollups
            return None
        stats, system = results
        database = self.storage.options.database
        counters = {}
        for series in stats.raw.get('series', []):
            tags = series.get('tags') or {}
            if tags.get('database') != database:
                continue
            row = dict(zip(series['columns'], series['values'][0]))
            counters[int(tags['id'])] = (row.get('writeReqOk'),
                                         row.get('writePointsOk'))
        started = None
        for series in system.raw.get('series', []):
            row = dict(zip(series['columns'], series['values'][0]))
            started = row.get('started')
        return started, counters

    def shard_ranges(self, ids):
        """Start and end (us) of each shard in ``ids``."""
        if all(i in self.shards for i in ids):
            return self.shards
        result = self.storage._call('query', 'SHOW SHARDS', epoch='u')
        database = self.storage.options.database
        for series in result.raw.get('series', []):
            if series.get('name') != database:
                continue
            columns = series['columns']
            for values in series['values']:
                row = dict(zip(columns, values))
                self.shards[int(row['id'])] = (
                    _micros(row['start_time']), _micros(row['end_time']))
        return self.shards

    def day_keys(self, first_day, last_day, marker):
        started, counters = marker
        ranges = self.shard_ranges(list(counters))
        keys = {}
        for day in range(first_day, last_day + 1):
            start, stop = day * DAY_US, (day + 1) * DAY_US
            keys[day] = (started,) + tuple(sorted(
                (i, counters[i]) for i, (s, e) in ranges.items()
                if i in counters and s < stop and e > start))
        return keys

    # -- reads ------------------------------------------------------------
    def covering(self, begin_us, end_us, marker):
        """The days of [begin_us, end_us), fresh, each entirely inside
        the window (its first and last point); None when a day is only
        partly inside."""
        days = self.fresh_days(begin_us, end_us, marker)
        for day in days:
            if day.first is not None and (day.first < begin_us
                                          or day.last >= end_us):
                return None
        return days

    def fresh_days(self, begin_us, end_us, marker):
        """The rollups of the days of [begin_us, end_us), read again
        where ``marker`` says a shard under them changed."""
        first_day, last_day = begin_us // DAY_US, (end_us - 1) // DAY_US
        keys = self.day_keys(first_day, last_day, marker)
        with self.lock:
            stale = [d for d in range(first_day, last_day + 1)
                     if d not in self.days or self.days[d].key != keys[d]]
            if stale:
                self._read(stale, keys)
            return [self.days[d] for d in range(first_day, last_day + 1)]

    def _read(self, days, keys):
        """Read the raw points of ``days`` into rollups."""
        built = {day: Day(keys[day]) for day in days}
        for day in days:  # one day a query: the answer stays small
            if len(keys[day]) > 1:  # some shard holds the day
                self._read_points(day * DAY_US, (day + 1) * DAY_US, built)
        for day in built.values():
            day.first = min((key[0] for key in day.times), default=None)
            day.last = max((key[0] for key in day.times), default=None)
        self.days.update(built)

    def _read_points(self, start, stop, built):
        from ratekeeper.storage.v2 import influx
        scope_key = self.storage.scope_key
        result = self.storage._call(
            'query', 'SELECT qty, price FROM %s WHERE time >= %d AND '
            'time < %d GROUP BY *' % (influx.MEASUREMENT, start * 1000,
                                      stop * 1000),
            epoch='u')
        for series in result.raw.get('series', []):
            tags = {k: v for k, v in (series.get('tags') or {}).items()
                    if v != ''}
            kind = tags.get('type')
            scope = tags.get(scope_key, '')
            columns = series['columns']
            at_time = columns.index('time')
            at_qty, at_price = columns.index('qty'), columns.index('price')
            cells = {}
            for values in series['values']:
                moment = values[at_time]
                qty, price = units(values[at_qty]), units(values[at_price])
                day = built[moment // DAY_US]
                cell = cells.get(day)
                if cell is None:
                    cell = cells[day] = [tags, 0, 0, 0]
                    day.series.append(cell)
                cell[1] += qty
                cell[2] += price
                cell[3] += 1
                bucket = day.times.get((moment, kind, scope))
                if bucket is None:
                    day.times[(moment, kind, scope)] = [qty, price, 1]
                else:
                    bucket[0] += qty
                    bucket[1] += price
                    bucket[2] += 1


def _micros(value):
    if isinstance(value, int):
        return value
    from ratekeeper.storage.v2 import influx
    moment = influx.parse_time(value)
    return (moment - influx.EPOCH) // influx.datetime.timedelta(
        microseconds=1)
