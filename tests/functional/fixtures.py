"""Gabbi fixtures: a fresh service per YAML file, with real storage.

Gabbi builds its tests (and calls the intercept) before any fixture runs,
so the intercepted app is a thin callable that serves whatever app the
current file's ConfigFixture built.
"""
import datetime
import json
import os
import shutil
import tempfile

from gabbi import fixture
from oslo_config import cfg

from ratekeeper import conf as rk_conf
from ratekeeper import dataframe
from ratekeeper import db
from ratekeeper import policy
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from ratekeeper.processor import state as scope_state

STATE = {}
# The v2 backend the next files run on (tests/test_gabbi.py sets it)
BACKEND = {'name': 'duckdb'}

PROJECT_A = '8f82cc70-e50c-466e-8624-24bdea811375'
PROJECT_B = '7606a24a-b8ad-4ae0-be6c-3d7a41334a2e'
UTC = datetime.timezone.utc


def make_conf(state_path, **overrides):
    """A private ConfigOpts for one test service (never the global CONF)."""
    conf = cfg.ConfigOpts()
    rk_conf.register_opts(conf)
    conf([], project='ratekeeper', default_config_files=[])
    conf.set_override('auth_strategy', 'noauth')
    conf.set_override('state_path', state_path)
    conf.set_override('response_validation', 'error', 'api')
    for (group, name), value in overrides.items():
        conf.set_override(name, value, group)
    return conf


def setup_app():
    def serve(environ, start_response):
        return STATE['app'](environ, start_response)
    return serve


def backend_overrides(backend):
    """Options putting v2 storage on ``backend``, and a function that
    removes what it stored afterwards."""
    if backend == 'duckdb':
        return {}, lambda: None
    if backend == 'influxdb':
        from tests import influx
        name = influx.database_name('gabbi')
        options = {('storage_influxdb', key): value for key, value
                   in influx.server().options(name).items()}
        options[('storage', 'backend')] = 'influxdb'
        return options, lambda: influx.drop_database(name)
    from tests import clickhouse
    server = clickhouse.server()
    name = clickhouse.database_name('gabbi')
    return ({('storage', 'backend'): 'clickhouse',
             ('storage_clickhouse', 'url'): server.url(name)},
            lambda: clickhouse.drop_database(server.tcp_port, name))


class ConfigFixture(fixture.GabbiFixture):
    """v2 storage on BACKEND (an embedded DuckDB file by default), SQLite
    for the SQL tables."""

    overrides = {}
    uses_v2_storage = True

    def start_fixture(self):
        self.state_path = tempfile.mkdtemp(prefix='ratekeeper-gabbi-')
        conf = make_conf(self.state_path)
        storage_overrides, self.remove_storage = backend_overrides(
            BACKEND['name'] if self.uses_v2_storage else 'duckdb')
        for (group, name), value in {**storage_overrides,
                                     **self.overrides}.items():
            conf.set_override(name, value, group)
        migration.upgrade(conf)
        storage = rk_storage.get_storage(conf)
        STATE.update(conf=conf, storage=storage,
                     app=rk_app.build_app(conf, storage))

    def stop_fixture(self):
        STATE['storage'].close()
        self.remove_storage()
        db.dispose(STATE['conf'])
        policy.reset()
        STATE.clear()
        shutil.rmtree(self.state_path, ignore_errors=True)


def _point(qty, price, project, resource, **metadata):
    return {'vol': {'unit': 'unit', 'qty': qty}, 'rating': {'price': price},
            'groupby': {'project_id': project, 'id': resource},
            'metadata': metadata}


def known_frames(begin, hours, project_a=PROJECT_A,
                 project_b=PROJECT_B):
    """Hourly frames from ``begin``: in each hour, project A has two
    instances (1 each at 0.5) and one volume (10 GiB at 0.25); project B
    has one instance (1 at 0.5) and one image (4 at 0.125).

    Per hour: qty 17, rate 1.875 (A: 12, 1.25; B: 5, 0.625).
    The projects' ids can be given (a real Keystone's, for instance).
    """
    frames = []
    for hour in range(hours):
        start = begin + datetime.timedelta(hours=hour)
        frames.append({
            'period': {'begin': start.isoformat(),
                       'end': (start + datetime.timedelta(hours=1))
                       .isoformat()},
            'usage': {
                'instance': [
                    _point(1, 0.5, project_a, 'vm-a1', flavor_name='m1.small'),
                    _point(1, 0.5, project_a, 'vm-a2', flavor_name='m1.large'),
                    _point(1, 0.5, project_b, 'vm-b1', flavor_name='m1.small'),
                ],
                'volume': [_point(10, 0.25, project_a, 'vol-a1',
                                  volume_type='ssd')],
                'image': [_point(4, 0.125, project_b, 'img-b1',
                                 disk_format='qcow2')],
            }})
    return frames


class PastDataFixture(fixture.GabbiFixture):
    """24 hours of known data from 2015-01-04T00:00:00Z."""

    BEGIN = datetime.datetime(2015, 1, 4, tzinfo=UTC)

    def start_fixture(self):
        STATE['storage'].push(dataframe.parse_dataframes(
            known_frames(self.BEGIN, 24)))


class CurrentMonthDataFixture(fixture.GabbiFixture):
    """3 hours of the same data from the first hour of the current month."""

    def start_fixture(self):
        begin = datetime.datetime.now(UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0)
        STATE['storage'].push(dataframe.parse_dataframes(
            known_frames(begin, 3)))


def environ_fixture(**variables):
    """Expose values to YAML files as $ENVIRON['NAME']."""
    for key, value in variables.items():
        os.environ[key] = value


environ_fixture(PROJECT_A=PROJECT_A, PROJECT_B=PROJECT_B)


class StorageV1Fixture(ConfigFixture):
    """[storage] version = 1: the v1 SQL backend, no /v2."""

    overrides = {('storage', 'version'): 1}
    uses_v2_storage = False


class MetricsConfFixture(fixture.GabbiFixture):
    """[collect] metrics_conf pointing at a file written by the test:
    ``content`` is its text, None for a missing file."""

    content = None

    def start_fixture(self):
        path = os.path.join(STATE['conf'].state_path, 'metrics.yml')
        if self.content is not None:
            with open(path, 'w', encoding='utf-8') as stream:
                stream.write(self.content)
        STATE['conf'].set_override('metrics_conf', path, 'collect')


class MissingMetricsConfFixture(MetricsConfFixture):
    content = None


class InvalidMetricsConfFixture(MetricsConfFixture):
    content = 'metrics:\n  cpu:\n    unit: instance\n    mutate: SQUARE\n'


class BrokenMetricsConfFixture(MetricsConfFixture):
    content = 'metrics: [unclosed\n'


class ListFormMetricsConfFixture(MetricsConfFixture):
    """One metric rated under two names (CloudKitty's list form), beside
    a plain entry."""

    content = ('metrics:\n'
               '  cpu:\n'
               '    - unit: instance\n'
               '      alt_name: instance\n'
               '      groupby: [id]\n'
               '      metadata: [flavor_name]\n'
               '    - unit: vcpu\n'
               '      alt_name: vcpus\n'
               '      factor: 2\n'
               '      metadata: [flavor_name, vcpus]\n'
               '  volume.size:\n'
               '    unit: GiB\n'
               '    metadata: [volume_type]\n')


environ_fixture(LONG_NAME='x' * 300)
# deeper than the interpreter's recursion limit
environ_fixture(LONG_URI_PART='x' * 17000)


def _one_point_body(metadata):
    return json.dumps({'dataframes': [{
        'period': {'begin': '2015-01-04T05:00:00Z',
                   'end': '2015-01-04T06:00:00Z'},
        'usage': {'x': [{'vol': {'unit': 'u', 'qty': 1},
                         'rating': {'price': 1}, 'groupby': {},
                         'metadata': metadata}]}}]})


def _nested(depth):
    value = 'x'
    for _ in range(depth):
        value = [value]
    return value


environ_fixture(
    MANY_KEYS_BODY=_one_point_body({'k%d' % i: 'v' for i in range(300)}),
    DEEP_ATTRIBUTE_BODY=_one_point_body({'deep': _nested(300)}))
environ_fixture(DEEP_JSON='{"a": ' + '[' * 5000 + ']' * 5000 + '}')
# 500 groupby keys no point has, then project_id 200 times
environ_fixture(MANY_GROUPBY_QUERY='&'.join(
    ['groupby=absent%d' % i for i in range(500)]
    + ['groupby=project_id'] * 200))


class SmallBodyLimitFixture(ConfigFixture):
    """A service that accepts request bodies of at most 1 KiB."""

    overrides = {('api', 'max_request_body_size'): 1024}


class DeprecatedV1Fixture(ConfigFixture):
    """v1 DEPRECATED with a Sunset date, v2 CURRENT, CORS for one origin."""

    overrides = {('api_versions', 'v1_status'): 'DEPRECATED',
                 ('api_versions', 'v1_sunset'):
                     'Sat, 01 Jan 2028 00:00:00 GMT',
                 ('api_versions', 'v2_status'): 'CURRENT',
                 ('cors', 'allowed_origin'): ['https://dashboard.example']}


class ScopeStatesFixture(fixture.GabbiFixture):
    """Scope states: both known projects active, processed up to the last
    hour of PastDataFixture's day, and an inactive 'retired' scope."""

    LAST = datetime.datetime(2015, 1, 4, 23, tzinfo=UTC)

    def start_fixture(self):
        states = scope_state.ScopeStates(STATE['conf'])
        for scope_id in (PROJECT_A, PROJECT_B):
            states.create(scope_id, self.LAST, 'project_id', 'source',
                          'prometheus')
        states.create('retired', self.LAST, 'project_id', 'source',
                      'prometheus', active=False)


environ_fixture(MANY_SCOPE_IDS=','.join('s%d' % i for i in range(1001)))
