"""What differs between SQLite, PostgreSQL and MariaDB: reading one key of
a JSON attribute document, ignoring duplicate inserts, and bulk loading.

Everything else in the v1 storage is portable SQL.
"""
POINT_COLUMNS = ('period_id', 'type', 'unit', 'qty', 'price', 'scope_id',
                 'groupby', 'metadata', 'description_id')
ROLLUP_COLUMNS = ('period_id', 'type', 'scope_id', 'qty', 'price', 'points')
TYPE_ROLLUP_COLUMNS = ('period_id', 'type', 'qty', 'price', 'points')

# COPY's text format: backslash escapes for the four special characters.
COPY_ESCAPES = str.maketrans({'\\': '\\\\', '\t': '\\t', '\n': '\\n',
                              '\r': '\\r'})


class Dialect:
    name = None
    placeholder = '?'
    attribute_text = '{column}'  # how to select a JSON column as text

    def attribute(self, column, key, param):
        """SQL reading ``key`` of the JSON document ``column`` as text (NULL
        when absent); ``param`` names the bound parameter holding the key
        (see key_param)."""
        raise NotImplementedError

    def key_param(self, key):
        return key

    def order_text(self, expr):
        """``expr`` made to sort text by code point, as DuckDB does."""
        return expr

    def insert_ignore(self, table):
        raise NotImplementedError

    def insert_points(self, dbapi_connection, rows):
        self.insert_rows(dbapi_connection, 'rk_v1_points', POINT_COLUMNS,
                         rows)

    def insert_rollups(self, dbapi_connection, rows):
        self.insert_rows(dbapi_connection, 'rk_v1_rollups', ROLLUP_COLUMNS,
                         rows)

    def insert_type_rollups(self, dbapi_connection, rows):
        self.insert_rows(dbapi_connection, 'rk_v1_type_rollups',
                         TYPE_ROLLUP_COLUMNS, rows)

    def insert_rows(self, dbapi_connection, table, columns, rows):
        """Row tuples into ``table`` in one DBAPI executemany."""
        cursor = dbapi_connection.cursor()
        try:
            cursor.executemany('INSERT INTO %s (%s) VALUES (%s)' % (
                table, ', '.join(columns),
                ', '.join([self.placeholder] * len(columns))), rows)
        finally:
            cursor.close()


class SQLite(Dialect):
    name = 'sqlite'

    def attribute(self, column, key, param):
        # json_extract's path syntax cannot quote '"' or '\' in a key: such
        # keys take the slower json_each lookup.
        if '"' in key or '\\' in key:
            return ('(SELECT value FROM json_each(%s) WHERE key = :%s)'
                    % (column, param))
        return 'json_extract(%s, :%s)' % (column, param)

    def key_param(self, key):
        if '"' in key or '\\' in key:
            return key
        return '$."%s"' % key

    def insert_ignore(self, table):
        # each dialect's module is imported by the dialect in use only
        from sqlalchemy.dialects import sqlite
        return sqlite.insert(table).on_conflict_do_nothing()


class PostgreSQL(Dialect):
    name = 'postgresql'
    attribute_text = '{column}::text'

    def attribute(self, column, key, param):
        return '(%s ->> :%s)' % (column, param)

    def order_text(self, expr):
        return '(%s) COLLATE "C"' % expr

    def insert_ignore(self, table):
        from sqlalchemy.dialects import postgresql
        return postgresql.insert(table).on_conflict_do_nothing()

    def insert_points(self, dbapi_connection, rows):
        """COPY: one round trip for the whole batch, its text made as
        COPY reads it."""
        _copy(dbapi_connection, 'rk_v1_points', POINT_COLUMNS,
              map(_point_line, rows))

    def insert_rows(self, dbapi_connection, table, columns, rows):
        lines = ['\t'.join(['\\N' if value is None
                            else _copy_text(value) if isinstance(value, str)
                            else repr(value) for value in row]) + '\n'
                 for row in rows]
        _copy(dbapi_connection, table, columns, lines)


def _point_line(row):
    (period_id, metric_type, unit, qty, price, scope, groupby, metadata,
     description_id) = row
    # orjson escapes control characters: JSON needs only its backslashes
    # doubled.
    return '%d\t%s\t%s\t%r\t%r\t%s\t%s\t%s\t%s\n' % (
        period_id, _copy_text(metric_type), _copy_text(unit), qty, price,
        '\\N' if scope is None else _copy_text(scope),
        groupby.replace('\\', '\\\\'), metadata.replace('\\', '\\\\'),
        '\\N' if description_id is None else description_id)


class _LinesFile:
    """A file COPY reads in chunks, over lines made on demand: a push's
    COPY text never exists whole (a StringIO of it took 4 bytes a
    character, for every push in flight)."""

    def __init__(self, lines):
        self._lines = iter(lines)
        self._rest = ''

    def read(self, size=-1):
        parts, length = [self._rest], len(self._rest)
        for line in self._lines:
            parts.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        text = ''.join(parts)
        if size < 0 or length <= size:
            self._rest = ''
            return text
        self._rest = text[size:]
        return text[:size]


def _copy(dbapi_connection, table, columns, lines):
    cursor = dbapi_connection.cursor()
    try:
        cursor.copy_expert('COPY %s (%s) FROM STDIN'
                           % (table, ', '.join(columns)), _LinesFile(lines))
    finally:
        cursor.close()


def _copy_text(value):
    if '\\' in value or '\t' in value or '\n' in value or '\r' in value:
        return value.translate(COPY_ESCAPES)
    return value


class MariaDB(Dialect):
    """MariaDB and MySQL; pymysql folds executemany into multi-row INSERTs."""

    name = 'mysql'
    placeholder = '%s'

    def attribute(self, column, key, param):
        return 'JSON_UNQUOTE(JSON_EXTRACT(%s, :%s))' % (column, param)

    def key_param(self, key):
        return '$."%s"' % key.replace('\\', '\\\\').replace('"', '\\"')

    # pymysql folds an executemany into INSERTs of up to ~1 MB, each
    # built in a bytearray and copied once more to be sent; smaller ones
    # cost a push in flight (several at once in a processor) far less
    # memory for a few more round trips
    max_statement_bytes = 128 * 1024

    def insert_ignore(self, table):
        from sqlalchemy.dialects import mysql
        return mysql.insert(table).prefix_with('IGNORE')

    def insert_rows(self, dbapi_connection, table, columns, rows):
        cursor = dbapi_connection.cursor()
        try:
            cursor.max_stmt_length = self.max_statement_bytes
            cursor.executemany('INSERT INTO %s (%s) VALUES (%s)' % (
                table, ', '.join(columns),
                ', '.join([self.placeholder] * len(columns))), rows)
        finally:
            cursor.close()


DIALECTS = {'sqlite': SQLite, 'postgresql': PostgreSQL, 'mysql': MariaDB,
            'mariadb': MariaDB}


def for_engine(engine):
    try:
        return DIALECTS[engine.dialect.name]()
    except KeyError:
        raise ValueError('the v1 storage does not support %s databases'
                         % engine.dialect.name) from None
