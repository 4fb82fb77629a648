"""Query pieces shared by the SQL-speaking v2 backends (DuckDB,
ClickHouse): the WHERE clause of a read or delete, built from the
interface's begin/end/filters/metric_types with every value a parameter
and every attribute through the backend's own expression.

A backend passes a parameter collector of its driver's style and a
function that gives the SQL of an attribute key, so attribute keys and
values never reach the query text unquoted.
"""


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
