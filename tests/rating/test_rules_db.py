"""Hashmap rules in every supported SQL database: migrations, exact
decimals, the engine following rule changes without a restart."""
import contextlib
import datetime
import decimal

import pytest

from ratekeeper import db
from ratekeeper.db import migration
from ratekeeper.rating import hashmap
from ratekeeper.rating.hashmap import database
from tests import databases
from tests.functional import fixtures
from tests.rating.test_engine import batch_of


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def conf(request, tmp_path):
    with contextlib.ExitStack() as stack:
        conf = fixtures.make_conf(str(tmp_path))
        if request.param != 'sqlite':
            url = stack.enter_context(
                databases.temporary_database(request.param, 'rating'))
            conf.set_override('connection', url, 'database')
        migration.upgrade(conf)
        yield conf
        migration.downgrade(conf)
        db.dispose(conf)


def test_costs_keep_their_decimal_value(conf):
    service = database.create_service(conf, 'instance')
    database.create_mapping(conf, {'service_id': service.service_id,
                                   'cost': decimal.Decimal('0.01'),
                                   'start': datetime.datetime(2020, 1, 1)},
                            force=True)
    [mapping] = database.list_mappings(conf, service_id=service.service_id)
    assert mapping.cost == decimal.Decimal('0.01')
    assert str(mapping.cost) == '0.01'


def test_engine_follows_rule_changes(conf):
    module = hashmap.HashMap(conf)
    service = database.create_service(conf, 'instance')
    mapping = database.create_mapping(
        conf, {'service_id': service.service_id,
               'cost': decimal.Decimal('0.5'),
               'start': datetime.datetime(2020, 1, 1)}, force=True)
    point = [('instance', 2, {'project_id': 'p'}, {})]
    batch = batch_of(point)
    module.process(batch)
    assert batch.price == [1.0]
    database.delete_mapping(conf, mapping.mapping_id)
    database.create_mapping(conf, {'service_id': service.service_id,
                                   'cost': decimal.Decimal('0.75'),
                                   'start': datetime.datetime(2020, 1, 1)},
                            force=True)
    batch = batch_of(point)
    module.process(batch)
    assert batch.price == [1.5]


def test_deleting_a_service_removes_its_rules(conf):
    service = database.create_service(conf, 'volume')
    field = database.create_field(conf, service.service_id, 'volume_type')
    database.create_threshold(conf, {'field_id': field.field_id,
                                     'level': decimal.Decimal('1'),
                                     'cost': decimal.Decimal('2')})
    database.delete_service(conf, service.service_id)
    _, services, fields, _, mappings, thresholds = database.load_all(conf)
    assert (services, fields, mappings, thresholds) == ([], [], [], [])


def test_levels_and_costs_price_as_kept(conf):
    """CloudKitty keeps 8 decimals of a level and 28 of a cost: a level
    sent as 4.000000001 is 4.00000000, reached by a quantity of 4."""
    module = hashmap.HashMap(conf)
    service = database.create_service(conf, 'instance')
    database.create_mapping(conf, {'service_id': service.service_id,
                                   'cost': decimal.Decimal('1'),
                                   'start': datetime.datetime(2020, 1, 1)},
                            force=True)
    threshold = database.create_threshold(conf, {
        'service_id': service.service_id,
        'level': decimal.Decimal('4.000000001'),
        'cost': decimal.Decimal('10.00000000000000000000000000009')})
    assert threshold.level == decimal.Decimal('4')
    assert threshold.cost == decimal.Decimal('10.0000000000000000000000000001')
    batch = batch_of([('instance', 4, {'project_id': 'p'}, {})])
    module.process(batch)
    assert batch.price == [14.0]
