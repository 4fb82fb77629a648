"""Query pieces shared by the SQL-speaking v2 backends (DuckDB,
ClickHouse): the WHERE clause of a read or delete, built from the
interface's begin/end/filters/metric_types with every value a parameter
and every attribute through the backend's own expression.

A backend passes a parameter collector of its driver's style and a
function that gives the SQL of an attribute key, so attribute keys and
values never reach the query text unquoted.
"""
import datetime


class QmarkParams(list):
    """Positional ``?`` parameters (DuckDB, sqlite3)."""

    def add(self, value):
        self.append(value)
        return '?'


class NamedParams(dict):
    """``%(name)s`` parameters (clickhouse-driver, psycopg2)."""

    def add(self, value):
        name = 'p%d' % len(self)
        self[name] = value
        return '%%(%s)s' % name


def in_list(expression, values, params):
    return '%s IN (%s)' % (expression,
                           ', '.join(params.add(v) for v in values))


def where(begin, end, filters, metric_types, attribute, params,
          moment=None):
    """SQL of ``begin <= point begin < end`` AND type in ``metric_types``
    AND each filter (values of a key OR-ed, keys AND-ed; values compared
    as text). ``attribute(key)`` is the SQL of an attribute; ``moment(dt,
    params)`` the SQL of a bound datetime (default: the datetime as a
    parameter)."""
    moment = moment or (lambda dt, p: p.add(dt))
    clauses = ['1 = 1']
    if begin is not None:
        clauses.append('begin >= ' + moment(begin, params))
    if end is not None:
        clauses.append('begin < ' + moment(end, params))
    if metric_types:
        clauses.append(in_list('type', metric_types, params))
    for key, values in (filters or {}).items():
        clauses.append(in_list(attribute(key), [str(v) for v in values],
                               params))
    return ' AND '.join(clauses)


def aware(moment):
    """A datetime read from a backend as aware UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def grand_total(begin, end, qty, rate, count, offset):
    """total()'s answer without groupby, from the sums of ``count``
    points."""
    if not count:
        return {'total': 0, 'results': []}
    results = [] if offset else [
        {'begin': begin, 'end': end, 'qty': qty, 'rate': rate}]
    return {'total': 1, 'results': results}


def grouped_total(rows, groupby, count, begin, end, period):
    """total()'s answer from rows of (group values in ``groupby`` order,
    qty, rate): a ``time`` value (a period start) becomes the row's
    begin and end."""
    keys = [k for k in groupby if k != 'time']
    time_index = groupby.index('time') if 'time' in groupby else None
    results = []
    for row in rows:
        values = list(row[:-2])
        row_begin, row_end = begin, end
        if time_index is not None:
            row_begin = aware(values.pop(time_index))
            row_end = row_begin + datetime.timedelta(seconds=period)
        result = {'begin': row_begin, 'end': row_end, 'qty': row[-2],
                  'rate': row[-1]}
        result.update(zip(keys, values))
        results.append(result)
    return {'total': count, 'results': results}
