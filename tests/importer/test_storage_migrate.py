"""ratekeeper-storage migrate: rated data from the v1 SQL storage to
DuckDB and back (and v1 on MariaDB), as real processes, verified by totals
and by every point read back, descriptions included."""
import json
import os
import subprocess

import pytest

from ratekeeper import conf as rk_conf
from ratekeeper import storage as rk_storage
from ratekeeper.cmd import storage as storage_cmd
from tests import cloudkitty_service
from tests import databases
from tests import live

MIGRATE = os.path.join(live.BIN, 'ratekeeper-storage')
DBSYNC = os.path.join(live.BIN, 'ratekeeper-dbsync')
INGEST = os.path.join(live.BIN, 'ratekeeper-ingest')
USAGE_POINTS = 1500
# points with their metric's description, in a period of their own
DESCRIBED = {'period': {'begin': '2026-10-31T19:00:00+00:00',
                        'end': '2026-10-31T20:00:00+00:00'},
             'usage': {'instance': [
                 {'vol': {'unit': 'instance', 'qty': 1},
                  'rating': {'price': 0.5},
                  'groupby': {'project_id': 'p-%d' % n, 'id': 'vm'},
                  'metadata': {}, 'description': 'Instance uptime'}
                 for n in range(3)]}}
POINTS = USAGE_POINTS + 3


def write_config(directory, version, url=None, storage_lines=''):
    os.makedirs(directory, exist_ok=True)
    url = url or 'sqlite:///%s/ratekeeper.sqlite' % directory
    path = os.path.join(directory, 'ratekeeper.conf')
    with open(path, 'w') as stream:
        stream.write('[DEFAULT]\nstate_path = %s\n[storage]\nversion = %d\n'
                     '%s[database]\nconnection = %s\n'
                     % (directory, version, storage_lines, url))
    subprocess.run([DBSYNC, '--config-file', path, 'upgrade'], check=True,
                   capture_output=True)
    return path


def points_of(path):
    """Every stored point, as comparable tuples, and the store closed."""
    conf = storage_cmd.target_conf(path)
    storage = rk_storage.get_storage(conf)
    try:
        return sorted(
            (begin.isoformat(), end.isoformat(), kind, unit,
             round(qty, 9), round(price, 9), sorted(groupby.items()),
             sorted(metadata.items()), description)
            for batch in storage.stream(None, None)
            for (begin, end, kind, unit, qty, price, groupby, metadata,
                 description) in batch)
    finally:
        storage.close()


def migrate(source, target, *args):
    result = subprocess.run([MIGRATE, '--config-file', source, 'migrate',
                             '--to-config', target] + list(args),
                            capture_output=True, text=True, timeout=300)
    return result


@pytest.fixture(params=['sqlite', 'mariadb'])
def v1_source(request, tmp_path):
    """A v1 SQL storage holding POINTS points: its config file."""
    directory = str(tmp_path / 'v1')
    if request.param == 'sqlite':
        path = write_config(directory, 1)
    else:
        with databases.temporary_database('mariadb', 'migrate') as url:
            path = write_config(directory, 1, url)
            yield _filled(path)
            return
    yield _filled(path)


def _filled(path):
    bodies = cloudkitty_service.usagegen(
        'dump', '-n', str(USAGE_POINTS), '--start', '2026-10-31T20:00:00')
    bodies += json.dumps({'dataframes': [DESCRIBED]}).encode() + b'\n'
    subprocess.run([INGEST, '--config-file', path, '-'], input=bodies,
                   check=True, capture_output=True)
    return path


def test_v1_to_duckdb_and_back(v1_source, tmp_path):
    duckdb = write_config(str(tmp_path / 'duckdb'), 2)
    result = migrate(v1_source, duckdb)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '%d points copied' % POINTS in result.stdout
    assert result.stdout.rstrip().endswith('all totals equal')
    original = points_of(v1_source)
    assert len(original) == POINTS
    assert [p[-1] for p in original].count('Instance uptime') == 3
    assert points_of(duckdb) == original

    again = migrate(v1_source, duckdb)
    assert again.returncode == 0
    assert 'already copied by an earlier run' in again.stdout

    back = write_config(str(tmp_path / 'v1-again'), 1)
    result = migrate(duckdb, back)
    assert result.returncode == 0, result.stdout + result.stderr
    assert points_of(back) == original


def test_duckdb_to_clickhouse_and_back(tmp_path):
    from tests import clickhouse
    server = clickhouse.server()
    database = clickhouse.database_name('migrate')
    duckdb = _filled(write_config(str(tmp_path / 'duckdb'), 2))
    target = write_config(
        str(tmp_path / 'clickhouse'), 2,
        storage_lines='backend = clickhouse\n[storage_clickhouse]\n'
                      'url = %s\n' % server.url(database))
    try:
        result = migrate(duckdb, target)
        assert result.returncode == 0, result.stdout + result.stderr
        assert '%d points copied' % POINTS in result.stdout
        assert result.stdout.rstrip().endswith('all totals equal')
        original = points_of(duckdb)
        assert len(original) == POINTS
        assert [p[-1] for p in original].count('Instance uptime') == 3
        assert points_of(target) == original

        back = write_config(str(tmp_path / 'v1-again'), 1)
        result = migrate(target, back)
        assert result.returncode == 0, result.stdout + result.stderr
        assert points_of(back) == original
    finally:
        clickhouse.drop_database(server.tcp_port, database)


def test_refuses_a_target_holding_data(v1_source, tmp_path):
    other = write_config(str(tmp_path / 'other'), 2)
    _filled(other)
    result = migrate(v1_source, other)
    assert result.returncode == 2
    assert 'already holds rated data' in result.stderr
    assert len(points_of(other)) == POINTS


def test_target_conf_is_its_own(tmp_path):
    path = write_config(str(tmp_path / 'target'), 2)
    conf = storage_cmd.target_conf(path)
    assert conf.state_path == str(tmp_path / 'target')
    assert conf is not rk_conf.CONF
