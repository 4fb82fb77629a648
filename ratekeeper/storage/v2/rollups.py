"""Aggregate tables (rollups) of the DuckDB backend.

A summary over a whole month scans every point (10M points: 0.1-0.6 s).
Three tables of sums answer most summaries from far fewer rows:

- ``rollup_period``: per point begin (a collect period), type and scope
  key (``[collect] scope_key``): answers totals, groupby type, scope and
  time, filters on type and scope, over any window (the generator's 10M
  points: ~29k rows);
- ``rollup_day`` and ``rollup_month``: per UTC day (month), type and
  every groupby key: answer any groupby or filter on groupby keys (not
  time) over the whole days (months) of the window, the points of the
  rest read from the points table.

All three hold the points that begin before their watermark
(``rollup_state``), the start of the newest point's day; the points after
it (today's) are read from the points table in the same query. The insert
that brings a point of a later day sums the days it passed, so that other
inserts write the points only (summing each batch, or moving the
watermark to the newest period at each insert, cost 1.25-3x the insert:
the commits of thousands of groups and the merges of their rows).

Each row holds the count of points and the exact sums (DECIMAL(38, 12),
the sum the points table gives: values rounded to 12 decimals, added
exactly), so a sum of rollup rows equals the sum of their points to the
last digit. The tables change in the transaction that changes the points:
that insert appends the sums of the days passed, a late point (before the
watermark) its sums, a delete the negated sums of the points it removes
before the watermark. Rows of one group thus pile up; compact_sql() merges
the rows of a range of buckets into one per group, dropping groups whose
points are all gone (count 0). Readers sum the rows of each group anyway
and keep the groups whose count is above 0.
"""
import datetime

PERIOD = 'rollup_period'
DAY = 'rollup_day'
MONTH = 'rollup_month'
ALL_KEYS = (DAY, MONTH)  # the rollups of every groupby key
SUMMED = (PERIOD, DAY, MONTH)  # all, filled up to the watermark together
UNITS = {PERIOD: 'day', DAY: 'day', MONTH: 'month'}
STATE = 'rollup_state'
WATERMARK = f'(SELECT watermark FROM {STATE})'
# the watermark of a rollup_day that holds no day yet
NO_DAY = datetime.datetime(1, 1, 1)
DECIMAL = 'DECIMAL(38, 12)'
# Appended rows that trigger a compaction of the buckets touched since the
# last one.
COMPACT_ROWS = 100000
DAY_SPAN = datetime.timedelta(days=1)


def quote(name):
    return '"%s"' % name.replace('"', '""')


def create_sql(name, columns):
    attributes = ''.join(', %s VARCHAR' % quote(c) for c in columns)
    return (f'CREATE TABLE {name} (begin TIMESTAMP NOT NULL, '
            f'type VARCHAR NOT NULL, n BIGINT NOT NULL, '
            f'qty {DECIMAL} NOT NULL, price {DECIMAL} NOT NULL'
            f'{attributes})')


def day_start(moment):
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def floor(moment, unit):
    """The start of the day or month of ``moment``."""
    start = day_start(moment)
    return start.replace(day=1) if unit == 'month' else start


def ceil(moment, unit):
    """The first start of a day or month at or after ``moment``."""
    start = floor(moment, unit)
    if start == moment:
        return start
    if unit == 'day':
        return start + DAY_SPAN
    return (start + 32 * DAY_SPAN).replace(day=1)


def bucket_sql(name):
    """The bucket of a point (its begin column) in rollup ``name``."""
    if name == PERIOD:
        return 'begin'
    return "date_trunc('%s', begin)" % UNITS[name]


def aggregate_sql(name, columns, source, source_columns, where='1 = 1',
                  sign=''):
    """INSERT of the sums of ``source``'s rows matching ``where`` into
    rollup ``name`` (negated with sign '-'); a rollup column the source
    lacks reads NULL."""
    present = set(source_columns)
    values = ''.join(
        ', ' + (quote(c) if c in present else 'CAST(NULL AS VARCHAR)')
        for c in columns)
    keys = ''.join(', ' + str(i + 3) for i in range(len(columns)))
    return (f'INSERT INTO {name} (begin, type, '
            f'{"".join(quote(c) + ", " for c in columns)}n, qty, price) '
            f'SELECT {bucket_sql(name)}, type{values}, {sign}COUNT(*), '
            f'{sign}SUM(CAST(qty AS {DECIMAL})), '
            f'{sign}SUM(CAST(price AS {DECIMAL})) '
            f'FROM {source} WHERE {where} GROUP BY 1, 2{keys}')


def compact_sql(name, columns, low, high):
    """Statements merging the rows of the buckets of rollup ``name`` from
    the one holding ``low`` to ``high`` (naive UTC datetimes, None:
    unbounded) into one row per group, groups without points dropped;
    their ``?`` parameters."""
    clauses, params = ['1 = 1'], []
    if low is not None:
        clauses.append("begin >= date_trunc('%s', CAST(? AS TIMESTAMP))"
                       % UNITS[name])
        params.append(low)
    if high is not None:
        clauses.append('begin <= ?')
        params.append(high)
    where = ' AND '.join(clauses)
    group = ', '.join(['begin', 'type'] + [quote(c) for c in columns])
    return [
        (f'CREATE TEMP TABLE rollup_merged AS SELECT {group}, '
         f'CAST(SUM(n) AS BIGINT) AS n, CAST(SUM(qty) AS {DECIMAL}) AS qty, '
         f'CAST(SUM(price) AS {DECIMAL}) AS price FROM {name} '
         f'WHERE {where} GROUP BY ALL HAVING SUM(n) <> 0', params),
        (f'DELETE FROM {name} WHERE {where}', params),
        (f'INSERT INTO {name} ({group}, n, qty, price) '
         f'SELECT {group}, n, qty, price FROM rollup_merged', []),
        ('DROP TABLE rollup_merged', []),
    ]


def covered(name, begin, end, watermark):
    """The part [first, last) of [begin, end) (None: unbounded) rollup
    ``name`` holds whole, its rows being the buckets that start in it:
    whole buckets within the window, and the one holding ``watermark``
    (its points so far) when the window reaches it. None if none."""
    unit = UNITS[name]
    try:
        first = None if begin is None else ceil(begin, unit)
    except OverflowError:  # after the last month of year 9999
        return None
    if end is None or end >= watermark:
        last = watermark
    else:
        last = floor(end, unit)
    if first is not None and first >= last:
        return None
    return first, last
