"""The shared v2 backend: ClickHouse, one server or a sharded cluster.

Every API process (and host) talks to the same ClickHouse database, so the
API may run many workers. The schema serves the queries /v2/summary and
/v2/dataframes make:

- one MergeTree table, partitioned by month of the period begin (a time
  range reads only its months; old months are dropped whole), ordered by
  (begin, type, scope): a period's points lie together, so a dataframes
  page and the month rollup's cut windows read their periods only (sums
  filtered by type and project come from the rollups below; tables made
  before this order keep (type, scope, begin), which reads the same);
- qty and price as Float64 (what was pushed reads back unchanged), summed
  exactly as Decimal128(12), each rounded to the nearest 1e-12 as DuckDB
  rounds it (a plain float sum of 0.005s drifts);
- attributes as key and value arrays, groupby and metadata apart: any
  number of keys, no column per key (no schema change on new keys, none of
  DuckDB's 256-column limit). Each array is stored as one text, its
  elements joined (escaped where an element holds the separator or the
  escape), and read through an ALIAS column of the array's name: four
  array columns cost the server more CPU at each insert (a part's files
  and their merges; figures below, at COLUMNS). Tables made before the
  texts keep the arrays, and are written as arrays; ``scope`` holds the
  ``[collect] scope_key`` value at write time, for the sort key;
- ``push_id`` (a per-push number, rising with time) and ``row`` keep the
  insertion order that stream() and retrieve() promise;
- ``description``, the metric's, LowCardinality: a dictionary per part
  and one small number per point (it repeats on every point of a metric);
  added at start to tables made before it.

With ``[storage_clickhouse] cluster`` every shard of that cluster (as the
server names them in system.clusters) gets the local table, created over
a connection of its own (no ZooKeeper needed for the DDL), and the server
of ``url`` a Distributed table over them. A push goes whole to one shard
(sharded by push_id), so it is stored all or nothing as on one server;
inserts are synchronous (``insert_distributed_sync``), so a push that
returned is on its shard, and deletes run on every shard.

Pushes go straight to ClickHouse: with several processes a point staged
in one of them would be invisible to the others' reads. With
``group_commit``, pushes made at the same moment by the processes of one
host go as one insert (group_commit.py: an insert costs the server a part
in three tables, of dozens of files each, whatever its size); not on a
cluster, where one shard failing would fail the pushes of the others.
Each push is encoded (ClickHouse's native columns) by the process that
took it, and the leader sends each as a data block of that insert, the
bytes as they are.
An insert goes into a Null table (``rated_points_ingest``) whose
materialized views write the points and, on one server, the rollups: the
attribute keys and values travel as texts joined by a separator that the
server splits, which costs the API worker half the CPU of four arrays
per point (a push whose texts hold the separator goes as arrays, to
``rated_points_ingest_arrays``, whose views escape them). On a cluster
the views write to the Distributed table, and each shard's rollups are
filled by views on its local points.

Two rollups answer most reads without the points, filled by materialized
views in the insert itself (so a push that returned is summed at once):

- ``rated_points_sums_by_begin``: sums and point count per (type, scope,
  period begin): totals grouped or filtered by time, type and the scope,
  and the period counts that let a dataframes page read only its own
  periods' points (18.16 cannot read a sort-key prefix in order);
- ``rated_points_sums_by_month``: the same per (type, scope, month,
  the point's four attribute texts as stored in the points), one row per
  resource and month when a resource's attributes stay the same:
  groupings by any other attribute, its texts read as arrays through
  ALIAS columns as in the points. Four texts cost the server less at
  each push than four arrays, and less than two hashes of the arrays
  with the arrays kept apart in a table of attribute sets. A window
  that cuts a month takes either the points inside
  it, or the month's row minus the points outside it, whichever are
  fewer (the per-period counts say).

The first process to start drops the earlier releases' rollups (RETIRED:
``rated_points_by_begin`` and the month rollups keyed on the arrays, on
two hashes of them next to ``rated_points_attribute_sets``, and on the
texts, ``rated_points_by_month_texts``; all of them truncated each value
to 1e-12, so some sums read ...999999) and sums the new ones from the
points.

Sums are exact (Decimal128(12) of each point, as the points are summed)
and a group is kept when its count is above zero, so a rollup equals its
points after deletes: a delete first adds rows of negative sums for the
points it removes, then deletes them. Between the two, and while a
process that created the views backfills them from older points, a row
in ``rollups_pending`` sends every read to the points themselves; one
left by a process that died is found STALE_PENDING_SECONDS later and its
months are summed again from the points (each month's partition swapped
at once). Reads that need the period's day or week, or ``time`` with
other attributes, read the points.
"""
import contextlib
import datetime
import hashlib
import itertools
import logging
import math
import operator
import threading
import time
import urllib.parse

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors
from clickhouse_driver import block as ch_block
from clickhouse_driver import bufferedwriter
from clickhouse_driver import defines as ch_defines
from clickhouse_driver import protocol as ch_protocol
from clickhouse_driver import varint as ch_varint
from clickhouse_driver import writer as ch_writer
from clickhouse_driver.columns import service as ch_columns

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.storage import v2 as storage_v2
from ratekeeper.storage.v2 import group_commit
from ratekeeper.storage.v2 import query

LOG = logging.getLogger(__name__)
TABLE = 'rated_points'
LOCAL_TABLE = 'rated_points_local'
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
# DateTime is seconds since the epoch in a UInt32
LAST_MOMENT = datetime.datetime(2106, 1, 1, tzinfo=UTC)
# A float as Decimal128(12), rounded to the nearest 1e-12 as DuckDB's cast
# rounds (toDecimal128(x, 12) truncates: 8.4743, a double just below,
# summed as 8.474299999999; about 3% of prices of 4 decimals did)
DECIMAL = ('toDecimal128(round({0} * 1000000000000), 0) * '
           '(toDecimal128(1, 12) / toDecimal128(1000000000000, 0))')
EXACT_SUM = 'toFloat64(sum(%s))' % DECIMAL
SUMS = EXACT_SUM.format('qty') + ', ' + EXACT_SUM.format('price')
MUTATION_POLL_SECONDS = 0.05
MUTATION_POLL_MAX_SECONDS = 0.5
# query timeouts a delete waits for its mutation without any progress
MUTATION_STALL_TIMEOUTS = 3

DESCRIPTION_TYPE = 'LowCardinality(Nullable(String))'
# ClickHouse before 19.x (Debian's 18.16) makes tables with LowCardinality
# columns only with this setting; later servers accept it as obsolete.
DDL_SETTINGS = {'allow_experimental_low_cardinality_type': 1}
ATTRIBUTE_COLUMNS = ('groupby_keys', 'groupby_values', 'metadata_keys',
                     'metadata_values')
ATTRIBUTE_SEPARATOR = '\x1f'  # ASCII's unit separator
# A stored text some of whose elements needed escaping holds ESCAPE: in
# each element, ESCAPE and the separator are written as two characters
# each
ESCAPE = '\x1e'  # ASCII's record separator
ESCAPES = [(ESCAPE, ESCAPE + '2'), (ATTRIBUTE_SEPARATOR, ESCAPE + '1')]
# Undone in this order: the first makes no ESCAPE
UNESCAPES = [(ESCAPE + '1', ATTRIBUTE_SEPARATOR), (ESCAPE + '2', ESCAPE)]


def sql_text(text):
    """A ClickHouse string literal of an ASCII text."""
    return "'%s'" % ''.join(
        c if ' ' <= c <= '~' and c not in "'\\" else '\\x%02X' % ord(c)
        for c in text)


def replacements(text, pairs):
    """The SQL of ``text`` with each (old, new) of ``pairs`` replaced in
    turn."""
    for old, new in pairs:
        text = 'replaceAll(%s, %s, %s)' % (text, sql_text(old), sql_text(new))
    return text


def split_text(column):
    """The SQL of an attribute array from its joined text: empty when the
    point has no keys (a point's one value may be '')."""
    keys = column.replace('_values', '_keys')
    return ("if({0}_text = '', emptyArrayString(), splitByChar({2}, "
            "{1}_text))".format(keys, column, sql_text(ATTRIBUTE_SEPARATOR)))


def unescaped_split(column):
    """split_text(), its elements unescaped where the text holds ESCAPE
    (arrayMap() runs on an empty array for the other texts: 18.16
    computes both branches of an if)."""
    escaped = 'position(%s_text, %s) > 0' % (column, sql_text(ESCAPE))
    return ('if({0}, arrayMap(x -> {1}, if({0}, {2}, emptyArrayString())), '
            '{2})'.format(escaped, replacements('x', UNESCAPES),
                          split_text(column)))


def escaped_text(column):
    """The SQL of an attribute array's stored text: its elements escaped,
    joined."""
    return 'arrayStringConcat(arrayMap(x -> %s, %s), %s)' % (
        replacements('x', ESCAPES), column, sql_text(ATTRIBUTE_SEPARATOR))


TEXT_COLUMNS = tuple(name + '_text' for name in ATTRIBUTE_COLUMNS)
ATTRIBUTE_ALIASES = ', '.join(
    '%s Array(String) ALIAS %s' % (name, unescaped_split(name))
    for name in ATTRIBUTE_COLUMNS)
# The points: a point's attributes stored as its four joined texts, read
# as arrays through ALIAS columns (a 2000-row insert into the points cost
# the server 11-14 ms of CPU with four array columns, merges included,
# and 8.6-9.2 ms with four texts: fewer files a part, less to merge)
COLUMNS = '(%s)' % ', '.join([
    "begin DateTime('UTC')", "end DateTime('UTC')", 'type String',
    'unit String', 'qty Float64', 'price Float64', 'scope String',
    *('%s String' % name for name in TEXT_COLUMNS),
    'push_id UInt64', 'row UInt32', 'description ' + DESCRIPTION_TYPE,
    ATTRIBUTE_ALIASES])
MERGE_TREE = ('ENGINE = MergeTree() PARTITION BY toYYYYMM(begin) '
              'ORDER BY (begin, type, scope, push_id, row)')
# Rollups, filled by materialized views as each insert lands (in the same
# INSERT, so a push that returned is in them): sums per (type, scope,
# period begin), and per (type, scope, month, attribute set) for
# groupings by other attributes (one row per resource and month, where
# the points are one per resource and period). Sums are exact
# Decimal128(12); ``n`` counts the points, so a group whose points are
# all subtracted disappears (SummingMergeTree drops all-zero rows).
BY_BEGIN = 'rated_points_sums_by_begin'
BY_MONTH = 'rated_points_sums_by_month'
PENDING = 'rollups_pending'
SUM_COLUMNS = 'qty Decimal128(12), price Decimal128(12), n Int64'
# Each rollup's key columns, as SQL over a point's columns ({name})
ROLLUPS = {
    BY_BEGIN: {
        'columns': "(type String, scope String, begin DateTime('UTC'), %s)"
                   % SUM_COLUMNS,
        'key': 'type, scope, begin',
        'key_sql': [('type', '{type}'), ('scope', '{scope}'),
                    ('begin', '{begin}')],
        'moment': 'begin',
        # its view sums each insert's points (a few rows per period)
        'grouped_in_views': True,
    },
    # keyed on the attribute texts, read as arrays as in the points
    BY_MONTH: {
        'columns': '(type String, scope String, month Date, %s, %s, %s)' % (
            ', '.join('%s String' % name for name in TEXT_COLUMNS),
            SUM_COLUMNS, ATTRIBUTE_ALIASES),
        'key': 'type, scope, month, ' + ', '.join(TEXT_COLUMNS),
        'key_sql': [('type', '{type}'), ('scope', '{scope}'),
                    ('month', 'toStartOfMonth({begin})')]
        + [(name, '{%s}' % name) for name in TEXT_COLUMNS],
        'moment': 'month',
        # its view adds a row per point, summed by the merges: grouping
        # each insert's ~one row per resource cost the server ~3 of ~17
        # ms of CPU per 2000-point insert (hashing four texts a row)
        'grouped_in_views': False,
    },
}
ROLLUP_ENGINE = ('ENGINE = SummingMergeTree() PARTITION BY toYYYYMM({0}) '
                 'ORDER BY ({1})')
ROLLUP_SUMS = ('{0}sum(%s) AS qty, {0}sum(%s) AS price, '
               '{0}toInt64(count()) AS n'
               % (DECIMAL.format('qty'), DECIMAL.format('price')))
# A rollup row of each point, for a view that does not group
POINT_SUMS = ('%s AS qty, %s AS price, toInt64(1) AS n'
              % (DECIMAL.format('qty'), DECIMAL.format('price')))
PENDING_COLUMNS = ("(id UInt64, state UInt8, created DateTime('UTC'), "
                   "months Array(Date))")
# A rollup update (a delete's subtraction, a backfill) still pending after
# this long was cut short (its process died): its months are rebuilt
STALE_PENDING_SECONDS = 300
# Calendar keys the month rollup cannot derive (they need the period)
DAY_CALENDAR_KEYS = ('day_of_the_year', 'week_of_the_year')
POINT_HEAD = ('begin', 'end', 'type', 'unit', 'qty', 'price', 'scope')
POINT_TAIL = ('push_id', 'row', 'description')
POINT_COLUMNS = (*POINT_HEAD, *ATTRIBUTE_COLUMNS, *POINT_TAIL)
POINT_SQL = {name: name for name in POINT_COLUMNS + TEXT_COLUMNS}
# The order of the points read back (the order they were pushed in)
POINT_ORDER = 'ORDER BY begin, push_id, row'
# The columns an insert writes to the points: the attributes' texts, or
# (texts_stored False) their arrays, in a table made before the texts
STORED_COLUMNS = {True: (*POINT_HEAD, *TEXT_COLUMNS, *POINT_TAIL),
                  False: POINT_COLUMNS}
# A push is one insert into a Null table (it keeps nothing) whose
# materialized views carry it to the points and, on one server, to the
# rollups. INGEST takes each point's attribute keys and values as texts
# joined by ATTRIBUTE_SEPARATOR, which the server splits: four arrays per
# point cost the driver more CPU than the rest of a push. A push whose
# attribute texts hold the separator or ESCAPE goes to INGEST_ARRAYS as
# arrays (its points' texts escaped by the server). Period bounds go as
# seconds (the driver checks each datetime).
INGEST = 'rated_points_ingest'
INGEST_ARRAYS = 'rated_points_ingest_arrays'
INGEST_COMMON = (
    ('begin_seconds', 'UInt32'), ('end_seconds', 'UInt32'), ('type', 'String'),
    ('unit', 'String'), ('qty', 'Float64'), ('price', 'Float64'),
    ('scope', 'String'), ('push_id', 'UInt64'), ('row', 'UInt32'),
    ('description', DESCRIPTION_TYPE))
INGEST_BOUNDS = {'begin': "toDateTime(begin_seconds, 'UTC')",
                 'end': "toDateTime(end_seconds, 'UTC')"}
# Of each ingest table: its columns' types, and the SQL of a point's
# columns (the attributes as arrays and as texts)
INGESTS = {
    INGEST: {
        'types': dict(INGEST_COMMON, **dict.fromkeys(TEXT_COLUMNS, 'String')),
        'sql': dict(POINT_SQL, **INGEST_BOUNDS, **{
            name: split_text(name) for name in ATTRIBUTE_COLUMNS}),
    },
    INGEST_ARRAYS: {
        'types': dict(INGEST_COMMON, **dict.fromkeys(ATTRIBUTE_COLUMNS,
                                                     'Array(String)')),
        'sql': dict(POINT_SQL, **INGEST_BOUNDS, **{
            name + '_text': escaped_text(name)
            for name in ATTRIBUTE_COLUMNS}),
    },
}
# Changes when what a group commit's leader is sent changes (a leader of
# an older release then serves none of this one's pushes)
GROUP_COMMIT_PROTOCOL = 'clickhouse-ingest-3'
# The month rollup of earlier releases, keyed on the attribute arrays
ARRAYS_BY_MONTH = 'rated_points_by_month'
# The per-period rollup of earlier releases (its sums truncated each
# point to 1e-12, as their month rollups did)
OLD_BY_BEGIN = 'rated_points_by_begin'
# The rollups of earlier releases: the per-period one, and the month ones
# keyed on the attribute arrays, then on two hashes of them (the arrays
# kept in an attribute sets table), then on the attribute texts
RETIRED = [OLD_BY_BEGIN, ARRAYS_BY_MONTH, 'rated_points_by_month_set',
           'rated_points_attribute_sets', 'rated_points_by_month_texts']
RETIRED_VIEWS = ['%s_from_%s' % (name, table)
                 for name in RETIRED for table in INGESTS]
# The views of one server before INGEST (on the points table itself) and
# those that filled the retired rollups
LEGACY_VIEWS = [name + '_view' for name in (OLD_BY_BEGIN, ARRAYS_BY_MONTH)] + (
    RETIRED_VIEWS)
# A push's columns are encoded in chunks of this many bytes
ENCODING_BUFFER = 1 << 16
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


def stored_range(moment):
    """``moment`` brought within [EPOCH, LAST_MOMENT], where every stored
    point lies: a bound outside DateTime's range would wrap around in
    ClickHouse (2107 read as 1971), and no point lies beyond either end,
    so a bound moved to it selects the same points."""
    return min(max(moment, EPOCH), LAST_MOMENT)


def select_list(columns, sql):
    """A SELECT list of ``columns`` ((name, SQL template over point
    columns)), each point column read as ``sql`` says."""
    items = []
    for name, template in columns:
        expression = template.format_map(sql)
        items.append(expression if expression == name
                     else '%s AS %s' % (expression, name))
    return ', '.join(items)


def rollup_select(rollup, sql=POINT_SQL):
    return select_list(rollup['key_sql'], sql)


def attribute_columns(dicts):
    """Keys and text values of each dict, absent (None) values left out."""
    keys, values = [], []
    for attributes in dicts:
        present = [(k, v) for k, v in attributes.items() if v is not None]
        keys.append([k for k, _ in present])
        values.append([dataframe.text(v) for _, v in present])
    return keys, values


def attribute_texts(dicts):
    """joined_texts() of the dicts' attribute_columns(), taken from the
    dicts themselves when every value is text (the usual case: join
    refuses any other value, so the batch is walked once)."""
    try:
        return joined_texts(dicts, map(dict.values, dicts))
    except TypeError:
        return joined_texts(*attribute_columns(dicts))


def joined_texts(keys, values):
    """Each point's keys and values as two texts joined by the separator;
    None if a key or value holds the separator or ESCAPE (the split
    would not give them back)."""
    join = ATTRIBUTE_SEPARATOR.join
    keys_texts, values_texts = list(map(join, keys)), list(map(join, values))
    all_keys, all_values = ''.join(keys_texts), ''.join(values_texts)
    separators = sum(map(len, keys)) - sum(map(bool, keys))
    if (all_keys.count(ATTRIBUTE_SEPARATOR) != separators or
            all_values.count(ATTRIBUTE_SEPARATOR) != separators or
            ESCAPE in all_keys or ESCAPE in all_values):
        return None
    return keys_texts, values_texts


class MemorySink:
    """Where the driver's socket writer sends what it encodes: kept."""

    def __init__(self):
        self.chunks = []

    def sendall(self, data):
        self.chunks.append(bytes(data))


def send_encoded_insert(client, sql, types, blocks):
    """``sql`` (an INSERT) with ``blocks`` ((rows, [(column, its native
    encoding)])) as its data: what the driver's execute() does with
    values, but with values it encoded before (ClickHouse's native
    protocol: a query, the server's sample block, data blocks, an empty
    block). A block's framing depends on the connection's revision, its
    columns' encoding does not."""
    with client.disconnect_on_error(sql, None):
        connection = client.connection
        connection.send_query(sql)
        connection.send_external_tables(None)
        client.receive_sample_block()
        revision = connection.server_info.used_revision
        out = connection.fout
        for rows, columns in blocks:
            ch_varint.write_varint(ch_protocol.ClientPacketTypes.DATA, out)
            ch_writer.write_binary_str('', out)
            ch_block.BlockInfo().write(out)
            ch_varint.write_varint(len(columns), out)
            ch_varint.write_varint(rows, out)
            for name, data in columns:
                ch_writer.write_binary_str(name, out)
                ch_writer.write_binary_str(types[name], out)
                if revision >= \
                        ch_defines.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION:
                    ch_writer.write_binary_uint8(0, out)
                out.write(data)
            out.flush()
            client.receive_profile_events()
        connection.send_data(ch_block.ColumnOrientedBlock())
        client.receive_profile_events()
        client.receive_end_of_insert_query()


def read_list(attributes):
    """The SELECT list of a point read back (what _points() takes), its
    attribute arrays as ``attributes`` say."""
    return ('toUInt32(begin), toUInt32(end), type, unit, qty, price, %s, '
            'description' % ', '.join(attributes))


def epoch_seconds(moments):
    """seconds() of each moment; a batch repeats each period's datetime,
    so each distinct one is converted once. InvalidInput unless each is a
    whole second (DateTime holds seconds: stored, 12:00:00.25 read back
    12:00:01)."""
    distinct = set(moments)
    if any(moment.microsecond for moment in distinct):
        raise errors.InvalidInput(
            'Periods must begin and end on whole seconds with this '
            'storage.')
    converted = {moment: seconds(moment) for moment in distinct}
    return [converted[moment] for moment in moments]


def week_of_the_year(column):
    """strftime's %U (weeks starting on Sunday, 00 to 53) in SQL."""
    week = ('intDiv(toDayOfYear({0}) + 6 - modulo(toDayOfWeek({0}), 7), 7)'
            .format(column))
    return "concat(if({0} < 10, '0', ''), toString({0}))".format(week)


# The SQL of each calendar key from a moment column (``begin`` in the
# points and the per-period rollup, ``month`` in the month rollup)
CALENDAR_EXPRESSIONS = {
    'day_of_the_year': 'toString(toDayOfYear({0}))'.format,
    'week_of_the_year': week_of_the_year,
    'month': 'toString(toMonth({0}))'.format,
    'year': 'toString(toYear({0}))'.format,
}


def month_starts(begin, end):
    """The first moment of each month that [begin, end) touches."""
    month = begin.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    months = []
    while month < end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


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
        # Whether the points keep their attributes as texts (init() says)
        self._texts_stored = True
        self._group_commit = None
        if options.group_commit and not self.cluster:
            self._group_commit = group_commit.GroupCommit(
                self._group_name(options.url), self._insert_encoded)

    def _group_name(self, url):
        """The name pushes to this database (with these credentials) are
        grouped under on this host."""
        return hashlib.sha256(('%s\0%s' % (GROUP_COMMIT_PROTOCOL, url))
                              .encode()).hexdigest()[:32]

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
        with self._errors_of(client):
            return client.execute(sql, params, **kwargs)

    @staticmethod
    @contextlib.contextmanager
    def _errors_of(client):
        """The driver's errors as StorageError (Unreachable when the server
        is out of reach), ``client``'s connection (if any) closed after
        any error: a failure mid-insert (a value the driver cannot
        encode) leaves it in the middle of a block, and the server drops
        the unfinished insert when it is closed."""
        try:
            yield
        except BaseException as exc:
            if client is not None:
                client.disconnect()
            if isinstance(exc, UNREACHABLE):  # before Error: they derive
                raise storage_v2.Unreachable(
                    'ClickHouse is out of reach: %s' % exc) from exc
            if isinstance(exc, ch_errors.Error):
                raise storage_v2.StorageError(
                    'ClickHouse: %s'
                    % str(exc).split('Stack trace')[0].strip()) from exc
            raise

    # -- life cycle -------------------------------------------------------
    def _name(self, table):
        return '%s.%s' % (quote_identifier(self.database), table)

    def _targets(self):
        """(connection, table suffix) of each server holding points: the
        one server, or each shard with its local tables."""
        if not self.cluster:
            return [(self._client(), '')]
        return [(client, '_local') for client in self._shard_clients()]

    def init(self):
        database = quote_identifier(self.database)
        self._execute('CREATE DATABASE IF NOT EXISTS %s' % database)
        self._execute('CREATE TABLE IF NOT EXISTS %s %s ENGINE = MergeTree() '
                      'ORDER BY id' % (self._name(PENDING), PENDING_COLUMNS))
        targets = self._targets()
        for client, suffix in targets:
            self._execute('CREATE DATABASE IF NOT EXISTS %s' % database,
                          client=client)
            self._execute('CREATE TABLE IF NOT EXISTS %s %s %s'
                          % (self._name(TABLE + suffix), COLUMNS, MERGE_TREE),
                          client=client, settings=DDL_SETTINGS)
            self._add_description(self._name(TABLE + suffix), client)
            for name, rollup in ROLLUPS.items():
                self._execute(
                    'CREATE TABLE IF NOT EXISTS %s %s %s' % (
                        self._name(name + suffix), rollup['columns'],
                        ROLLUP_ENGINE.format(rollup['moment'],
                                             rollup['key'])),
                    client=client)
        if self.cluster:
            for name, columns in [(TABLE, COLUMNS)] + [
                    (name, rollup['columns'])
                    for name, rollup in ROLLUPS.items()]:
                self._execute(
                    'CREATE TABLE IF NOT EXISTS %s %s ENGINE = Distributed('
                    '%%(cluster)s, %%(database)s, %%(local)s, %s)'
                    % (self._name(name), columns,
                       'cityHash64(push_id)' if name == TABLE else 'rand()'),
                    {'cluster': self.cluster, 'database': self.database,
                     'local': name + '_local'}, settings=DDL_SETTINGS)
            self._add_description(self._name(TABLE))
        self._texts_stored = self._has_column(self.table, TEXT_COLUMNS[0])
        for table, ingest in INGESTS.items():
            self._execute(
                'CREATE TABLE IF NOT EXISTS %s (%s) ENGINE = Null'
                % (self._name(table), ', '.join(
                    map(' '.join, ingest['types'].items()))),
                settings=DDL_SETTINGS)
        self._create_views(targets)
        self._repair_stale()

    def _has_column(self, table, column, client=None):
        return self._execute(
            'SELECT count() FROM system.columns WHERE database = '
            '%(database)s AND table = %(table)s AND name = %(column)s',
            {'database': self.database,
             'table': table.rsplit('.', 1)[1].strip('`'), 'column': column},
            client=client)[0][0]

    def _add_description(self, table, client=None):
        """The description column on a table made before it (a change of
        metadata only: old parts read NULL). Servers before 19.x know no
        ADD COLUMN IF NOT EXISTS: the column is looked for first, and a
        process that adds it at the same time is no failure."""
        if self._has_column(table, 'description', client):
            return
        try:
            self._execute('ALTER TABLE %s ADD COLUMN description %s'
                          % (table, DESCRIPTION_TYPE), client=client,
                          settings=DDL_SETTINGS)
        except storage_v2.StorageError:
            if not self._has_column(table, 'description', client):
                raise

    def _create_views(self, targets):
        """The views that carry each insert on: from each ingest table to
        the points and, on one server, to the rollups; on a cluster each
        shard's rollups are filled from its local points (ClickHouse 18.16
        runs no views of a table that a view inserts into, later versions
        do: so no view reads a table a view fills). The process that
        creates a rollup's view fills the rollup with the points stored
        before, readers reading the points meanwhile."""
        pending = self._pending_begin([])
        point_columns = [(name, '{%s}' % name)
                         for name in STORED_COLUMNS[self._texts_stored]]
        for table, ingest in INGESTS.items():
            self._create_view(table + '_points', TABLE, select_list(
                point_columns, ingest['sql']), table)
        self._retire_rollups(targets)
        if self.cluster:
            views = [(client, suffix, name, name + suffix + '_view',
                      TABLE + suffix, self._points_sql())
                     for client, suffix in targets for name in ROLLUPS]
        else:
            views = [(self._client(), '', name, '%s_from_%s' % (name, table),
                      table, ingest['sql'])
                     for table, ingest in INGESTS.items() for name in ROLLUPS]
        created = []
        for client, suffix, name, view, source, sql in views:
            rollup = ROLLUPS[name]
            grouped = rollup['grouped_in_views']
            if self._create_view(
                    view, name + suffix, '%s, %s' % (
                        rollup_select(rollup, sql),
                        ROLLUP_SUMS.format('') if grouped else POINT_SUMS),
                    source, group_by=rollup['key'] if grouped else None,
                    client=client) and \
                    (client, suffix, name) not in created:
                created.append((client, suffix, name))
        for client, suffix, name in created:
            self._rebuild(client, suffix, name, pending)
        self._pending_end(pending)

    def _points_sql(self):
        """The SQL of a point's columns (attributes as arrays and texts)
        over the points table, in a query or a view (18.16 computes no
        ALIAS column of the rows a view is run for)."""
        if not self._texts_stored:
            return dict(POINT_SQL, **{name + '_text': escaped_text(name)
                                      for name in ATTRIBUTE_COLUMNS})
        return dict(POINT_SQL, **{name: unescaped_split(name)
                                  for name in ATTRIBUTE_COLUMNS})

    def _retire_rollups(self, targets):
        """Drop the views of earlier releases and their rollups (BY_BEGIN
        and BY_MONTH replace them, built again from the points by the
        process that creates their views)."""
        for client, suffix in targets:
            views = ([name + suffix + '_view' for name in RETIRED]
                     if self.cluster else LEGACY_VIEWS)
            for name in views + [name + suffix for name in RETIRED]:
                self._execute('DROP TABLE IF EXISTS %s' % self._name(name),
                              client=client)
        if self.cluster:
            for name in RETIRED_VIEWS + RETIRED:
                self._execute('DROP TABLE IF EXISTS %s' % self._name(name))

    def _create_view(self, view, target, select, source, group_by=None,
                     client=None):
        """Whether the view was made (another process may have made it)."""
        sql = 'CREATE MATERIALIZED VIEW %s TO %s AS SELECT %s FROM %s' % (
            self._name(view), self._name(target), select, self._name(source))
        if group_by:
            sql += ' GROUP BY ' + group_by
        try:
            self._execute(sql, client=client, settings=DDL_SETTINGS)
        except storage_v2.StorageError as exc:
            if 'already exists' not in str(exc):
                raise
            return False
        return True

    def _pending_begin(self, months):
        """Mark the rollups as being changed: until _pending_end, every
        read sums the points themselves."""
        pending = self._next_push_id()
        self._execute(
            'INSERT INTO %s (id, state, created, months) VALUES'
            % self._name(PENDING),
            [(pending, 0, datetime.datetime.now(UTC).replace(microsecond=0),
              [m.date() for m in months])])
        return pending

    def _pending_end(self, pending):
        self._execute(
            'INSERT INTO %s (id, state, created, months) VALUES'
            % self._name(PENDING),
            [(pending, 1, datetime.datetime.now(UTC).replace(microsecond=0),
              [])])

    def _rollups_ready(self):
        """Whether no rollup change is under way (or was cut short)."""
        return not self._execute(
            'SELECT count() FROM (SELECT id FROM %s GROUP BY id '
            'HAVING max(state) = 0)' % self._name(PENDING))[0][0]

    def _repair_stale(self):
        """Rebuild the months of rollup changes cut short (their process
        died before it finished): until then reads sum the points."""
        stale = self._execute(
            'SELECT id, groupArray(months) FROM %s GROUP BY id '
            'HAVING max(state) = 0 AND min(created) < now() - %d'
            % (self._name(PENDING), STALE_PENDING_SECONDS))
        for pending, months in stale:
            months = sorted(set(itertools.chain.from_iterable(months)))
            LOG.warning('Rebuilding the ClickHouse rollups of a change cut '
                        'short (%s)', ', '.join(map(str, months)) or 'all')
            for client, suffix in self._targets():
                for name in ROLLUPS:
                    self._rebuild(client, suffix, name, pending, months)
            self._pending_end(pending)

    def _rebuild(self, client, suffix, name, pending, months=None):
        """Sum ``name`` again from the points for ``months`` (dates;
        None: every month), each month's partition swapped at once."""
        rollup = ROLLUPS[name]
        table = self._name(name + suffix)
        points = self._name(TABLE + suffix)
        if not months:
            months = sorted({row[0] for row in self._execute(
                'SELECT DISTINCT toStartOfMonth(begin) FROM %s UNION ALL '
                'SELECT DISTINCT toStartOfMonth(%s) FROM %s'
                % (points, rollup['moment'], table), client=client)})
        if not months:
            return
        scratch = self._name('%s%s_rebuild_%d' % (name, suffix, pending))
        self._execute('DROP TABLE IF EXISTS %s' % scratch, client=client)
        self._execute('CREATE TABLE %s AS %s' % (scratch, table),
                      client=client)
        try:
            params = query.NamedParams()
            self._execute(
                'INSERT INTO %s SELECT %s, %s FROM %s WHERE '
                'toStartOfMonth(begin) IN (%s) GROUP BY %s' % (
                    scratch, rollup_select(rollup, self._points_sql()),
                    ROLLUP_SUMS.format(''),
                    points, ', '.join(params.add(m) for m in months),
                    rollup['key']), params, client=client)
            for month in months:
                self._execute(
                    'ALTER TABLE %s REPLACE PARTITION %d FROM %s'
                    % (table, month.year * 100 + month.month, scratch),
                    client=client)
        finally:
            self._execute('DROP TABLE IF EXISTS %s' % scratch,
                          client=client)

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
        if self._group_commit is not None:
            self._group_commit.close()
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
        texts = (attribute_texts(batch.groupby),
                 attribute_texts(batch.metadata))
        if None in texts:
            table, names = INGEST_ARRAYS, list(ATTRIBUTE_COLUMNS)
            attributes = (attribute_columns(batch.groupby)
                          + attribute_columns(batch.metadata))
        else:
            table = INGEST
            names = ['%s_text' % name for name in ATTRIBUTE_COLUMNS]
            attributes = texts[0] + texts[1]
        push_id = self._next_push_id()
        names = ['begin_seconds', 'end_seconds', 'type', 'unit', 'qty',
                 'price', 'scope', *names, 'push_id', 'row']
        columns = [
            epoch_seconds(batch.begin), epoch_seconds(batch.end),
            batch.type, batch.unit,
            list(map(float, batch.qty)), list(map(float, batch.price)),
            self._scopes(batch), *attributes,
            [push_id] * count, list(range(count)),
        ]
        descriptions = batch.descriptions()
        # alone, a push with no description leaves the column NULL; in a
        # group, every push's blocks have the same columns
        if self._group_commit is not None or \
                descriptions.count(None) != count:
            names.append('description')
            columns.append(descriptions)
        if self._group_commit is not None:
            self._group_commit.submit(
                (table, count, self._encoded(table, names, columns)), count)
            return
        self._execute('INSERT INTO %s (%s) VALUES'
                      % (self._name(table), ', '.join(names)),
                      columns, columnar=True)

    def _encoded(self, table, names, columns):
        """(name, native encoding) of each column of a push: a group
        commit's leader sends the bytes as they are, so that what it does
        for every push of the host is little more than a write to a
        socket (it once decoded and encoded them all, under one GIL)."""
        context = self._client().connection.context
        types = INGESTS[table]['types']
        encoded = []
        with self._errors_of(None):
            for name, values in zip(names, columns):
                sink = MemorySink()
                buffer = bufferedwriter.BufferedSocketWriter(
                    sink, ENCODING_BUFFER)
                ch_columns.write_column(context, name, types[name], values,
                                        buffer)
                buffer.flush()
                encoded.append((name, b''.join(sink.chunks)))
        return encoded

    def _insert_encoded(self, pushes):
        """One insert per ingest table of ``pushes`` ((table, rows,
        _encoded() columns)), each push a data block of its own: the
        server squashes the blocks of one insert into one part."""
        by_table = {}
        for table, rows, columns in pushes:
            by_table.setdefault(table, []).append((rows, columns))
        client = self._client()
        for table, blocks in by_table.items():
            sql = 'INSERT INTO %s (%s) VALUES' % (
                self._name(table), ', '.join(name for name, _ in blocks[0][1]))
            with self._errors_of(client):
                send_encoded_insert(client, sql, INGESTS[table]['types'],
                                    blocks)

    def _next_push_id(self):
        """Rises with time across processes (microseconds since the
        epoch), with a per-process counter in the low bits so that two
        pushes of one process in the same microsecond stay in order."""
        return time.time_ns() // 1000 * 1024 + next(self._push_ids) % 1024

    def _scopes(self, batch):
        key = self.scope_key
        scopes = list(map(operator.methodcaller('get', key), batch.groupby))
        if set(map(type, scopes)) <= {str}:
            return scopes  # the usual case: a text scope in every groupby
        return [dataframe.text(groupby[key]) if groupby.get(key) is not None
                else dataframe.text(metadata[key])
                if metadata.get(key) is not None else ''
                for groupby, metadata in zip(batch.groupby, batch.metadata)]

    def delete(self, begin=None, end=None, filters=None):
        """The points' sums are first subtracted from the rollups (rows
        of negative sums), then the points deleted, readers summing the
        points themselves meanwhile; a delete cut short between the two
        is repaired by rebuilding its months (_repair_stale)."""
        self._repair_stale()
        params = query.NamedParams()
        where = self._where(begin, end, filters, None, params)
        # inserts still running would land after the delete (and after the
        # rollups' subtraction): they end (or are killed) first
        for client, suffix in self._targets():
            self._wait_for_inserts(client, TABLE + suffix)
        months = [datetime.datetime.combine(row[0], datetime.time(),
                                            tzinfo=UTC)
                  for row in self._execute(
                      'SELECT DISTINCT toStartOfMonth(begin) FROM %s WHERE %s'
                      % (self.table, where), params)]
        if not months:
            return
        pending = self._pending_begin(months)
        targets = self._targets()
        for client, suffix in targets:
            for name, rollup in ROLLUPS.items():
                self._execute(
                    'INSERT INTO %s SELECT %s, %s FROM %s WHERE %s '
                    'GROUP BY %s' % (
                        self._name(name + suffix),
                        rollup_select(rollup, self._points_sql()),
                        ROLLUP_SUMS.format('-'), self._name(TABLE + suffix),
                        where, rollup['key']), params, client=client)
        for client, suffix in targets:
            self._execute('ALTER TABLE %s DELETE WHERE %s'
                          % (self._name(TABLE + suffix), where),
                          params, client=client)
        for client, suffix in targets:
            self._wait_for_mutations(client, TABLE + suffix)
        self._pending_end(pending)

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
    def _attribute(self, key, params, column='begin'):
        """SQL for an attribute (NULL when a point lacks it): groupby
        wins over metadata, which wins over the calendar keys."""
        name = params.add(key)
        calendar = CALENDAR_EXPRESSIONS.get(key)
        return ('multiIf(has(groupby_keys, {0}), '
                'groupby_values[indexOf(groupby_keys, {0})], '
                'has(metadata_keys, {0}), '
                'metadata_values[indexOf(metadata_keys, {0})], {1})'
                .format(name, calendar(column) if calendar else 'NULL'))

    def _attribute_text(self, key, params, column='begin'):
        """Like _attribute, '' when a point lacks the attribute: no
        Nullable and one array scan per source (an array's element 0 is
        ''), ~2x faster to group or filter on."""
        name = params.add(key)
        in_groupby = 'indexOf(groupby_keys, %s)' % name
        in_metadata = 'indexOf(metadata_keys, %s)' % name
        metadata = 'metadata_values[%s]' % in_metadata
        if key in CALENDAR_EXPRESSIONS:
            metadata = 'if(%s > 0, %s, %s)' % (
                in_metadata, metadata, CALENDAR_EXPRESSIONS[key](column))
        return 'if({0} > 0, groupby_values[{0}], {1})'.format(
            in_groupby, metadata)

    def _is_scope(self, key):
        """Whether the ``scope`` column holds ``key``'s value (written
        from the groupby, else the metadata, '' when missing)."""
        return key == self.scope_key and key not in CALENDAR_EXPRESSIONS

    def _where(self, begin, end, filters, metric_types, params,
               column='begin'):
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
                         else self._attribute)(key, params, column), params,
            moment=lambda dt, p: 'toDateTime(%s)' % p.add(
                seconds(stored_range(dt))))
        if scopes:
            clause += ' AND ' + query.in_list('scope', scopes, params)
        return clause

    def _time_bucket(self):
        period = int(self.period)
        return 'toDateTime(intDiv(toUInt32(begin), %d) * %d)' % (period,
                                                                 period)

    # -- reads ------------------------------------------------------------
    def _rollup_for(self, begin, end, groupby, filters):
        """The rollup that can answer a sum grouped by ``groupby`` under
        ``filters``: BY_BEGIN when only time, type and the scope matter,
        BY_MONTH when the period does not (no time, no day or week key)
        and the window meets the stored range, else None (the points)."""
        keys = set(groupby) | set(filters or {})
        scope_only = all(
            self._is_scope(key) and values and all(str(v) for v in values)
            for key, values in (filters or {}).items())
        if scope_only and all(key in ('time', 'type') or self._is_scope(key)
                              for key in groupby):
            return BY_BEGIN
        if (begin is not None and end is not None and 'time' not in keys
                and not keys & set(DAY_CALENDAR_KEYS)
                and stored_range(begin) < stored_range(end)):
            return BY_MONTH
        return None

    def _group_exprs(self, groupby, params, column='begin'):
        exprs = []
        for key in groupby:
            if key == 'time':
                exprs.append(self._time_bucket())
            elif key == 'type':
                exprs.append('type')
            elif self._is_scope(key):
                exprs.append('scope')  # the same value, '' when missing
            else:
                exprs.append(self._attribute_text(key, params, column))
        return exprs

    def total(self, begin, end, groupby=None, filters=None,
              metric_types=None, offset=0, limit=None):
        groupby = list(groupby or [])
        rollup = self._rollup_for(begin, end, groupby, filters)
        if rollup and not self._rollups_ready():
            rollup = None
        params = query.NamedParams()
        if rollup == BY_MONTH:
            source = self._month_sums(begin, end, groupby, filters,
                                      metric_types, params)
        else:
            table = self._name(rollup) if rollup else self.table
            sums = ('sum(qty) AS qty, sum(price) AS price, sum(n) AS c'
                    if rollup else ROLLUP_SUMS.format('').replace(
                        ' AS n', ' AS c'))
            where = self._where(begin, end, filters, metric_types, params)
            exprs = self._group_exprs(groupby, params)
            select = ''.join('%s AS k%d, ' % (e, i)
                             for i, e in enumerate(exprs))
            source = (f'SELECT {select}{sums} FROM {table} WHERE {where}'
                      + self._group_by(exprs))
        names = ', '.join('k%d' % i for i in range(len(groupby)))
        if not groupby:
            qty, rate, count = self._execute(
                f'SELECT toFloat64(sum(qty)), toFloat64(sum(price)), '
                f'sum(c) FROM ({source})', params)[0]
            return query.grand_total(begin, end, qty, rate, count, offset)
        page = ''
        if offset or limit is not None:
            page = ' LIMIT %d, %d' % (offset, limit if limit is not None
                                      else 2 ** 62)
        client = self._client()
        rows = self._execute(
            f'SELECT {names}, toFloat64(sum(qty)), toFloat64(sum(price)) '
            f'FROM ({source}) GROUP BY {names} HAVING sum(c) > 0 '
            f'ORDER BY {names}{page}', params, client=client)
        info = client.last_query.profile_info
        count = (info.rows_before_limit if page and info.applied_limit
                 else len(rows) + offset)
        return query.grouped_total(rows, groupby, count, begin, end,
                                   self.period)

    def _month_sums(self, begin, end, groupby, filters, metric_types,
                    params):
        """A query of sums (qty, price, c) per group in [begin, end) from
        the month rollup: whole months from it; a month the window cuts
        either from the points in the window, or from the month's rollup
        minus the points outside the window, whichever reads fewer
        points (counted in the per-period rollup)."""
        begin, end = stored_range(begin), stored_range(end)
        months = month_starts(begin, end)
        cut = [m for m in months if m < begin or
               (m + datetime.timedelta(days=32)).replace(day=1) > end]
        inside = set()
        if cut:
            counts = self._execute(
                'SELECT toStartOfMonth(begin) AS m, sumIf(n, begin >= '
                'toDateTime(%(b)s) AND begin < toDateTime(%(e)s)), '
                'sumIf(n, begin < toDateTime(%(b)s) OR '
                'begin >= toDateTime(%(e)s)) FROM {0} WHERE m IN %(m)s '
                'GROUP BY m'.format(self._name(BY_BEGIN)),
                {'b': seconds(begin), 'e': seconds(end),
                 'm': tuple(m.date() for m in cut)})
            inside = {datetime.datetime.combine(m, datetime.time(),
                                                tzinfo=UTC)
                      for m, inner, outer in counts if inner <= outer}
        window = ('begin >= toDateTime(%s) AND begin < toDateTime(%s)'
                  % (params.add(seconds(begin)), params.add(seconds(end))))
        parts = []
        exprs = self._group_exprs(groupby, params, 'month')
        rolled = [m for m in months if m not in inside]
        if rolled:
            where = self._where(None, None, filters, metric_types, params,
                                'month')
            select = ''.join('%s AS k%d, ' % (e, i)
                             for i, e in enumerate(exprs))
            in_months = ', '.join(params.add(m.date()) for m in rolled)
            parts.append(
                f'SELECT {select}sum(qty) AS qty, sum(price) AS price, '
                f'sum(n) AS c FROM {self._name(BY_MONTH)} WHERE month IN '
                f'({in_months}) AND {where}' + self._group_by(exprs))
        for sign, chosen in (('', inside), ('-', set(rolled) & set(cut))):
            if not chosen:
                continue
            where = self._where(None, None, filters, metric_types, params)
            exprs = self._group_exprs(groupby, params)
            select = ''.join('%s AS k%d, ' % (e, i)
                             for i, e in enumerate(exprs))
            in_months = ('toStartOfMonth(begin) IN (%s)' % ', '.join(
                params.add(m.date()) for m in sorted(chosen)))
            cond = window if not sign else 'NOT (%s)' % window
            parts.append(
                f'SELECT {select}{ROLLUP_SUMS.format(sign)} '
                f'FROM {self.table} WHERE {where} AND {in_months} AND {cond}'
                + self._group_by(exprs))
        return ' UNION ALL '.join(parts).replace(' AS n', ' AS c')

    @staticmethod
    def _group_by(exprs):
        if not exprs:
            return ''
        return ' GROUP BY ' + ', '.join('k%d' % i for i in range(len(exprs)))

    def _points_query(self, where):
        return (f'SELECT {read_list(ATTRIBUTE_COLUMNS)} FROM {self.table} '
                f'WHERE {where} {POINT_ORDER}')

    def _page_query(self, where, skip, limit):
        """_points_query()'s rows from ``skip`` on, at most ``limit``: the
        points are sorted and cut on their stored columns, and only the
        page's attribute texts split into arrays (18.16 computes a
        query's ALIAS columns for every row it sorts: a 100-point page of
        a 20,000-point period split them all)."""
        stored = TEXT_COLUMNS if self._texts_stored else ATTRIBUTE_COLUMNS
        arrays = [select_list([(name, '{%s}' % name)], self._points_sql())
                  for name in ATTRIBUTE_COLUMNS]
        page = (f'SELECT begin, end, type, unit, qty, price, '
                f'{", ".join(stored)}, description, push_id, row '
                f'FROM {self.table} WHERE {where} {POINT_ORDER} '
                f'LIMIT {int(skip)}, {int(limit)}')
        return f'SELECT {read_list(arrays)} FROM ({page}) {POINT_ORDER}'

    def retrieve(self, begin, end, filters=None, metric_types=None,
                 offset=0, limit=100):
        params = query.NamedParams()
        where = self._where(begin, end, filters, metric_types, params)
        skip = offset
        if (self._rollup_for(begin, end, [], filters) == BY_BEGIN
                and self._rollups_ready()):
            total, where, skip = self._page_periods(where, params, offset,
                                                    limit)
        else:
            total = self._execute(
                f'SELECT count() FROM {self.table} WHERE {where}',
                params)[0][0]
        if not total or offset >= total:
            return {'total': total, 'dataframes': []}
        rows = self._execute(self._page_query(where, skip, limit), params)
        moments = {}
        return {'total': total, 'dataframes': dataframe.frames_from_rows(
            _points(rows, moments))}

    def _page_periods(self, where, params, offset, limit):
        """From the per-period counts (points sort by period first): the
        number of points under ``where``, a ``where`` narrowed to the
        periods that hold the page, and the page's offset within them,
        so a page reads its own periods' points, not the window's."""
        counts = self._execute(
            f'SELECT toUInt32(begin), sum(n) AS c FROM {self._name(BY_BEGIN)}'
            f' WHERE {where} GROUP BY begin HAVING c > 0 ORDER BY begin',
            params)
        total = sum(c for _, c in counts)
        seen, first, last, skip = 0, None, None, offset
        for stamp, count in counts:
            if first is None and seen + count > offset:
                first, skip = stamp, offset - seen
            seen += count
            if first is not None:
                last = stamp
                if seen >= offset + limit:
                    break
        if first is not None:
            where += (' AND begin >= toDateTime(%s) AND '
                      'begin <= toDateTime(%s)'
                      % (params.add(first), params.add(last)))
        return total, where, skip

    def stream(self, begin, end, filters=None, metric_types=None,
               batch_size=5000):
        params = query.NamedParams()
        where = self._where(begin, end, filters, metric_types, params)
        # A connection of its own: the consumer may query between batches.
        client = self._new_client(self.host, self.port, 'default')
        try:
            with self._errors_of(client):
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
         groupby_values, metadata_keys, metadata_values, description) in rows:
        for stamp in (begin, end):
            if stamp not in moments:
                moments[stamp] = EPOCH + datetime.timedelta(seconds=stamp)
        points.append((moments[begin], moments[end], metric_type, unit,
                       qty, price, dict(zip(groupby_keys, groupby_values)),
                       dict(zip(metadata_keys, metadata_values)),
                       description))
    return points
