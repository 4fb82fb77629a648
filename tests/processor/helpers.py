"""A processor and an API sharing one embedded storage, for tests."""
import contextlib
import datetime
import decimal

import orjson
from werkzeug import test as werkzeug_test

from ratekeeper import db
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from ratekeeper.processor import orchestrator
from ratekeeper.storage import testing
from tests.processor import conftest

JSON = {'Content-Type': 'application/json'}


def processor_conf(tmp_path, url, begin, metrics_yml=conftest.METRICS_YML,
                   **groups):
    path = tmp_path / 'metrics.yml'
    path.write_text(metrics_yml)
    options = {
        'collect': {'collector': 'prometheus', 'metrics_conf': str(path),
                    'first_period': begin.isoformat(), 'wait_periods': 0},
        'fetcher': {'backend': 'source'},
        'fetcher_source': {'sources': list(conftest.SCOPES)},
        'collector_prometheus': {'prometheus_url': url},
        'orchestrator': {'coordination_url': 'file://%s/locks' % tmp_path},
    }
    for group, values in groups.items():
        options.setdefault(group, {}).update(values)
    conf = testing.make_conf(str(tmp_path), **options)
    conf.set_override('auth_strategy', 'noauth')
    return conf


@contextlib.contextmanager
def service(conf):
    """(storage, werkzeug client of the API) on migrated databases."""
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    try:
        yield storage, werkzeug_test.Client(rk_app.build_app(conf, storage))
    finally:
        storage.close()
        db.dispose(conf)


def clock_at(moment):
    return lambda: moment


@contextlib.contextmanager
def processor(conf, storage, now):
    """A Processor on ``storage`` whose clock reads ``now``."""
    running = orchestrator.Processor(conf, storage, clock=clock_at(now))
    try:
        yield running
    finally:
        running.close()


def price_instances(client, cost='0.5'):
    """hashmap on, a flat ``cost`` per instance since 2020."""
    assert client.put('/v2/rating/modules/hashmap', headers=JSON,
                      data=orjson.dumps({'enabled': True})).status_code == 204
    service = client.post('/v1/rating/module_config/hashmap/services',
                          headers=JSON,
                          data=orjson.dumps({'name': 'instance'}))
    assert service.status_code == 201, service.get_data()
    mapping = client.post(
        '/v1/rating/module_config/hashmap/mappings?force=true', headers=JSON,
        data=orjson.dumps({'service_id': service.get_json()['service_id'],
                           'cost': cost, 'type': 'flat',
                           'start': '2020-01-01T00:00:00'}))
    assert mapping.status_code == 201, mapping.get_data()


def summary(client, begin, end, groupby='type,project_id'):
    """{(groupby values...): (qty, rate)} from /v2/summary."""
    response = client.get('/v2/summary', query_string={
        'begin': begin.isoformat(), 'end': end.isoformat(),
        'groupby': groupby, 'response_format': 'object', 'limit': 1000})
    assert response.status_code == 200, response.get_data()
    keys = groupby.split(',')
    return {tuple(row[k] for k in keys): (decimal.Decimal(str(row['qty'])),
                                          decimal.Decimal(str(row['rate'])))
            for row in response.get_json()['results']}


def hours(n):
    return datetime.timedelta(hours=n)
