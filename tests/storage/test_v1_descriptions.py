"""The v1 SQL storage keeps descriptions in a dictionary table, added by
its own migration (0006) to databases holding points from before."""
import pytest
import sqlalchemy as sa

from ratekeeper import dataframe
from ratekeeper import db
from ratekeeper import storage as rk_storage
from ratekeeper.db import migration
from ratekeeper.storage import testing
from tests import databases


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def conf(request, tmp_path):
    if request.param == 'sqlite':
        url = 'sqlite:///%s/v1.sqlite' % tmp_path
        yield testing.make_conf(str(tmp_path), storage={'version': 1},
                                database={'connection': url})
        return
    with databases.temporary_database(request.param, 'v1desc') as url:
        conf = testing.make_conf(str(tmp_path), storage={'version': 1},
                                 database={'connection': url})
        yield conf
        db.dispose(conf)


def described(description, project, hour):
    point = testing.point(1, 0.5, project, 'vm-' + project)
    point['description'] = description
    return dataframe.parse_dataframes([testing.frame(
        testing.BEGIN + hour * testing.HOUR, {'instance': [point]})])


def test_points_from_before_0006_read_none_and_new_ones_keep_theirs(conf):
    migration.upgrade(conf)
    migration.downgrade(conf, '0005', only='storage_v1')
    with db.get_engine(conf).begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO rk_v1_periods (begin, \"end\", begin_epoch, "
            "day_of_the_year, week_of_the_year, month, year) VALUES "
            "('2015-12-31 22:00:00', '2015-12-31 23:00:00', 1451599200, "
            "'365', '52', '12', '2015')".replace(
                '"', '`' if conf.database.connection.startswith('mysql')
                else '"')))
        connection.execute(sa.text(
            "INSERT INTO rk_v1_points (period_id, type, unit, qty, price, "
            "scope_id, groupby, metadata) SELECT id, 'instance', 'u', 1, 1, "
            "'old', '{\"project_id\": \"old\"}', '{}' FROM rk_v1_periods"))
    storage = rk_storage.get_storage(conf)  # upgrades to the head
    try:
        storage.push(described('Instance uptime', 'p1', 1))
        storage.push(described('Instance uptime', 'p2', 2))
        points = [p for batch in storage.stream(None, None) for p in batch]
        with db.get_engine(conf).connect() as connection:
            kept = connection.execute(sa.text(
                'SELECT description FROM rk_v1_descriptions')).fetchall()
    finally:
        storage.close()
    assert [('old', None), ('p1', 'Instance uptime'),
            ('p2', 'Instance uptime')] == [
        (p[6]['project_id'], p[8]) for p in points]
    assert [('Instance uptime',)] == [tuple(row) for row in kept]
