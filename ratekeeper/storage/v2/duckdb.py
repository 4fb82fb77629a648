"""The embedded v2 backend: one DuckDB file under the state path.

One wide table holds every point. Each groupby key becomes a column named
``g:<key>`` and each metadata key ``m:<key>``, added when first pushed, so
grouping and filtering on any attribute is a plain column scan (as tags are
in InfluxDB) instead of JSON extraction.

Concurrency: DuckDB lets one process open the file read-write, and that
process may use it from many threads. Reads use one cursor per thread and
run in parallel. Pushes stage under one lock; inserts into DuckDB (which
may add columns) run one at a time under another.

Staged writes: DuckDB spends ~2 ms of CPU on each insert and its commit
whatever their size, as much as ~3000 points cost to insert. Pushes are
therefore staged (``[storage_duckdb] write_batch_points``): logged durably
to ``<path>.staged`` (staging.StagingLog) and kept in memory. When a batch
is full it is handed over (its log segment sealed) and inserted by the push
that filled it, outside the staging lock, so that other pushes go on
meanwhile; every batch is inserted before a read or delete, and at close;
at start the log's pushes are written back.

Rollups (rollups.py): tables of exact sums per period, type and scope,
and per day (month), type and groupby keys, changed in the transaction
that changes the points, answer the summaries they cover from far fewer
rows.
"""
import collections
import datetime
import logging
import os
import threading

import duckdb
import pyarrow as pa
from pyarrow import compute as pc

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.storage import v2 as storage_v2
from ratekeeper.storage.v2 import query
from ratekeeper.storage.v2 import rollups
from ratekeeper.storage.v2 import staging

LOG = logging.getLogger(__name__)
TABLE = 'rated_points'
GROUPBY_PREFIX = 'g:'
METADATA_PREFIX = 'm:'
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = datetime.timedelta(microseconds=1)
ATTRIBUTE_PREFIXES = (GROUPBY_PREFIX, METADATA_PREFIX)
# Each distinct key is a column, and every insert fills all of them.
MAX_ATTRIBUTE_COLUMNS = 256
# An attribute no point has, and its value in a summary group
ABSENT = 'CAST(NULL AS VARCHAR)'
NO_VALUE = "''"
# Pushes go on while this many full batches wait to be inserted; then they
# wait for the inserts.
PENDING_BATCHES = 3
# Sums are taken over values rounded to 12 decimals, exactly: a price of
# 0.005 is not a binary fraction, and a plain float sum of 100k of them
# drifts in the last digits.
EXACT_SUM = 'CAST(SUM(CAST({0} AS DECIMAL(38, 12))) AS DOUBLE)'
SUMS = EXACT_SUM.format('qty') + ', ' + EXACT_SUM.format('price')

# Added to tables made before descriptions were kept (at start, on every
# storage): a metric's description repeats on each of its points, and
# DuckDB's dictionary compression stores it about once per row group.
DESCRIPTION_TYPE = pa.dictionary(pa.int32(), pa.string())
ADD_DESCRIPTION = (f'ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS '
                   'description VARCHAR')

CREATE_TABLE = f'''
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq BIGINT NOT NULL,
    begin TIMESTAMP NOT NULL,
    "end" TIMESTAMP NOT NULL,
    type VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    qty DOUBLE NOT NULL,
    price DOUBLE NOT NULL
)'''


def quote(name):
    return '"%s"' % name.replace('"', '""')


def naive_utc(moment):
    return moment.astimezone(UTC).replace(tzinfo=None)


def timestamps(moments):
    """An arrow timestamp column; a batch repeats each period's datetime
    object, so each distinct one is converted once."""
    micros = {}
    for moment in set(moments):
        micros[moment] = (moment - EPOCH) // MICROSECOND
    return pa.array([micros[m] for m in moments],
                    pa.int64()).cast(pa.timestamp('us'))


def text_array(values):
    """A string column; values sent as numbers or objects become text."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(dataframe.text_column(values), pa.string())


def attribute_columns(prefix, keys, dicts):
    """{prefix + key: text column} of every key of ``dicts`` (null where a
    dict lacks it). Arrow reads the dicts as structs in one pass; values
    that are not all text take the slower way, key by key."""
    keys = list(keys)
    if not keys:
        return {}
    try:
        children = pa.array(
            dicts, pa.struct([(key, pa.string()) for key in keys])).flatten()
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        children = [text_array([d.get(key) for d in dicts]) for key in keys]
    return {prefix + key: column for key, column in zip(keys, children)}


def description_column(batch):
    """The descriptions as a dictionary array: a few distinct texts (one
    per metric) and an index per point, so that the staging log holds
    each text once per push rather than once per point."""
    texts = batch.description
    if not texts:
        return pa.nulls(len(batch), DESCRIPTION_TYPE)
    numbers = {}
    indices = [None if text is None else numbers.setdefault(text, len(numbers))
               for text in texts]
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, pa.int32()), pa.array(list(numbers), pa.string()))


class DuckDBStorage(storage_v2.BaseStorage):
    def __init__(self, conf):
        super().__init__(conf)
        self.path = conf.storage_duckdb.path
        self.threads = conf.storage_duckdb.threads
        self._db = None
        self._local = threading.local()
        # lock order: _write_lock, then _insert_lock, then _pending_lock
        self._write_lock = threading.Lock()    # staging
        self._insert_lock = threading.Lock()   # inserts into DuckDB
        self._pending_lock = threading.Lock()  # the _pending queue
        # keys with a column in DuckDB (replaced, never changed in place:
        # readers iterate them unlocked)
        self._groupby_keys = frozenset()
        self._metadata_keys = frozenset()
        self._columns = []  # the table's column names, in table order
        self._next_seq = 0
        self.batch_points = conf.storage_duckdb.write_batch_points
        self._log = None
        self._staged = []  # arrow tables logged, gathering into a batch
        self._staged_points = 0
        self._layout = []  # columns of the staged tables, new ones last
        # batches handed over, oldest first: (tables, sealed log segment)
        self._pending = collections.deque()
        self._pending_points = 0
        self.scope_key = conf.collect.scope_key
        # summaries read the rollups they are covered by (tests compare
        # with the points table by turning this off)
        self.use_rollups = True
        # rows appended to the rollups since their last compaction, and
        # the range of point begins they touched (None: unbounded)
        self._rollup_rows = 0
        self._rollup_range = None
        # rollup_day's watermark as stored (changed under the insert lock)
        self._watermark = rollups.NO_DAY

    # -- life cycle -------------------------------------------------------
    def init(self):
        if self._db is not None:
            return
        if self.path != ':memory:':
            os.makedirs(os.path.dirname(os.path.abspath(self.path)),
                        exist_ok=True)
        try:
            self._db = duckdb.connect(self.path, config={
                'threads': self.threads,
                'memory_limit': self.conf.storage_duckdb.memory_limit})
        except duckdb.IOException as exc:
            raise storage_v2.StorageError(
                'cannot open %s: %s (only one process may open a DuckDB '
                'file; run one API process with threads)' % (self.path, exc))
        self._db.execute(CREATE_TABLE)
        self._db.execute(ADD_DESCRIPTION)
        self._load_columns()
        self._next_seq = self._stored_next_seq()
        self._init_rollups()
        newest = self._db.execute(
            f'SELECT MAX(begin) FROM {TABLE}').fetchall()[0][0]
        if newest is not None:
            self._advance_watermark(newest)
        if self.path != ':memory:' and self.batch_points:
            self._log = staging.StagingLog(self.path + '.staged')
            logged = self._log.read()
            self._log.open()
            self._write_back(logged)
            self._log.clear()

    def _write_back(self, tables):
        """Store the logged pushes DuckDB does not hold yet: a crash may
        have come after a batch's insert and before the log was cleared,
        and sequence numbers tell those points apart."""
        if not tables:
            return
        table = pa.concat_tables(tables, promote_options='default')
        table = table.filter(pc.greater_equal(table.column('seq'),
                                              self._next_seq))
        if not table.num_rows:
            return
        with self._insert_lock:
            self._insert(table)
        self._layout = list(self._columns)
        self._next_seq = self._stored_next_seq()

    # -- rollups ----------------------------------------------------------
    def _rollup_columns(self, name, columns=None):
        """The attribute columns rollup ``name`` keeps: the scope key, or
        every groupby key of the points table (``columns``: its column
        names, default the stored ones)."""
        if name == rollups.PERIOD:
            return [GROUPBY_PREFIX + self.scope_key]
        # rollup_day and rollup_month
        return [c for c in (columns or self._columns)
                if c.startswith(GROUPBY_PREFIX)]

    def _init_rollups(self):
        """Create the rollups missing or out of date (a database of an
        older version, another scope key) and fill them from the points,
        else merge the rows piled up before the last stop."""
        stored = {}
        for table, column in self._db.execute(
                'SELECT table_name, column_name FROM '
                'information_schema.columns WHERE table_name IN (?, ?, ?, ?) '
                'ORDER BY ordinal_position',
                [rollups.PERIOD, rollups.STATE, *rollups.ALL_KEYS]).fetchall():
            stored.setdefault(table, []).append(column)

        def current(name):
            return name in stored and [
                c for c in stored[name] if c.startswith(GROUPBY_PREFIX)
            ] == self._rollup_columns(name)
        # the rollups are filled up to the watermark together
        rebuild = rollups.STATE not in stored or not all(
            current(name) for name in rollups.SUMMED)
        cursor = self._db.cursor()
        try:
            cursor.begin()
            for name in rollups.SUMMED:
                columns = self._rollup_columns(name)
                if not rebuild:
                    for sql, params in rollups.compact_sql(
                            name, columns, None, None):
                        cursor.execute(sql, params)
                    continue
                LOG.info('building the %s table from the points', name)
                cursor.execute(f'DROP TABLE IF EXISTS {name}')
                cursor.execute(rollups.create_sql(name, columns))
            if rebuild:
                cursor.execute(f'DROP TABLE IF EXISTS {rollups.STATE}')
                cursor.execute(f'CREATE TABLE {rollups.STATE} '
                               f'(watermark TIMESTAMP NOT NULL)')
                cursor.execute(f'INSERT INTO {rollups.STATE} VALUES (?)',
                               [rollups.NO_DAY])
            cursor.commit()
            self._watermark = cursor.execute(
                f'SELECT watermark FROM {rollups.STATE}').fetchall()[0][0]
        except duckdb.Error as exc:
            cursor.rollback()
            raise storage_v2.StorageError(
                'cannot build the rollups: %s' % exc) from exc
        finally:
            cursor.close()

    def _note_rollup_rows(self, rows, low, high):
        """Count rows appended to the rollups for points in [low, high]
        (None: unbounded); compact those buckets when enough piled up
        (caller holds the insert lock)."""
        self._rollup_rows += rows
        if self._rollup_range is None:
            self._rollup_range = (low, high)
        else:
            old_low, old_high = self._rollup_range
            self._rollup_range = (
                None if low is None or old_low is None
                else min(low, old_low),
                None if high is None or old_high is None
                else max(high, old_high))
        if self._rollup_rows >= rollups.COMPACT_ROWS:
            self._compact_rollups()

    def _advance_watermark(self, newest):
        """Sum the days before the one of ``newest`` (naive UTC) into
        rollup_day and rollup_month if they lack them (at start, caller
        holds the insert lock or is alone). A failure leaves them as they
        were: those days are read from the points table."""
        mark = rollups.day_start(newest)
        if mark <= self._watermark:
            return
        cursor = self._cursor()
        try:
            cursor.begin()
            try:
                rows = self._sum_days(cursor, mark, self._columns)
                cursor.commit()
            except duckdb.Error:
                cursor.rollback()
                raise
        except duckdb.Error as exc:
            LOG.warning('summing days into %s failed: %s', rollups.DAY, exc)
            return
        self._days_summed(rows, mark)

    def _sum_days(self, cursor, mark, columns):
        """Statements summing the points from the watermark to ``mark``
        into rollup_day and rollup_month and moving the watermark there,
        in the caller's transaction (``columns``: the points table's); the
        rows added."""
        rows = 0
        for name in rollups.SUMMED:
            rows += cursor.execute(rollups.aggregate_sql(
                name, self._rollup_columns(name, columns), TABLE,
                columns, 'begin >= ? AND begin < ?'),
                [self._watermark, mark]).fetchall()[0][0]
        cursor.execute(f'UPDATE {rollups.STATE} SET watermark = ?', [mark])
        return rows

    def _days_summed(self, rows, mark):
        """Note a committed _sum_days."""
        watermark, self._watermark = self._watermark, mark
        self._note_rollup_rows(rows, watermark, mark)

    def _compact_rollups(self):
        """Merge the rollup rows of the buckets touched since the last
        compaction (caller holds the insert lock). A failure leaves the
        rows as they were, still right: the next compaction merges them."""
        low, high = self._rollup_range
        cursor = self._cursor()
        try:
            cursor.begin()
            for name in rollups.SUMMED:
                for sql, params in rollups.compact_sql(
                        name, self._rollup_columns(name), low, high):
                    cursor.execute(sql, params)
            cursor.commit()
        except duckdb.Error as exc:
            cursor.rollback()
            LOG.warning('compacting the rollups failed: %s', exc)
            return
        self._rollup_rows = 0
        self._rollup_range = None

    def _stored_next_seq(self):
        return self._db.execute(
            f'SELECT COALESCE(MAX(seq) + 1, 0) FROM {TABLE}').fetchall()[0][0]

    def close(self):
        if self._db is None:
            return
        try:
            with self._write_lock:
                self._store_staged()
        except storage_v2.StorageError:
            pass  # still in the log: written back at the next start
        if self._log is not None:
            self._log.close()
            self._log = None
        self._db.close()
        self._db = None

    def _load_columns(self):
        names = [row[0] for row in self._db.execute(
            'SELECT column_name FROM information_schema.columns '
            'WHERE table_name = ? ORDER BY ordinal_position',
            [TABLE]).fetchall()]
        self._columns = names
        self._layout = list(names)
        self._note_columns(names)

    def _note_columns(self, names):
        """Make the attribute columns ``names`` known to queries."""
        self._groupby_keys = self._groupby_keys | {
            n[len(GROUPBY_PREFIX):] for n in names
            if n.startswith(GROUPBY_PREFIX)}
        self._metadata_keys = self._metadata_keys | {
            n[len(METADATA_PREFIX):] for n in names
            if n.startswith(METADATA_PREFIX)}

    def _cursor(self):
        cursor = getattr(self._local, 'cursor', None)
        if cursor is None:
            cursor = self._local.cursor = self._db.cursor()
        return cursor

    def _query(self, sql, params=()):
        """All rows of ``sql`` (fetched to the end: DuckDB refuses new
        work on a cursor whose last result is unfinished)."""
        try:
            return self._cursor().execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise storage_v2.StorageError(str(exc)) from exc

    # -- writes -----------------------------------------------------------
    def push(self, batch):
        count = len(batch)
        if not count:
            return
        groupby_keys = batch.groupby_keys
        metadata_keys = batch.metadata_keys
        columns = {
            'begin': timestamps(batch.begin),
            'end': timestamps(batch.end),
            'type': pa.array(batch.type, pa.string()),
            'unit': pa.array(batch.unit, pa.string()),
            'qty': pa.array(batch.qty, pa.float64()),
            'price': pa.array(batch.price, pa.float64()),
        }
        columns['description'] = description_column(batch)
        columns.update(attribute_columns(
            GROUPBY_PREFIX, groupby_keys, batch.groupby))
        columns.update(attribute_columns(
            METADATA_PREFIX, metadata_keys, batch.metadata))
        if self._pending and \
                self._pending_points >= PENDING_BATCHES * self.batch_points:
            # inserts fall behind or fail: wait for them (a failure
            # refuses this push before anything of it is logged)
            self._drain(wait=True)
        with self._write_lock:
            columns['seq'] = pa.array(
                range(self._next_seq, self._next_seq + count), pa.int64())
            known = set(self._layout)
            new_names = [
                name for name in [GROUPBY_PREFIX + k for k in groupby_keys]
                + [METADATA_PREFIX + k for k in metadata_keys]
                if name not in known]
            if new_names:
                self._check_new_columns(new_names)
            layout = self._layout + new_names
            absent = pa.nulls(count, pa.string())
            table = pa.table([columns.get(name, absent) for name in layout],
                             names=layout)
            self._stage(table)
            self._layout = layout
            self._next_seq += count
        if self._pending:
            self._drain_quietly()

    def _check_new_columns(self, names):
        """Refuse (400) attribute keys DuckDB cannot hold as columns: its
        column names ignore letter case, and a table of thousands of
        columns exhausts the memory of an insert."""
        taken = {name.lower() for name in self._layout}
        for name in names:
            if name.lower() in taken:
                raise errors.InvalidInput(
                    'Attribute key %r differs from another one only by '
                    'letter case, which this storage does not tell apart.'
                    % name[len(GROUPBY_PREFIX):][:64])
            taken.add(name.lower())
        attributes = sum(1 for name in self._layout
                         if name.startswith(ATTRIBUTE_PREFIXES))
        if attributes + len(names) > MAX_ATTRIBUTE_COLUMNS:
            raise errors.InvalidInput(
                'Too many distinct attribute keys: this storage keeps at '
                'most %d groupby and metadata keys in all.'
                % MAX_ATTRIBUTE_COLUMNS)

    def _stage(self, table):
        """Log the push and gather it into the next batch, handing over a
        full batch first; without a log (in memory, or write_batch_points
        = 0), insert it now. A push that fails leaves nothing behind: it is
        neither logged nor kept."""
        if self._log is None:
            with self._insert_lock:
                self._insert(table)
            return
        if self._staged_points + table.num_rows > self.batch_points:
            self._hand_over()
        try:
            self._log.append(table)
        except OSError as exc:
            raise storage_v2.StorageError(
                'cannot log the points: %s' % exc) from exc
        self._staged.append(table)
        self._staged_points += table.num_rows

    def _hand_over(self):
        """Queue the gathered batch for insertion (caller holds the write
        lock); its log segment is sealed, to be discarded once stored."""
        if not self._staged:
            return
        try:
            segment = self._log.seal()
        except OSError as exc:
            raise storage_v2.StorageError(
                'cannot seal the staging log: %s' % exc) from exc
        with self._pending_lock:
            self._pending.append((self._staged, segment))
            self._pending_points += self._staged_points
        self._staged = []
        self._staged_points = 0

    def _store_staged(self):
        """Insert everything staged or queued (caller holds the write lock,
        so nothing more is handed over meanwhile)."""
        self._hand_over()
        with self._insert_lock:
            self._insert_pending()

    def _flush(self):
        """Insert every point pushed so far before reading or deleting."""
        if self._staged:  # unlocked: a push that returned is listed
            with self._write_lock:
                self._hand_over()
        if self._pending:
            self._drain(wait=True)

    def _drain_quietly(self):
        """Insert the batches handed over, unless another thread is at it
        (it inserts them too). A failure fails no push, whose points are
        logged: they stay queued for the next read, push or start."""
        try:
            self._drain(wait=False)
        except storage_v2.StorageError as exc:
            LOG.warning('inserting staged points failed, will retry: %s',
                        exc)

    def _drain(self, wait):
        """Insert every batch handed over; ``wait`` for a thread already
        inserting, else leave the queue to it."""
        while self._pending:
            if not self._insert_lock.acquire(blocking=wait):
                return
            try:
                self._insert_pending()
            finally:
                self._insert_lock.release()
            # a batch handed over as the lock was released would wait for
            # the next push if nobody looked again

    def _insert_pending(self):
        """Insert the queued batches in order (caller holds the insert
        lock); a failed one stays first in the queue, still logged."""
        while True:
            with self._pending_lock:
                if not self._pending:
                    return
                tables, segment = self._pending[0]
            table = tables[0] if len(tables) == 1 else \
                pa.concat_tables(tables, promote_options='default')
            self._insert(table)
            with self._pending_lock:
                self._pending.popleft()
                self._pending_points -= table.num_rows
            self._log.discard(segment)

    def _insert(self, table):
        """Add the table's new attribute columns, then its rows, all or
        nothing (caller holds the insert lock).

        The arrow table is laid out as the table is (absent attributes as
        nulls) and inserted by position, read by its variable name (a
        DuckDB replacement scan): per 1000-point push that binds ~0.3 ms
        less than from_arrow().insert_into() and ~0.5 ms less than
        register + INSERT BY NAME. Without new columns the insert is one
        statement, its own transaction: no BEGIN/COMMIT statements.
        """
        stored = set(self._columns)
        new_columns = [n for n in table.column_names if n not in stored]
        names = self._columns + new_columns
        absent = pa.nulls(table.num_rows, pa.string())
        present = set(table.column_names)
        incoming_points = pa.table(  # noqa: F841 (read by name below)
            [table.column(name) if name in present else absent
             for name in names], names=names)
        insert = f'INSERT INTO {TABLE} SELECT * FROM incoming_points'
        low, high = (m.as_py() for m in pc.min_max(
            table.column('begin')).values())
        # rollup_day and rollup_month get the points before their
        # watermark (late ones)
        rollup_wheres = []
        if low < self._watermark:
            rollup_wheres.extend((name, 'begin < ' + rollups.WATERMARK)
                                 for name in rollups.SUMMED)
        # a point of a later day: rollup_day and rollup_month sum the days
        # before it
        mark = rollups.day_start(high)
        cursor = self._cursor()
        rollup_rows = day_rows = 0
        if not (new_columns or rollup_wheres or mark > self._watermark):
            # only points: one statement, its own transaction
            try:
                cursor.execute(insert)
            except duckdb.Error as exc:
                raise storage_v2.StorageError(str(exc)) from exc
            self._note_rollup_rows(0, low, high)
            return
        try:
            cursor.begin()
            try:
                for name in new_columns:
                    cursor.execute(f'ALTER TABLE {TABLE} '
                                   f'ADD COLUMN {quote(name)} VARCHAR')
                    for rollup in rollups.ALL_KEYS:
                        if name.startswith(GROUPBY_PREFIX):
                            cursor.execute(
                                f'ALTER TABLE {rollup} '
                                f'ADD COLUMN {quote(name)} VARCHAR')
                cursor.execute(insert)
                for rollup, where in rollup_wheres:
                    rollup_rows += cursor.execute(rollups.aggregate_sql(
                        rollup, self._rollup_columns(rollup, names),
                        'incoming_points', names, where)).fetchall()[0][0]
                if mark > self._watermark:
                    day_rows = self._sum_days(cursor, mark, names)
                cursor.commit()
            except duckdb.Error:
                cursor.rollback()
                raise
        except duckdb.Error as exc:
            raise storage_v2.StorageError(str(exc)) from exc
        if new_columns:
            self._columns = names
            self._note_columns(new_columns)
        self._note_rollup_rows(rollup_rows, low, high)
        if mark > self._watermark:
            self._days_summed(day_rows, mark)

    def delete(self, begin=None, end=None, filters=None):
        with self._write_lock:
            self._store_staged()
            where, params = self._where(begin, end, filters, None)
            with self._insert_lock:
                self._delete(where, params, begin, end)

    def _delete(self, where, params, begin, end):
        """Delete the points matching ``where``, appending their negated
        sums to the rollups in the same transaction (caller holds the
        insert lock)."""
        cursor = self._cursor()
        rollup_rows = 0
        try:
            cursor.begin()
            try:
                for rollup, before in [
                        (name, ' AND begin < ' + rollups.WATERMARK)
                        for name in rollups.SUMMED]:
                    rollup_rows += cursor.execute(rollups.aggregate_sql(
                        rollup, self._rollup_columns(rollup), TABLE,
                        self._columns, '(%s)%s' % (where, before),
                        sign='-'), params).fetchall()[0][0]
                cursor.execute(f'DELETE FROM {TABLE} WHERE {where}', params)
                cursor.commit()
            except duckdb.Error:
                cursor.rollback()
                raise
        except duckdb.Error as exc:
            raise storage_v2.StorageError(str(exc)) from exc
        if rollup_rows:
            self._note_rollup_rows(
                rollup_rows, begin and naive_utc(begin),
                end and naive_utc(end))

    # -- expressions ------------------------------------------------------
    def _attribute(self, key):
        """SQL for an attribute: groupby wins over metadata; NULL if absent."""
        parts = []
        if key in self._groupby_keys:
            parts.append(quote(GROUPBY_PREFIX + key))
        if key in self._metadata_keys:
            parts.append(quote(METADATA_PREFIX + key))
        if key in storage_v2.CALENDAR_FORMATS:
            parts.append("strftime(begin, '%s')"
                         % storage_v2.CALENDAR_FORMATS[key])
        if not parts:
            return ABSENT
        if len(parts) == 1:
            return parts[0]
        return 'COALESCE(%s)' % ', '.join(parts)

    def _time_bucket(self):
        period_us = int(self.period) * 1000000
        return (f'make_timestamp((epoch_us(begin) // {period_us})'
                f' * {period_us})')

    def _where(self, begin, end, filters, metric_types):
        params = query.QmarkParams()
        clause = query.where(
            begin, end, filters, metric_types, self._attribute, params,
            moment=lambda dt, p: p.add(naive_utc(dt)))
        return clause, params

    # -- reads ------------------------------------------------------------
    def total(self, begin, end, groupby=None, filters=None,
              metric_types=None, offset=0, limit=None):
        self._flush()
        groupby = list(groupby or [])
        parts = self._rollup_parts(begin, end, groupby, filters)
        if parts:
            return self._rollup_total(parts, begin, end, groupby, filters,
                                      metric_types, offset, limit)
        where, params = self._where(begin, end, filters, metric_types)
        exprs = self._group_exprs(groupby, self._attribute)
        if not exprs:
            return self._grand_total(begin, end, where, params, offset)
        names = ['k%d' % i for i in range(len(exprs))]
        select = ', '.join('%s AS %s' % (e, n) for e, n in zip(exprs, names))
        # a key no point has is '' in every group: grouping and sorting on
        # hundreds of them ran DuckDB out of memory (one is kept, so that
        # no point still makes no group; the API asks for each key once)
        varying = [(e, n) for e, n in zip(exprs, names) if e != NO_VALUE] \
            or [(exprs[0], names[0])]
        keys = ', '.join(name for _, name in varying)
        return self._page_of_groups(
            f'SELECT {select}, {SUMS}, COUNT(*) OVER () '
            f'FROM {TABLE} WHERE {where} GROUP BY {keys} ORDER BY {keys}',
            f'SELECT 1 FROM {TABLE} WHERE {where} '
            f'GROUP BY {", ".join(expr for expr, _ in varying)}',
            params, groupby, begin, end, offset, limit)

    def _group_exprs(self, groupby, attribute):
        """The SQL of each groupby key, ``attribute(key)`` naming the
        column of an attribute."""
        exprs = []
        for key in groupby:
            if key == 'time':
                exprs.append(self._time_bucket())
            elif key == 'type':
                exprs.append('type')
            else:
                sql = attribute(key)
                exprs.append(NO_VALUE if sql == ABSENT
                             else "COALESCE(%s, '')" % sql)
        return exprs

    def _page_of_groups(self, ordered_groups, groups, params, groupby,
                        begin, end, offset, limit):
        """A summary page: ``ordered_groups`` selects the keys, sums and
        the number of groups (a window count) of every group in order;
        ``groups`` one row a group, counted when the page is past them."""
        page = ' LIMIT %d' % limit if limit is not None else ''
        page += ' OFFSET %d' % offset if offset else ''
        rows = self._query(ordered_groups + page, params)
        if rows:
            count = rows[0][-1]
        elif offset:
            count = self._query(
                f'SELECT COUNT(*) FROM ({groups})', params)[0][0]
        else:
            count = 0
        return query.grouped_total([row[:-1] for row in rows], groupby,
                                   count, begin, end, self.period)

    def _rollup_parts(self, begin, end, groupby, filters):
        """How the rollups answer a summary: a list of (table, begin, end)
        whose rows together hold the points of [begin, end), or None when
        the summary groups or filters by what they do not keep."""
        if not self.use_rollups:
            return None
        keys = {k for k in groupby if k not in ('time', 'type')}
        keys.update(filters or {})
        for key in keys:  # attributes read from groupby columns only
            if key not in self._groupby_keys or \
                    key in self._metadata_keys or \
                    key in storage_v2.CALENDAR_FORMATS:
                return None
        if keys <= {self.scope_key}:
            return [(rollups.PERIOD, begin, end)]
        if 'time' in groupby:
            return None
        # rollup_day or rollup_month, chosen with the watermark
        return [(rollups.DAY, begin, end)]

    @staticmethod
    def _plan_period(begin, end, watermark):
        """The parts of [begin, end) read from rollup_period (before the
        watermark) and from the points table."""
        if end is not None and end <= watermark:
            return [(rollups.PERIOD, begin, end)]
        if begin is not None and begin >= watermark:
            return [(TABLE, begin, end)]
        return [(rollups.PERIOD, begin, watermark), (TABLE, watermark, end)]

    @staticmethod
    def _plan_all_keys(begin, end, watermark):
        """The parts of [begin, end) read from rollup_month or rollup_day
        (the one leaving the shorter span to the points table) and from
        the points table, given rollup_day's watermark."""
        begin = begin and begin.astimezone(UTC)
        end = end and end.astimezone(UTC)
        best = None
        for name in (rollups.MONTH, rollups.DAY):
            span = rollups.covered(name, begin, end, watermark)
            if span is None:
                continue
            first, last = span
            left = datetime.timedelta(0) if first is None else first - begin
            right = datetime.timedelta(0) if end is None else end - last
            if best is None or left + right < best[0]:
                best = (left + right, name, first, last)
        if best is None:
            return [(TABLE, begin, end)]
        _, name, first, last = best
        parts = [(name, first, last)]
        if first is not None and begin < first:
            parts.append((TABLE, begin, first))
        if end is None or last < end:
            parts.append((TABLE, last, end))
        return parts

    def _rollup_total(self, parts, begin, end, groupby, filters,
                      metric_types, offset, limit):
        """total() from rollup rows (and the points of partial days): the
        exact sums of each group's rows, groups without points left out.
        Read in one transaction: rollup_day's watermark and rows, and the
        points, as of one moment."""
        cursor = self._cursor()
        try:
            cursor.begin()
            watermark = cursor.execute(
                f'SELECT watermark FROM {rollups.STATE}').fetchall()[0][0]
        except duckdb.Error as exc:
            raise storage_v2.StorageError(str(exc)) from exc
        try:
            watermark = watermark.replace(tzinfo=UTC)
            if parts[0][0] == rollups.PERIOD:
                parts = self._plan_period(begin, end, watermark)
            else:
                parts = self._plan_all_keys(begin, end, watermark)
            return self._rollup_query(parts, begin, end, groupby, filters,
                                      metric_types, offset, limit)
        finally:
            cursor.rollback()

    def _rollup_query(self, parts, begin, end, groupby, filters,
                      metric_types, offset, limit):
        params = query.QmarkParams()
        sources = []
        for table, part_begin, part_end in parts:
            if table == TABLE:
                attribute = self._attribute
                sums = f'1, CAST(qty AS {rollups.DECIMAL}), ' \
                       f'CAST(price AS {rollups.DECIMAL})'
            else:
                def attribute(key):
                    return quote(GROUPBY_PREFIX + key)
                sums = 'n, qty, price'
            exprs = self._group_exprs(groupby, attribute)
            where = query.where(
                part_begin, part_end, filters, metric_types, attribute,
                params, moment=lambda dt, p: p.add(naive_utc(dt)))
            sources.append('SELECT %s FROM %s WHERE %s' % (
                ', '.join(exprs + [sums]), table, where))
        names = ['k%d' % i for i in range(len(groupby))]
        source = '(%s) AS s(%s)' % (' UNION ALL '.join(sources),
                                    ', '.join(names + ['n', 'qty', 'price']))
        sums = 'CAST(SUM(qty) AS DOUBLE), CAST(SUM(price) AS DOUBLE)'
        if not groupby:
            qty, rate, count = self._query(
                f'SELECT {sums}, SUM(n) FROM {source}', params)[0]
            return query.grand_total(begin, end, qty, rate, count, offset)
        keys = ', '.join(names)
        return self._page_of_groups(
            f'SELECT {keys}, {sums}, COUNT(*) OVER () FROM {source} '
            f'GROUP BY {keys} HAVING SUM(n) > 0 ORDER BY {keys}',
            f'SELECT 1 FROM {source} GROUP BY {keys} HAVING SUM(n) > 0',
            params, groupby, begin, end, offset, limit)

    def _grand_total(self, begin, end, where, params, offset):
        qty, rate, count = self._query(
            f'SELECT {SUMS}, COUNT(*) FROM {TABLE} '
            f'WHERE {where}', params)[0]
        return query.grand_total(begin, end, qty, rate, count, offset)

    def retrieve(self, begin, end, filters=None, metric_types=None,
                 offset=0, limit=100):
        self._flush()
        where, params = self._where(begin, end, filters, metric_types)
        total = self._query(f'SELECT COUNT(*) FROM {TABLE} WHERE {where}',
                            params)[0][0]
        if not total or offset >= total:
            return {'total': total, 'dataframes': []}
        groupby_keys = sorted(self._groupby_keys)
        metadata_keys = sorted(self._metadata_keys)
        try:
            table = self._cursor().sql(
                self._points_query(where, groupby_keys, metadata_keys)
                + f' LIMIT {int(limit)} OFFSET {int(offset)}',
                params=params).to_arrow_table()
        except duckdb.Error as exc:
            raise storage_v2.StorageError(str(exc)) from exc
        moments = {}
        points = [point for batch in table.to_batches()
                  for point in _points(batch, groupby_keys, metadata_keys,
                                       moments)]
        return {'total': total,
                'dataframes': dataframe.frames_from_rows(points)}

    def _points_query(self, where, groupby_keys, metadata_keys):
        """Points in storage order, as _points reads them."""
        columns = ''.join(
            ', ' + quote(GROUPBY_PREFIX + k) for k in groupby_keys) + ''.join(
            ', ' + quote(METADATA_PREFIX + k) for k in metadata_keys)
        return (f'SELECT epoch_us(begin), epoch_us("end"), type, unit, qty, '
                f'price, description{columns} FROM {TABLE} WHERE {where} '
                f'ORDER BY begin, seq')

    def stream(self, begin, end, filters=None, metric_types=None,
               batch_size=5000):
        self._flush()
        where, params = self._where(begin, end, filters, metric_types)
        groupby_keys = sorted(self._groupby_keys)
        metadata_keys = sorted(self._metadata_keys)
        # A cursor of its own: the consumer may query between batches.
        cursor = self._db.cursor()
        try:
            reader = cursor.sql(
                self._points_query(where, groupby_keys, metadata_keys),
                params=params).to_arrow_reader(batch_size)
            moments = {}
            for record_batch in reader:
                yield _points(record_batch, groupby_keys, metadata_keys,
                              moments)
        except duckdb.Error as exc:
            raise storage_v2.StorageError(str(exc)) from exc
        finally:
            cursor.close()

    def scope_ids(self, begin, end, scope_key):
        self._flush()
        where, params = self._where(begin, end, None, None)
        attribute = self._attribute(scope_key)
        rows = self._query(
            f'SELECT DISTINCT {attribute} AS scope FROM {TABLE} '
            f'WHERE {where} AND {attribute} IS NOT NULL ORDER BY scope',
            params)
        return [row[0] for row in rows]


def _points(record_batch, groupby_keys, metadata_keys, moments):
    """Point tuples of an arrow batch, converted column by column (a
    period's datetime is built once and shared by its points)."""
    columns = [column.to_pylist() for column in record_batch.columns]
    for index in (0, 1):
        column = columns[index]
        for micros in set(column).difference(moments):
            moments[micros] = EPOCH + micros * MICROSECOND
        columns[index] = [moments[micros] for micros in column]
    split = 7 + len(groupby_keys)
    count = record_batch.num_rows
    groupbys = _attribute_dicts(groupby_keys, columns[7:split], count)
    metadatas = _attribute_dicts(metadata_keys, columns[split:], count)
    return list(zip(*columns[:6], groupbys, metadatas, columns[6]))


def _attribute_dicts(keys, columns, count):
    if not keys:
        return [{} for _ in range(count)]
    return [{k: v for k, v in zip(keys, values) if v is not None}
            for values in zip(*columns)]
