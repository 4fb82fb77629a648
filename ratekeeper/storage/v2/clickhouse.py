"""The shared v2 backend: ClickHouse, one server or a sharded cluster.

Every API process (and host) talks to the same ClickHouse database, so the
API may run many workers. The schema serves the queries /v2/summary and
/v2/dataframes make:

- one MergeTree table, partitioned by month of the period begin (a time
  range reads only its months; old months are dropped whole), ordered by
  (type, scope, begin) so type, project and time filters read few granules;
- qty and price as Float64 (what was pushed reads back unchanged), summed
  exactly as Decimal128(12) (a plain float sum of 0.005s drifts);
- attributes as key and value arrays, groupby and metadata apart: any
  number of keys, no column per key (no schema change on new keys, none of
  DuckDB's 256-column limit); ``scope`` holds the ``[collect] scope_key``
  value at write time, for the sort key;
- ``push_id`` (a per-push number, rising with time) and ``row`` keep the
  insertion order that stream() and retrieve() promise.

With ``[storage_clickhouse] cluster`` every shard of that cluster (as the
server names them in system.clusters) gets the local table, created over
a connection of its own (no ZooKeeper needed for the DDL), and the server
of ``url`` a Distributed table over them. A push goes whole to one shard
(sharded by push_id), so it is stored all or nothing as on one server;
inserts are synchronous (``insert_distributed_sync``), so a push that
returned is on its shard, and deletes run on every shard.

Pushes go straight to ClickHouse, one insert each: with several processes
a point staged in one of them would be invisible to the others' reads.
"""
import datetime
import itertools
import logging
import math
import threading
import time
import urllib.parse

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.storage import v2 as storage_v2
from ratekeeper.storage.v2 import query

LOG = logging.getLogger(__name__)
TABLE = 'rated_points'
LOCAL_TABLE = 'rated_points_local'
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
# DateTime is seconds since the epoch in a UInt32
LAST_MOMENT = datetime.datetime(2106, 1, 1, tzinfo=UTC)
EXACT_SUM = 'toFloat64(sum(toDecimal128({0}, 12)))'
SUMS = EXACT_SUM.format('qty') + ', ' + EXACT_SUM.format('price')
MUTATION_POLL_SECONDS = 0.05
MUTATION_POLL_MAX_SECONDS = 0.5
# query timeouts a delete waits for its mutation without any progress
MUTATION_STALL_TIMEOUTS = 3

COLUMNS = '''(
    begin DateTime('UTC'),
    end DateTime('UTC'),
    type String,
    unit String,
    qty Float64,
    price Float64,
    scope String,
    groupby_keys Array(String),
    groupby_values Array(String),
    metadata_keys Array(String),
    metadata_values Array(String),
    push_id UInt64,
    row UInt32
)'''
MERGE_TREE = ('ENGINE = MergeTree() PARTITION BY toYYYYMM(begin) '
              'ORDER BY (type, scope, begin, push_id, row)')
INSERT_COLUMNS = ('begin', 'end', 'type', 'unit', 'qty', 'price', 'scope',
                  'groupby_keys', 'groupby_values', 'metadata_keys',
                  'metadata_values', 'push_id', 'row')
# Errors that say the server is out of reach (or went away mid-query)
UNREACHABLE = (ch_errors.NetworkError, ch_errors.SocketTimeoutError,
               ch_errors.UnexpectedPacketFromServerError, EOFError, OSError)


def quote_identifier(name):
    return '`%s`' % name.replace('\\', '\\\\').replace('`', '\\`')


def parse_url(url):
    """(host, port, database, user, password) of a clickhouse:// URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != 'clickhouse' or not parts.hostname:
        raise storage_v2.StorageError(
            '[storage_clickhouse] url must read '
            'clickhouse://[USER[:PASSWORD]@]HOST:PORT/DATABASE, not %r'
            % url.split('@')[-1])
    database = urllib.parse.unquote(parts.path.lstrip('/')) or 'ratekeeper'
    return (parts.hostname, parts.port or 9000, database,
            urllib.parse.unquote(parts.username or 'default'),
            urllib.parse.unquote(parts.password or ''))


def seconds(moment):
    """Whole seconds since the epoch, rounded up: stored begins are whole
    seconds, so ``begin >= x`` and ``begin < x`` hold for ceil(x)."""
    return math.ceil((moment - EPOCH).total_seconds())


def attribute_arrays(dicts):
    """Keys and text values of each dict, absent (None) values left out;
    dicts of text values (the usual case) are taken as they are."""
    keys, values = [], []
    for attributes in dicts:
        texts = list(attributes.values())
        if all(type(v) is str for v in texts):
            keys.append(list(attributes))
            values.append(texts)
            continue
        present = [(k, v) for k, v in attributes.items() if v is not None]
        keys.append([k for k, _ in present])
        values.append([dataframe.text(v) for _, v in present])
    return keys, values


def epoch_seconds(moments):
    """seconds() of each moment; a batch repeats each period's datetime,
    so each distinct one is converted once."""
    converted = {moment: seconds(moment) for moment in set(moments)}
    return [converted[moment] for moment in moments]


def week_of_the_year(column):
    """strftime's %U (weeks starting on Sunday, 00 to 53) in SQL."""
    week = ('intDiv(toDayOfYear({0}) + 6 - modulo(toDayOfWeek({0}), 7), 7)'
            .format(column))
    return "concat(if({0} < 10, '0', ''), toString({0}))".format(week)


CALENDAR_EXPRESSIONS = {
    'day_of_the_year': 'toString(toDayOfYear(begin))',
    'week_of_the_year': week_of_the_year('begin'),
    'month': 'toString(toMonth(begin))',
    'year': 'toString(toYear(begin))',
}


class ClickHouseStorage(storage_v2.BaseStorage):
    shared_by_processes = True

    def __init__(self, conf):
        super().__init__(conf)
        options = conf.storage_clickhouse
        (self.host, self.port, self.database, self.user,
         self.password) = parse_url(options.url)
        self.cluster = options.cluster
        self.connect_timeout = options.connect_timeout
        self.query_timeout = options.query_timeout
        self.scope_key = conf.collect.scope_key
        self._local = threading.local()
        self._clients = []
        self._clients_lock = threading.Lock()
        self._push_ids = itertools.count()
        self.table = '%s.%s' % (quote_identifier(self.database), TABLE)

    # -- connections ------------------------------------------------------
    def _new_client(self, host, port, database):
        client = Client(
            host, port=port, database=database, user=self.user,
            password=self.password, connect_timeout=self.connect_timeout,
            send_receive_timeout=self.query_timeout,
            sync_request_timeout=self.connect_timeout,
            settings={'insert_distributed_sync': 1} if self.cluster else {})
        with self._clients_lock:
            self._clients.append(client)
        return client

    def _client(self):
        """This thread's connection (a client serves one query at once)."""
        client = getattr(self._local, 'client', None)
        if client is None:
            client = self._local.client = self._new_client(
                self.host, self.port, 'default')
        return client

    def _execute(self, sql, params=None, client=None, **kwargs):
        client = client or self._client()
        try:
            return client.execute(sql, params, **kwargs)
        except UNREACHABLE as exc:  # before Error: they derive from it
            client.disconnect()
            raise storage_v2.StorageError(
                'ClickHouse is out of reach: %s' % exc) from exc
        except ch_errors.Error as exc:
            client.disconnect()
            raise storage_v2.StorageError(
                'ClickHouse: %s' % str(exc).split('Stack trace')[0].strip()
            ) from exc
        except BaseException:
            # a failure mid-insert (a value the driver cannot encode)
            # leaves the connection in the middle of a block: the server
            # drops the unfinished insert when it is closed
            client.disconnect()
            raise

    # -- life cycle -------------------------------------------------------
    def init(self):
        database = quote_identifier(self.database)
        self._execute('CREATE DATABASE IF NOT EXISTS %s' % database)
        if not self.cluster:
            self._execute('CREATE TABLE IF NOT EXISTS %s %s %s'
                          % (self.table, COLUMNS, MERGE_TREE))
            return
        local = '%s.%s' % (database, LOCAL_TABLE)
        for client in self._shard_clients():
            self._execute('CREATE DATABASE IF NOT EXISTS %s' % database,
                          client=client)
            self._execute('CREATE TABLE IF NOT EXISTS %s %s %s'
                          % (local, COLUMNS, MERGE_TREE), client=client)
        self._execute(
            "CREATE TABLE IF NOT EXISTS %s %s ENGINE = Distributed("
            "%%(cluster)s, %%(database)s, %%(local)s, cityHash64(push_id))"
            % (self.table, COLUMNS),
            {'cluster': self.cluster, 'database': self.database,
             'local': LOCAL_TABLE})

    def _shard_clients(self):
        """A connection to one replica of every shard of the cluster."""
        rows = self._execute(
            'SELECT shard_num, host_address, port FROM system.clusters '
            'WHERE cluster = %(cluster)s AND replica_num = 1 '
            'ORDER BY shard_num', {'cluster': self.cluster})
        if not rows:
            raise storage_v2.StorageError(
                'ClickHouse knows no cluster %r (remote_servers)'
                % self.cluster)
        clients = getattr(self._local, 'shards', None)
        if clients is None or len(clients) != len(rows):
            clients = self._local.shards = [
                self._new_client(host, port, 'default')
                for _, host, port in rows]
        return clients

    def close(self):
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.disconnect()
        self._local = threading.local()

    # -- writes -----------------------------------------------------------
    def push(self, batch):
        count = len(batch)
        if not count:
            return
        for moment in (min(batch.begin), max(batch.end)):
            if not EPOCH <= moment < LAST_MOMENT:
                raise errors.InvalidInput(
                    'Periods must lie between 1970-01-01 and 2106-01-01 '
                    'with this storage.')
        groupby_keys, groupby_values = attribute_arrays(batch.groupby)
        metadata_keys, metadata_values = attribute_arrays(batch.metadata)
        push_id = self._next_push_id()
        columns = [
            epoch_seconds(batch.begin), epoch_seconds(batch.end),
            batch.type, batch.unit,
            [float(q) for q in batch.qty], [float(p) for p in batch.price],
            self._scopes(batch),
            groupby_keys, groupby_values, metadata_keys, metadata_values,
            [push_id] * count, list(range(count)),
        ]
        self._execute('INSERT INTO %s (%s) VALUES'
                      % (self.table, ', '.join(INSERT_COLUMNS)),
                      columns, columnar=True)

    def _next_push_id(self):
        """Rises with time across processes (microseconds since the
        epoch), with a per-process counter in the low bits so that two
        pushes of one process in the same microsecond stay in order."""
        return time.time_ns() // 1000 * 1024 + next(self._push_ids) % 1024

    def _scopes(self, batch):
        key = self.scope_key
        return [dataframe.text(groupby[key]) if groupby.get(key) is not None
                else dataframe.text(metadata[key])
                if metadata.get(key) is not None else ''
                for groupby, metadata in zip(batch.groupby, batch.metadata)]

    def delete(self, begin=None, end=None, filters=None):
        params = query.NamedParams()
        where = self._where(begin, end, filters, None, params)
        if not self.cluster:
            targets = [(self._client(), self.table)]
        else:
            local = '%s.%s' % (quote_identifier(self.database), LOCAL_TABLE)
            targets = [(client, local) for client in self._shard_clients()]
        for client, table in targets:
            self._wait_for_inserts(client, table.rsplit('.', 1)[1])
            self._execute('ALTER TABLE %s DELETE WHERE %s' % (table, where),
                          params, client=client)
        for client, table in targets:
            self._wait_for_mutations(client, table.rsplit('.', 1)[1])

    def _wait_for_inserts(self, client, table):
        """Wait for the inserts into ``table`` running now to end.

        A mutation changes only the parts that exist when it is made: an
        insert still running (the server slow, its client killed or timed
        out: a push cut short) would land after the delete, untouched,
        and be counted twice once its points are pushed again. Those
        still running after MUTATION_STALL_TIMEOUTS query timeouts are
        killed (KILL QUERY ... SYNC: stopped, or already written)."""
        running = {'database': self.database, 'table': table.strip('`')}
        found = ("SELECT query_id FROM system.processes WHERE "
                 "positionCaseInsensitive(query, 'INSERT') = 1 AND "
                 "position(query, %(database)s) > 0 AND "
                 "position(query, %(table)s) > 0")
        ids = [row[0] for row in self._execute(found, running,
                                               client=client)]
        since, pause = time.monotonic(), MUTATION_POLL_SECONDS
        while ids:
            if time.monotonic() - since > \
                    MUTATION_STALL_TIMEOUTS * self.query_timeout:
                self._execute('KILL QUERY WHERE query_id IN %(ids)s SYNC',
                              {'ids': tuple(ids)}, client=client)
                return
            time.sleep(pause)
            pause = min(pause * 2, MUTATION_POLL_MAX_SECONDS)
            still = {row[0] for row in self._execute(found, running,
                                                     client=client)}
            ids = [query_id for query_id in ids if query_id in still]

    def _wait_for_mutations(self, client, table):
        """ClickHouse deletes asynchronously (a mutation); return once
        the points are gone, as the interface promises. Mutations that
        make no progress (the same ones with the same parts left to do:
        a stalled server, or a mutation failing on every attempt, which
        ClickHouse retries for ever) for MUTATION_STALL_TIMEOUTS query
        timeouts are a StorageError, never an endless wait: the caller
        retries later, and the deleted points stay counted until then."""
        name = table.strip('`')
        seen, since, pause = None, time.monotonic(), MUTATION_POLL_SECONDS
        while True:
            pending = tuple(self._execute(
                'SELECT mutation_id, parts_to_do FROM system.mutations '
                'WHERE database = %(database)s AND table = %(table)s '
                'AND is_done = 0 ORDER BY mutation_id',
                {'database': self.database, 'table': name}, client=client))
            if not pending:
                return
            if pending != seen:
                seen, since = pending, time.monotonic()
            elif time.monotonic() - since > \
                    MUTATION_STALL_TIMEOUTS * self.query_timeout:
                raise storage_v2.StorageError(
                    'ClickHouse: a delete on %s.%s made no progress in %ds '
                    '(mutations %s pending; one that keeps failing must be '
                    'removed with KILL MUTATION)' % (
                        self.database, name,
                        MUTATION_STALL_TIMEOUTS * self.query_timeout,
                        ', '.join(m for m, _ in pending)))
            time.sleep(pause)
            pause = min(pause * 2, MUTATION_POLL_MAX_SECONDS)

    # -- expressions ------------------------------------------------------
    def _attribute(self, key, params):
        """SQL for an attribute (NULL when a point lacks it): groupby
        wins over metadata, which wins over the calendar keys."""
        name = params.add(key)
        return ('multiIf(has(groupby_keys, {0}), '
                'groupby_values[indexOf(groupby_keys, {0})], '
                'has(metadata_keys, {0}), '
                'metadata_values[indexOf(metadata_keys, {0})], {1})'
                .format(name, CALENDAR_EXPRESSIONS.get(key, 'NULL')))

    def _attribute_text(self, key, params):
        """Like _attribute, '' when a point lacks the attribute: no
        Nullable and one array scan per source (an array's element 0 is
        ''), ~2x faster to group or filter on."""
        name = params.add(key)
        in_groupby = 'indexOf(groupby_keys, %s)' % name
        in_metadata = 'indexOf(metadata_keys, %s)' % name
        metadata = 'metadata_values[%s]' % in_metadata
        if key in CALENDAR_EXPRESSIONS:
            metadata = 'if(%s > 0, %s, %s)' % (in_metadata, metadata,
                                               CALENDAR_EXPRESSIONS[key])
        return 'if({0} > 0, groupby_values[{0}], {1})'.format(
            in_groupby, metadata)

    def _is_scope(self, key):
        """Whether the ``scope`` column holds ``key``'s value (written
        from the groupby, else the metadata, '' when missing)."""
        return key == self.scope_key and key not in CALENDAR_EXPRESSIONS

    def _where(self, begin, end, filters, metric_types, params):
        filters = dict(filters or {})
        scopes = [str(v) for v in filters.get(self.scope_key, ())]
        if self._is_scope(self.scope_key) and scopes and all(scopes):
            # the same condition on the sort key ('' would also match
            # points without the key)
            del filters[self.scope_key]
        else:
            scopes = None
        # '' matches no point that lacks the key: it needs the NULL
        text_keys = {key for key, values in filters.items()
                     if all(str(v) for v in values)}
        clause = query.where(
            begin, end, filters, metric_types,
            lambda key: (self._attribute_text if key in text_keys
                         else self._attribute)(key, params), params,
            moment=lambda dt, p: 'toDateTime(%s)' % p.add(seconds(dt)))
        if scopes:
            clause += ' AND ' + query.in_list('scope', scopes, params)
        return clause

    def _time_bucket(self):
        period = int(self.period)
        return 'toDateTime(intDiv(toUInt32(begin), %d) * %d)' % (period,
                                                                 period)

    # -- reads ------------------------------------------------------------
    def total(self, begin, end, groupby=None, filters=None,
              metric_types=None, offset=0, limit=None):
        groupby = list(groupby or [])
        params = query.NamedParams()
        where = self._where(begin, end, filters, metric_types, params)
        exprs = []
        for key in groupby:
            if key == 'time':
                exprs.append(self._time_bucket())
            elif key == 'type':
                exprs.append('type')
            elif self._is_scope(key):
                exprs.append('scope')  # the same value, '' when missing
            else:
                exprs.append(self._attribute_text(key, params))
        if not exprs:
            return self._grand_total(begin, end, where, params, offset)
        names = ['k%d' % i for i in range(len(exprs))]
        select = ', '.join('%s AS %s' % (e, n) for e, n in zip(exprs, names))
        group = ', '.join(names)
        page = ' LIMIT %d' % limit if limit is not None else ''
        page = ' LIMIT %d, %d' % (offset, limit if limit is not None
                                  else 2 ** 62) if offset else page
        rows = self._execute(
            f'SELECT {select}, {SUMS} FROM {self.table} WHERE {where} '
            f'GROUP BY {group} ORDER BY {group}{page}', params)
        if offset or (limit is not None and len(rows) >= limit):
            count = self._execute(
                f'SELECT count() FROM (SELECT {select} FROM {self.table} '
                f'WHERE {where} GROUP BY {group})', params)[0][0]
        else:
            count = len(rows)
        return query.grouped_total(rows, groupby, count, begin, end,
                                   self.period)

    def _grand_total(self, begin, end, where, params, offset):
        qty, rate, count = self._execute(
            f'SELECT {SUMS}, count() FROM {self.table} WHERE {where}',
            params)[0]
        return query.grand_total(begin, end, qty, rate, count, offset)

    def _points_query(self, where):
        return ('SELECT toUInt32(begin), toUInt32(end), type, unit, qty, '
                'price, groupby_keys, groupby_values, metadata_keys, '
                f'metadata_values FROM {self.table} WHERE {where} '
                'ORDER BY begin, push_id, row')

    def retrieve(self, begin, end, filters=None, metric_types=None,
                 offset=0, limit=100):
        params = query.NamedParams()
        where = self._where(begin, end, filters, metric_types, params)
        total = self._execute(
            f'SELECT count() FROM {self.table} WHERE {where}', params)[0][0]
        if not total or offset >= total:
            return {'total': total, 'dataframes': []}
        rows = self._execute(
            self._points_query(where)
            + ' LIMIT %d, %d' % (int(offset), int(limit)), params)
        moments = {}
        return {'total': total, 'dataframes': dataframe.frames_from_rows(
            _points(rows, moments))}

    def stream(self, begin, end, filters=None, metric_types=None,
               batch_size=5000):
        params = query.NamedParams()
        where = self._where(begin, end, filters, metric_types, params)
        # A connection of its own: the consumer may query between batches.
        client = self._new_client(self.host, self.port, 'default')
        try:
            rows = client.execute_iter(
                self._points_query(where), params,
                settings={'max_block_size': batch_size})
            moments = {}
            batch = []
            for row in rows:
                batch.append(row)
                if len(batch) >= batch_size:
                    yield _points(batch, moments)
                    batch = []
            if batch:
                yield _points(batch, moments)
        except UNREACHABLE as exc:
            raise storage_v2.StorageError(
                'ClickHouse is out of reach: %s' % exc) from exc
        except ch_errors.Error as exc:
            raise storage_v2.StorageError('ClickHouse: %s' % exc) from exc
        finally:
            client.disconnect()
            with self._clients_lock:
                if client in self._clients:
                    self._clients.remove(client)

    def scope_ids(self, begin, end, scope_key):
        params = query.NamedParams()
        where = self._where(begin, end, None, None, params)
        attribute = self._attribute(scope_key, params)
        rows = self._execute(
            f'SELECT DISTINCT {attribute} AS scope_id FROM {self.table} '
            f'WHERE {where} AND isNotNull(scope_id) ORDER BY scope_id',
            params)
        return [row[0] for row in rows]


def _points(rows, moments):
    """Point tuples of stored rows (a period's datetime built once)."""
    points = []
    for (begin, end, metric_type, unit, qty, price, groupby_keys,
         groupby_values, metadata_keys, metadata_values) in rows:
        for stamp in (begin, end):
            if stamp not in moments:
                moments[stamp] = EPOCH + datetime.timedelta(seconds=stamp)
        points.append((moments[begin], moments[end], metric_type, unit,
                       qty, price, dict(zip(groupby_keys, groupby_values)),
                       dict(zip(metadata_keys, metadata_values))))
    return points
