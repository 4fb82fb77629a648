"""The v1 storage: rated points in the SQL database (SQLite, PostgreSQL,
MariaDB) through SQLAlchemy 2.

Schema (models.py), and why:

- ``rk_v1_periods``: each collect period once, with ``begin_epoch`` (an
  integer, so range filters and ``time`` buckets are the same SQL on every
  database) and the calendar keys computed in Python when the period is
  first stored (no dialect date functions at read time).
- ``rk_v1_points``: one row per point, indexed by period (which also
  yields a period's points in insertion order, so ordered reads need no
  sort). ``type`` and ``scope_id`` (the value of ``[collect] scope_key``,
  groupby winning over metadata) are columns; all groupby and metadata
  attributes live in two JSON documents (JSONB on PostgreSQL): one row per
  point keeps a batch a single bulk insert and keeps every key and value as
  sent. A narrow attribute table would multiply rows by the number of
  attributes (six per point in the benchmark data) and slow writes as
  much; a column per key would need DDL in the middle of writes, outside
  alembic. Other attributes are read with the database's JSON functions,
  which costs a little on reads filtering or grouping by them.
- ``rk_v1_rollups``: each push's sums per (period, type, scope), written
  in the push's transaction and rebuilt for the periods a delete touches.
  Totals that filter and group only by type, time and the scope key (all
  of /v1/report, /v2/summary's usual queries) read these few rows per
  period instead of every point.
- ``rk_v1_type_rollups``: the same sums per (period, type) only, for
  totals that neither filter nor group by the scope (/v1/report/total with
  all_tenants): a push of many projects has far fewer of these.
- ``rk_v1_descriptions``: each distinct metric description once (a
  dictionary); a point holds its ``description_id`` (NULL: none), so the
  text that repeats on every point of a metric costs four bytes a point.
  Both directions are cached in the process (rows are never changed or
  deleted).
- Numbers: NUMERIC(30, 12), exact on PostgreSQL and MariaDB as in
  CloudKitty; SQLite has no decimal type and stores doubles, and rollups
  are summed in Python, so sums are read rounded to 13 significant digits
  and 12 places (which removes the float noise of long sums: 2469 x
  0.0005 reads 1.2345, the benchmark's 100k prices 3833.72, not
  3833.719999999924).

Writes: a batch is one transaction: its periods are inserted (duplicates
ignored) and looked up, then all its points go in one bulk insert (DBAPI
executemany on SQLite and MariaDB, COPY on PostgreSQL), then its rollups.

Reads are SQL aggregates; ``stream`` walks one ordered query with a server
side cursor where the driver has one, ``batch_size`` rows at a time.
"""
import contextlib
import datetime
import itertools
import threading

import orjson
import sqlalchemy as sa

from ratekeeper import dataframe
from ratekeeper import db
from ratekeeper.db import migration
from ratekeeper.storage import v2 as storage_v2
from ratekeeper.storage.v1 import migrations as v1_migrations
from ratekeeper.storage.v1.sqlalchemy import dialects
from ratekeeper.storage.v1.sqlalchemy import models

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
PERIOD_LOOKUP_CHUNK = 500
ATTRIBUTE_COLUMNS = ('p.groupby', 'p.metadata')


def _epoch(moment):
    return int((moment - EPOCH).total_seconds())


def _naive(moment):
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment):
    return moment.replace(tzinfo=UTC)


def _sum(value):
    """A sum as the API returns it. Sums go through doubles (SQLite stores
    them; the rollups are summed in Python), exact to ~15 digits at best:
    13 significant digits and 12 places drop the noise (3833.72, not
    3833.719999999924)."""
    if value is None:
        return 0.0
    return round(float('%.13g' % value), models.SCALE)


def _text_attributes(attributes):
    """Attribute values are stored as text, absent when null (as in v2)."""
    for value in attributes.values():
        if type(value) is not str:
            break
    else:
        return attributes
    return {key: dataframe.text(value) for key, value in attributes.items()
            if value is not None}


def _all_text(dicts):
    """Attribute dicts with text values; the common all-text case is
    checked for the whole column at once and costs no copy."""
    value_types = set(map(type, itertools.chain.from_iterable(
        map(dict.values, dicts))))
    if value_types <= {str}:
        return dicts
    return [_text_attributes(d) for d in dicts]


class Query:
    """A WHERE clause and its bound parameters, built up step by step."""

    def __init__(self, storage):
        self.storage = storage
        self.clauses = []
        self.params = {}

    def param(self, value):
        name = 'p%d' % len(self.params)
        self.params[name] = value
        return name

    def period_range(self, begin, end):
        if begin is not None:
            self.clauses.append('t.begin_epoch >= :%s'
                                % self.param(_epoch(begin)))
        if end is not None:
            self.clauses.append('t.begin_epoch < :%s'
                                % self.param(_epoch(end)))
        return self

    def metric_types(self, metric_types):
        if metric_types:
            names = [self.param(t) for t in metric_types]
            self.clauses.append('p.type IN (%s)'
                                % ', '.join(':' + n for n in names))
        return self

    def filters(self, filters):
        for key, values in (filters or {}).items():
            names = [self.param(str(v)) for v in values]
            self.clauses.append('%s IN (%s)' % (
                self.attribute(key), ', '.join(':' + n for n in names)))
        return self

    def attribute(self, key):
        """SQL for an attribute: the groupby value, else the metadata
        value, else (for calendar keys) the period's; NULL if none."""
        calendar = key in storage_v2.CALENDAR_FORMATS
        if key == self.storage.scope_key and not calendar:
            return 'p.scope_id'
        dialect = self.storage.dialect
        param = self.param(dialect.key_param(key))
        parts = [dialect.attribute(column, key, param)
                 for column in ATTRIBUTE_COLUMNS]
        if calendar:
            parts.append('t.' + key)
        return 'COALESCE(%s)' % ', '.join(parts)

    def where(self):
        return ' AND '.join(self.clauses) or '1 = 1'


class SQLAlchemyStorage(storage_v2.BaseStorage):
    shared_by_processes = True  # on a server database (README)

    def __init__(self, conf):
        super().__init__(conf)
        self.scope_key = conf.collect.scope_key
        self.engine = None
        self.dialect = None
        self._write_lock = contextlib.nullcontext()
        # {(begin, end): id} of committed periods: rows of rk_v1_periods
        # are never deleted, so most pushes need no period statement.
        self._period_ids_cache = {}
        # {description: id} of committed descriptions, and {id: text} of
        # those read (rows of rk_v1_descriptions are never changed)
        self._description_ids_cache = {}
        self._description_texts = {}

    # -- life cycle -------------------------------------------------------
    def init(self):
        if self.engine is not None:
            return
        engine = db.get_engine(self.conf)
        try:
            self.dialect = dialects.for_engine(engine)
            if self.dialect.name == 'sqlite':
                # one writer at a time in SQLite anyway: the threads of
                # this process queue here rather than on its file lock
                self._write_lock = threading.Lock()
            with engine.connect() as connection:
                current = _schema_is_current(connection)
            if not current:
                migration.upgrade(self.conf)
        except (ValueError, sa.exc.SQLAlchemyError) as exc:
            raise storage_v2.StorageError(str(exc)) from exc
        self.engine = engine

    def close(self):
        self.engine = None  # the engine is shared: db.dispose() closes it

    def _run(self, work, isolation_level=None):
        """work(connection) in one transaction; database errors become
        StorageError."""
        try:
            with self.engine.connect() as connection:
                if isolation_level and self.dialect.name != 'sqlite':
                    connection = connection.execution_options(
                        isolation_level=isolation_level)
                with connection.begin():
                    return work(connection)
        except sa.exc.SQLAlchemyError as exc:
            raise storage_v2.StorageError(str(exc.orig or exc)) from exc

    def _rows(self, sql, params):
        return self._run(
            lambda connection: connection.execute(sa.text(sql), params)
            .fetchall())

    # -- writes -----------------------------------------------------------
    def push(self, batch):
        if not len(batch):
            return
        with self._write_lock:
            try:
                period_ids, description_ids = self._run(
                    lambda connection: self._insert(connection, batch))
            except storage_v2.StorageError:
                self._period_ids_cache.clear()  # in case one is stale
                self._description_ids_cache.clear()
                raise
            self._period_ids_cache.update(period_ids)  # now committed
            self._description_ids_cache.update(description_ids)

    def _insert(self, connection, batch):
        """Store the batch; the {(begin, end): id} of its periods and the
        {text: id} of its descriptions."""
        period_ids = self._period_ids(connection, zip(batch.begin, batch.end))
        description_ids = self._description_ids(connection,
                                                batch.description)
        self._lock_periods(connection, set(period_ids.values()), False)
        periods = list(map(period_ids.__getitem__,
                           zip(batch.begin, batch.end)))
        groupbys = _all_text(batch.groupby)
        metadatas = _all_text(batch.metadata)
        scopes = self._scopes(groupbys, metadatas)
        dbapi_connection = connection.connection.driver_connection
        self.dialect.insert_points(dbapi_connection, _point_rows(
            batch, periods, scopes, groupbys, metadatas,
            _description_id_column(batch, description_ids)))
        rollups = _rollup_rows(periods, batch.type, scopes, batch.qty,
                               batch.price)
        self.dialect.insert_rollups(dbapi_connection, rollups)
        self.dialect.insert_type_rollups(dbapi_connection,
                                         _type_rollup_rows(rollups))
        return period_ids, description_ids

    def _description_ids(self, connection, column):
        """{text: id} of the descriptions in ``column``, added if new."""
        texts = set(column)
        texts.discard(None)
        cache = self._description_ids_cache
        found = {text: cache[text] for text in texts if text in cache}
        wanted = sorted(texts.difference(found))
        table = models.descriptions
        if wanted:
            for row in connection.execute(
                    sa.select(table.c.id, table.c.description)
                    .where(table.c.description.in_(wanted))
                    .order_by(table.c.id)):
                found.setdefault(row.description, row.id)
        for text in wanted:
            if text not in found:
                found[text] = connection.execute(
                    table.insert().values(description=text)
                ).inserted_primary_key[0]
        return found

    def _descriptions_of(self, ids):
        """{id: text} of the description ids read (cached)."""
        texts = self._description_texts
        unknown = set(ids).difference(texts)
        unknown.discard(None)
        if unknown:
            table = models.descriptions
            texts.update(self._run(lambda connection: {
                row.id: row.description for row in connection.execute(
                    sa.select(table.c.id, table.c.description)
                    .where(table.c.id.in_(sorted(unknown))))}))
        return texts

    def _period_ids(self, connection, moments):
        """{(begin, end): id} for the batch's periods, inserted if new."""
        known = dict.fromkeys(moments)
        cache = self._period_ids_cache
        wanted = {key: (_naive(key[0]), _naive(key[1]))
                  for key in known if key not in cache}
        if not wanted:
            return {key: cache[key] for key in known}
        values = [_period_row(begin, end) for begin, end in wanted]
        connection.execute(self.dialect.insert_ignore(models.periods), values)
        found = {}
        naive_begins = sorted({naive[0] for naive in wanted.values()})
        table = models.periods
        for start in range(0, len(naive_begins), PERIOD_LOOKUP_CHUNK):
            chunk = naive_begins[start:start + PERIOD_LOOKUP_CHUNK]
            for row in connection.execute(
                    sa.select(table.c.id, table.c.begin, table.c.end)
                    .where(table.c.begin.in_(chunk))):
                found[(row.begin, row.end)] = row.id
        return {key: cache[key] if key in cache else found[wanted[key]]
                for key in known}

    def _scopes(self, groupbys, metadatas):
        """The scope key's value per point: groupby's, else metadata's."""
        key = self.scope_key
        scopes = [d.get(key) for d in groupbys]
        if None in scopes:
            scopes = [metadata.get(key) if scope is None else scope
                      for scope, metadata in zip(scopes, metadatas)]
        return scopes

    def _lock_periods(self, connection, period_ids, exclusive):
        """Row locks on periods, held until the transaction ends (not on
        SQLite, whose writers take turns): pushes share them, so pushes
        of any scopes run at once; a delete takes them alone, so it waits
        for the pushes into its periods in flight and they wait for it.
        A delete's rebuilt rollups then count exactly the points it
        leaves, never a concurrent push's twice."""
        if self.dialect.name == 'sqlite' or not period_ids:
            return
        table = models.periods
        ordered = sorted(period_ids)   # one order: no deadlock among us
        for start in range(0, len(ordered), PERIOD_LOOKUP_CHUNK):
            chunk = ordered[start:start + PERIOD_LOOKUP_CHUNK]
            connection.execute(
                sa.select(table.c.id).where(table.c.id.in_(chunk))
                .order_by(table.c.id).with_for_update(read=not exclusive)
            ).fetchall()

    def delete(self, begin=None, end=None, filters=None):
        with self._write_lock:
            # read committed: what the pushes waited for committed is seen
            # by every statement after the lock (MariaDB's repeatable read
            # would rebuild the rollups from an older snapshot)
            self._run(lambda connection: self._delete(
                connection, begin, end, filters),
                isolation_level='READ COMMITTED')

    def _delete(self, connection, begin, end, filters):
        """The points of the periods in [begin, end) matching ``filters``
        deleted and those periods' rollups rebuilt, in ``connection``'s
        transaction."""
        table = models.periods
        periods = sa.select(table.c.id)
        if begin is not None:
            periods = periods.where(table.c.begin_epoch >= _epoch(begin))
        if end is not None:
            periods = periods.where(table.c.begin_epoch < _epoch(end))
        locked = [row[0] for row in connection.execute(periods)]
        if not locked:
            return
        self._lock_periods(connection, locked, True)
        query = Query(self).period_range(begin, end).filters(filters)
        if self.dialect.name != 'sqlite':
            # only the locked periods: one a push makes meanwhile is left
            # to it (the delete came first); ids are the database's ints
            query.clauses.append('t.id IN (%s)' % ', '.join(
                '%d' % period_id for period_id in locked))
        matching = ('SELECT p.id, p.period_id FROM rk_v1_points p '
                    'JOIN rk_v1_periods t ON t.id = p.period_id WHERE %s'
                    % query.where())
        touched = [row[0] for row in connection.execute(sa.text(
            'SELECT DISTINCT period_id FROM (%s) doomed' % matching),
            query.params)]
        connection.execute(sa.text(
            'DELETE FROM rk_v1_points WHERE id IN '
            '(SELECT id FROM (%s) doomed)' % matching), query.params)
        _rebuild_rollups(connection, touched)

    # -- reads ------------------------------------------------------------
    def total(self, begin, end, groupby=None, filters=None,
              metric_types=None, offset=0, limit=None):
        groupby = list(groupby or [])
        query = Query(self).period_range(begin, end).filters(
            filters).metric_types(metric_types)
        source = self._source(groupby, filters)
        if not groupby:
            return self._grand_total(begin, end, query, offset, source)
        exprs = [self._group_expression(query, key) for key in groupby]
        names = ['k%d' % i for i in range(len(exprs))]
        page = ''
        if limit is not None:
            page += ' LIMIT %d' % int(limit)
        if offset:
            page += ' OFFSET %d' % int(offset) if limit is not None else (
                ' LIMIT %d OFFSET %d' % (2 ** 62, int(offset)))
        sql = ('SELECT %s, SUM(p.qty), SUM(p.price), COUNT(*) OVER () '
               'FROM %s p JOIN rk_v1_periods t '
               'ON t.id = p.period_id WHERE %s GROUP BY %s ORDER BY %s%s' % (
                   ', '.join('%s AS %s' % pair for pair in zip(exprs, names)),
                   source, query.where(), ', '.join(names), ', '.join(names),
                   page))
        rows = self._rows(sql, query.params)
        count = rows[0][-1] if rows else (
            self._group_count(query, exprs, source) if offset else 0)
        return {'total': count,
                'results': [self._total_row(row, groupby, begin, end)
                            for row in rows]}

    def _group_expression(self, query, key):
        if key == 'time':
            return 't.begin_epoch - (t.begin_epoch %% %d)' % int(self.period)
        if key == 'type':
            return self.dialect.order_text('p.type')
        return self.dialect.order_text("COALESCE(%s, '')"
                                       % query.attribute(key))

    def _source(self, groupby, filters):
        """The smallest table that can answer: the type rollups (type and
        time only), the scope rollups (and the scope key), else the
        points."""
        keys = set(groupby) | set(filters or ())
        if self.scope_key in storage_v2.CALENDAR_FORMATS:
            return 'rk_v1_points'
        if keys <= {'type', 'time'} and self.scope_key not in keys:
            return 'rk_v1_type_rollups'
        if keys <= {'type', 'time', self.scope_key}:
            return 'rk_v1_rollups'
        return 'rk_v1_points'

    def _group_count(self, query, exprs, source):
        sql = ('SELECT COUNT(*) FROM (SELECT 1 AS one FROM %s p '
               'JOIN rk_v1_periods t ON t.id = p.period_id WHERE %s '
               'GROUP BY %s) groups'
               % (source, query.where(), ', '.join(exprs)))
        return self._rows(sql, query.params)[0][0]

    def _grand_total(self, begin, end, query, offset, source):
        count = 'COUNT(*)' if source == 'rk_v1_points' else 'SUM(p.points)'
        sql = ('SELECT SUM(p.qty), SUM(p.price), %s FROM %s p '
               'JOIN rk_v1_periods t ON t.id = p.period_id WHERE %s'
               % (count, source, query.where()))
        qty, rate, count = self._rows(sql, query.params)[0]
        if not count:
            return {'total': 0, 'results': []}
        results = [] if offset else [
            {'begin': begin, 'end': end, 'qty': _sum(qty), 'rate': _sum(rate)}]
        return {'total': 1, 'results': results}

    def _total_row(self, row, groupby, begin, end):
        row = list(row)
        result = {'begin': begin, 'end': end,
                  'qty': _sum(row[-3]), 'rate': _sum(row[-2])}
        for key, value in zip(groupby, row):
            if key == 'time':
                result['begin'] = EPOCH + datetime.timedelta(seconds=value)
                result['end'] = result['begin'] + datetime.timedelta(
                    seconds=self.period)
            else:
                result[key] = value
        return {'begin': result.pop('begin'), 'end': result.pop('end'),
                **result}

    def retrieve(self, begin, end, filters=None, metric_types=None,
                 offset=0, limit=100):
        query = Query(self).period_range(begin, end).filters(
            filters).metric_types(metric_types)
        total = self._rows(
            'SELECT COUNT(*) FROM rk_v1_points p JOIN rk_v1_periods t '
            'ON t.id = p.period_id WHERE %s' % query.where(),
            query.params)[0][0]
        if not total or offset >= total:
            return {'total': total, 'dataframes': []}
        sql = self._points_sql(query) + ' LIMIT %d OFFSET %d' % (
            int(limit), int(offset))
        rows = self._rows(sql, query.params)
        periods = self._periods(begin, end)
        return {'total': total,
                'dataframes': dataframe.frames_from_rows(
                    self._points(rows, periods))}

    def _points_sql(self, query):
        text = self.dialect.attribute_text
        return ('SELECT p.period_id, p.type, p.unit, p.qty, p.price, %s, %s, '
                'p.description_id FROM rk_v1_points p JOIN rk_v1_periods t '
                'ON t.id = p.period_id WHERE %s ORDER BY t.begin_epoch, p.id'
                % (text.format(column='p.groupby'),
                   text.format(column='p.metadata'), query.where()))

    def _periods(self, begin, end):
        """{period id: (begin, end)} of the periods in [begin, end)."""
        table = models.periods
        select = sa.select(table.c.id, table.c.begin, table.c.end)
        if begin is not None:
            select = select.where(table.c.begin_epoch >= _epoch(begin))
        if end is not None:
            select = select.where(table.c.begin_epoch < _epoch(end))
        return self._run(lambda connection: {
            row.id: (_aware(row.begin), _aware(row.end))
            for row in connection.execute(select)})

    def _points(self, rows, periods):
        """Point tuples of fetched rows, converted column by column."""
        if not rows:
            return []
        (period_ids, types, units, qtys, prices, groupbys, metadatas,
         description_ids) = zip(*rows)
        moments = [periods[period_id] for period_id in period_ids]
        texts = self._descriptions_of(description_ids)
        return list(zip(
            [moment[0] for moment in moments],
            [moment[1] for moment in moments], types, units,
            map(float, qtys), map(float, prices),
            _documents(groupbys), _documents(metadatas),
            [None if i is None else texts[i] for i in description_ids]))

    def stream(self, begin, end, filters=None, metric_types=None,
               batch_size=5000):
        query = Query(self).period_range(begin, end).filters(
            filters).metric_types(metric_types)
        periods = self._periods(begin, end)
        sql = sa.text(self._points_sql(query))
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(
                    stream_results=True, yield_per=batch_size).execute(
                        sql, query.params)
                for rows in result.partitions(batch_size):
                    yield self._points(rows, periods)
        except sa.exc.SQLAlchemyError as exc:
            raise storage_v2.StorageError(str(exc.orig or exc)) from exc

    def scope_ids(self, begin, end, scope_key):
        query = Query(self).period_range(begin, end)
        attribute = query.attribute(scope_key)
        sql = ('SELECT DISTINCT %s AS scope FROM %s p '
               'JOIN rk_v1_periods t ON t.id = p.period_id '
               'WHERE %s AND %s IS NOT NULL ORDER BY scope' % (
                   self.dialect.order_text(attribute),
                   self._source([scope_key], None), query.where(),
                   attribute))
        return [row[0] for row in self._rows(sql, query.params)]


def _documents(texts):
    """JSON documents as dicts. A resource repeats the same attributes in
    every period, so each distinct text is parsed once and copied (twice
    as fast as parsing each); no two points share a dict."""
    parsed = {text: orjson.loads(text) for text in set(texts)}
    return [parsed[text].copy() for text in texts]


def _description_id_column(batch, ids):
    """The description id of each point (None: none)."""
    if not ids:
        return itertools.repeat(None, len(batch))
    return [None if text is None else ids[text]
            for text in batch.descriptions()]


def _json_text(document):
    return orjson.dumps(document).decode()


def _point_rows(batch, periods, scopes, groupbys, metadatas,
                description_ids):
    """The batch as row tuples, made as the database driver takes them
    (the rows of a push never exist all at once: a processor pushes from
    several threads)."""
    return zip(periods, batch.type, batch.unit, batch.qty, batch.price,
               scopes, map(_json_text, groupbys), map(_json_text, metadatas),
               description_ids)


def _rollup_rows(periods, types, scopes, qtys, prices):
    """A batch's sums per (period, type, scope), from its columns."""
    sums = {}
    get = sums.get
    for key, qty, price in zip(zip(periods, types, scopes), qtys, prices):
        totals = get(key)
        if totals is None:
            sums[key] = [qty, price, 1]
        else:
            totals[0] += qty
            totals[1] += price
            totals[2] += 1
    return [(period_id, metric_type, scope, qty, price, points)
            for (period_id, metric_type, scope), (qty, price, points)
            in sums.items()]


def _type_rollup_rows(rollups):
    """The sums per (period, type), from the per-scope rollup rows."""
    sums = {}
    for period_id, metric_type, _scope, qty, price, points in rollups:
        totals = sums.get((period_id, metric_type))
        if totals is None:
            sums[(period_id, metric_type)] = [qty, price, points]
        else:
            totals[0] += qty
            totals[1] += price
            totals[2] += points
    return [(period_id, metric_type, qty, price, points)
            for (period_id, metric_type), (qty, price, points)
            in sums.items()]


def _rebuild_rollups(connection, period_ids):
    """Recompute the rollups of periods whose points changed."""
    rollups = models.rollups
    type_rollups = models.type_rollups
    points = models.points
    for start in range(0, len(period_ids), PERIOD_LOOKUP_CHUNK):
        chunk = period_ids[start:start + PERIOD_LOOKUP_CHUNK]
        connection.execute(rollups.delete().where(
            rollups.c.period_id.in_(chunk)))
        connection.execute(type_rollups.delete().where(
            type_rollups.c.period_id.in_(chunk)))
        connection.execute(type_rollups.insert().from_select(
            ['period_id', 'type', 'qty', 'price', 'points'],
            sa.select(points.c.period_id, points.c.type,
                      sa.func.sum(points.c.qty), sa.func.sum(points.c.price),
                      sa.func.count())
            .where(points.c.period_id.in_(chunk))
            .group_by(points.c.period_id, points.c.type)))
        connection.execute(rollups.insert().from_select(
            ['period_id', 'type', 'scope_id', 'qty', 'price', 'points'],
            sa.select(points.c.period_id, points.c.type, points.c.scope_id,
                      sa.func.sum(points.c.qty), sa.func.sum(points.c.price),
                      sa.func.count())
            .where(points.c.period_id.in_(chunk))
            .group_by(points.c.period_id, points.c.type,
                      points.c.scope_id)))


def _period_row(begin, end):
    row = {'begin': _naive(begin), 'end': _naive(end),
           'begin_epoch': _epoch(begin)}
    for key, pattern in storage_v2.CALENDAR_FORMATS.items():
        row[key] = begin.strftime(pattern)
    return row


def _schema_is_current(connection):
    return migration.is_current(connection, v1_migrations.TREE)
