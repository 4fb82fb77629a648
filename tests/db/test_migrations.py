"""Every migration tree goes up, down and up again on each database."""
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import script

from ratekeeper import db
from ratekeeper.db import migration
from ratekeeper.storage import testing
from tests import databases


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def database_url(request, tmp_path):
    if request.param == 'sqlite':
        yield 'sqlite:///%s/migrations.sqlite' % tmp_path
        return
    with databases.temporary_database(request.param, 'migrations') as url:
        yield url


@pytest.fixture
def conf(database_url, tmp_path):
    conf = testing.make_conf(str(tmp_path),
                             database={'connection': database_url})
    yield conf
    db.dispose(conf)


def tables(conf):
    return set(sa.inspect(db.get_engine(conf)).get_table_names())


def test_upgrade_downgrade_upgrade(conf):
    trees = migration.trees()
    assert {'core', 'storage_v1'} <= {tree.name for tree in trees}
    migration.upgrade(conf)
    upgraded = tables(conf)
    assert {'rk_module_states', 'rk_v1_points', 'rk_v1_periods'} <= upgraded
    assert all(migration.current(conf).values())
    migration.downgrade(conf)
    version_tables = {tree.version_table for tree in trees}
    assert tables(conf) <= version_tables  # only alembic's bookkeeping left
    assert not any(migration.current(conf).values())
    migration.upgrade(conf)
    assert tables(conf) == upgraded


def test_heads_read_from_the_files_are_alembic_heads():
    """pending() reads each tree's heads from its revision files (no
    alembic in a service's process): the same heads as alembic's."""
    for tree in migration.trees():
        assert migration.heads(tree) == set(script.ScriptDirectory(
            tree.script_location).get_heads()), tree.name


def test_pending_names_the_trees_behind(conf):
    names = [tree.name for tree in migration.trees()]
    assert migration.pending(conf) == names
    assert 'ratekeeper-dbsync upgrade' in migration.behind_message(conf)
    migration.upgrade(conf)
    assert migration.pending(conf) == []
    assert migration.behind_message(conf) is None
    migration.downgrade(conf, 'hashmap_0001', only='hashmap')
    assert migration.pending(conf) == ['hashmap']
    assert migration.current(conf)['hashmap'] == 'hashmap_0001'


def dbsync(config_path, *args):
    return subprocess.run(
        [sys.executable, '-m', 'ratekeeper.cmd.dbsync',
         '--config-file', config_path, *args],
        capture_output=True, text=True, timeout=120)


def test_dbsync_current_prints_each_tree(database_url, tmp_path):
    config_path = tmp_path / 'ratekeeper.conf'
    config_path.write_text('[database]\nconnection = %s\n' % database_url)
    names = [tree.name for tree in migration.trees()]
    before = dbsync(str(config_path), 'current')
    assert before.returncode == 0, before.stderr
    assert before.stdout.splitlines() == ['%s: none' % n for n in names]
    upgrade = dbsync(str(config_path), 'upgrade')
    assert upgrade.returncode == 0, upgrade.stderr
    after = dbsync(str(config_path), 'current').stdout.splitlines()
    heads = [script.ScriptDirectory(tree.script_location).get_current_head()
             for tree in migration.trees()]
    assert after == ['%s: %s' % pair for pair in zip(names, heads)]


def test_hashmap_rules_get_the_decimals_the_api_shows(conf):
    """Rules stored before costs and levels were rounded on write price as
    the API shows them once upgraded."""
    migration.upgrade(conf)
    migration.downgrade(conf, 'hashmap_0001', only='hashmap')
    with db.get_engine(conf).begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO rk_hashmap_services (service_id, name) "
            "VALUES ('00000000-0000-0000-0000-000000000001', 'instance')"))
        connection.execute(sa.text(
            "INSERT INTO rk_hashmap_thresholds (threshold_id, level, "
            "map_type, cost, service_id) VALUES "
            "('00000000-0000-0000-0000-000000000002', '4.000000005', "
            "'flat', '0.12345678901234567890123456789', "
            "'00000000-0000-0000-0000-000000000001')"))
    migration.upgrade(conf)
    with db.get_engine(conf).connect() as connection:
        level, cost = connection.execute(sa.text(
            'SELECT level, cost FROM rk_hashmap_thresholds')).one()
    assert (level, cost) == ('4.00000001', '0.1234567890123456789012345679')
