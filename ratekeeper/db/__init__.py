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


def _pymysql_without_eager_cryptography():
    """Import pymysql without the ``cryptography`` package it imports
    eagerly (~9 MB of resident memory: OpenSSL bindings) and uses only to
    RSA-encrypt a password for MySQL's sha256_password and
    caching_sha2_password over a connection without TLS. Its one user,
    ``pymysql._auth.sha2_rsa_encrypt``, imports it when first called, so
    those logins still work; MariaDB's default mysql_native_password
    never needs it. Nothing changes if pymysql or cryptography was
    already imported."""
    import sys
    if 'pymysql' in sys.modules or 'cryptography' in sys.modules:
        return
    hidden = 'cryptography.hazmat.backends'
    sys.modules[hidden] = None   # an ImportError for pymysql._auth
    try:
        import pymysql  # noqa: F401
        from pymysql import _auth
    except ImportError:
        return
    finally:
        del sys.modules[hidden]
    if _auth._have_cryptography or not hasattr(_auth, 'sha2_rsa_encrypt'):
        return
    encrypt = _auth.sha2_rsa_encrypt

    def sha2_rsa_encrypt(password, salt, public_key):
        try:
            from cryptography.hazmat.backends import default_backend
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import padding
        except ImportError:
            return encrypt(password, salt, public_key)   # its own error
        vars(_auth).update(default_backend=default_backend, hashes=hashes,
                           serialization=serialization, padding=padding,
                           _have_cryptography=True)
        return encrypt(password, salt, public_key)

    _auth.sha2_rsa_encrypt = sha2_rsa_encrypt


def _make_engine(url):
    parsed = sa.engine.make_url(url)
    if parsed.get_driver_name() == 'pymysql':
        _pymysql_without_eager_cryptography()
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
