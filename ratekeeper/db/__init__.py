"""The SQL database: engines, transactions and the model base.

One database (``[database] connection``) holds the v1 storage, the rating
modules' state and rules, and the collector tables. SQLite (the embedded
default), PostgreSQL and MariaDB are supported.
"""
import contextlib
import os
import threading

import sqlalchemy as sa
from sqlalchemy import orm

_ENGINES = {}
_LOCK = threading.Lock()


class Base(orm.DeclarativeBase):
    pass


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    # Checkpoint the WAL every ~40 MB instead of 4 MB: bulk ingest commits
    # often, and each checkpoint is a copy plus an fsync.
    cursor.execute('PRAGMA wal_autocheckpoint=10000')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA busy_timeout=30000')
    cursor.close()


def _make_engine(url):
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == 'sqlite':
        if parsed.database and parsed.database != ':memory:':
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)),
                        exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, 'connect', _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10,
                            max_overflow=20)


def get_engine(conf):
    """The engine of ``[database] connection``, one per URL per process."""
    url = conf.database.connection
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _make_engine(url)
    return engine


def dispose(conf):
    with _LOCK:
        engine = _ENGINES.pop(conf.database.connection, None)
    if engine is not None:
        engine.dispose()


@contextlib.contextmanager
def transaction(conf):
    """A session in a transaction: committed on success, rolled back on
    any exception."""
    with orm.Session(get_engine(conf), expire_on_commit=False) as session:
        with session.begin():
            yield session
