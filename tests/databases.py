"""Throwaway databases on the shared PostgreSQL and MariaDB servers.

Other engineers run tests on the same servers at the same time, so every
database gets a unique name and is dropped afterwards. A server that is out
of reach skips the test, saying so.
"""
import contextlib
import secrets

import pytest
import sqlalchemy as sa

SERVERS = {
    'postgresql': 'postgresql+psycopg2://postgres@127.0.0.1:5432/',
    'mariadb': 'mysql+pymysql://root@127.0.0.1:3306/',
}
URL_SUFFIX = {'postgresql': '', 'mariadb': '?charset=utf8mb4'}
ADMIN_DATABASE = {'postgresql': 'postgres', 'mariadb': ''}


def _admin_engine(kind):
    return sa.create_engine(SERVERS[kind] + ADMIN_DATABASE[kind],
                            isolation_level='AUTOCOMMIT',
                            poolclass=sa.NullPool)


@contextlib.contextmanager
def temporary_database(kind, purpose):
    """Yield the SQLAlchemy URL of a new, empty database of ``kind``
    ('postgresql' or 'mariadb'); drop it on exit."""
    name = 'rk_%s_%s' % (purpose, secrets.token_hex(6))
    engine = _admin_engine(kind)
    try:
        with engine.connect() as connection:
            if kind == 'postgresql':
                connection.exec_driver_sql('CREATE DATABASE %s' % name)
            else:
                connection.exec_driver_sql(
                    'CREATE DATABASE %s CHARACTER SET utf8mb4' % name)
    except sa.exc.OperationalError as exc:
        pytest.skip('%s server unreachable: %s' % (kind, exc.orig))
    try:
        yield SERVERS[kind] + name + URL_SUFFIX[kind]
    finally:
        with engine.connect() as connection:
            if kind == 'postgresql':
                connection.exec_driver_sql(
                    'DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
            else:
                connection.exec_driver_sql('DROP DATABASE IF EXISTS %s' % name)
        engine.dispose()
