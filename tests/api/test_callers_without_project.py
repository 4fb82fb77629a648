"""A caller with a role but no project reads no project's data, on any read
endpoint of either version.

Such a caller is a reader without X-Project-Id in noauth mode, and in
keystone mode a domain- or system-scoped token, or a token with roles and
no scope. The walk reads every GET route (v2's URL map; v1's documented
routes, its WSME controllers and its module configuration route tables),
plain and with the parameters that
widen a query (all_tenants, tenant_id=None, a project filter), as each
such caller; then every project's rated data grows and the walk runs
again. A caller that sees nothing gets the same answers both times
(or 403s); one that saw any project's data would see its totals change.
"""
import datetime
import re

from keystoneauth1 import fixture as ks_token
from keystonemiddleware import fixture as ks_fixture
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import conf as rk_conf
from ratekeeper import dataframe
from ratekeeper.api import app as rk_app
from ratekeeper.api import v2
from ratekeeper.api.v1 import module_config
from tests.api import test_strict_booleans as declared
from tests.docs import test_api_ref_routes as api_ref
from tests.functional import fixtures

UTC = datetime.timezone.utc
ADMIN = {'X-Roles': 'admin', 'X-Project-Id': 'admin-project'}
NOAUTH_CALLERS = {
    'reader without project': {'X-Roles': 'reader'},
    'member and reader without project': {'X-Roles': 'member,reader'},
    'reader of a domain, no project': {'X-Roles': 'reader',
                                       'X-Domain-Id': 'default'},
}
WIDENING_QUERIES = ('', 'all_tenants=true', 'tenant_id=None',
                    'filters=project_id:None', 'service_id={service_id}')
PLACEHOLDER = re.compile(r'{([^}]+)}|<(?:[^:>]+:)?([^>]+)>')
# oslo.context warns on every system-scoped check
pytestmark = pytest.mark.filterwarnings(
    'ignore:Policy enforcement is depending on the value of system')


def _keystone_tokens():
    """(name, token) of keystone tokens with a reader role and no
    project."""
    domain = ks_token.V3Token()
    domain.set_domain_scope(id='default')
    system = ks_token.V3Token()
    system.set_system_scope()
    unscoped = ks_token.V3Token()
    for token in (domain, system, unscoped):
        token.add_role(name='reader')
    return {'domain-scoped reader': domain, 'system-scoped reader': system,
            'reader token without scope': unscoped}


@pytest.fixture(scope='module')
def service():
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    fixtures.CurrentMonthDataFixture().start_fixture()
    state = dict(fixtures.STATE)
    client = werkzeug_test.Client(state['app'])
    state['ids'] = _rules(client)
    tokens = ks_fixture.AuthTokenFixture()
    tokens.setUp()
    state['keystone_callers'] = {
        name: {'X-Auth-Token': tokens.add_token(token)}
        for name, token in _keystone_tokens().items()}
    state['keystone_app'] = _keystone_app(state['conf'], state['storage'])
    yield state
    tokens.cleanUp()
    fixture.stop_fixture()


def _keystone_app(conf, storage):
    keystone_conf = fixtures.make_conf(conf.state_path)
    keystone_conf.set_override('auth_strategy', 'keystone')
    rk_conf.register_keystone_opts(keystone_conf)
    keystone_conf.set_override('www_authenticate_uri',
                               'http://keystone.test/v3',
                               'keystone_authtoken')
    return rk_app.build_app(keystone_conf, storage)


def _rules(client):
    """Hashmap rules (some of a project) and a collector mapping, so that
    every id placeholder names a real object."""
    hashmap = '/v1/rating/module_config/hashmap'
    service_id = client.post(hashmap + '/services', json={'name': 'instance'},
                             headers=ADMIN).json['service_id']
    ids = {'service_id': service_id, 'module_id': 'hashmap',
           'metric_id': 'instance', 'path': 'services', 'service': 'svc'}
    ids['field_id'] = client.post(hashmap + '/fields', headers=ADMIN, json={
        'service_id': service_id, 'name': 'flavor'}).json['field_id']
    ids['group_id'] = client.post(hashmap + '/groups', headers=ADMIN, json={
        'name': 'g'}).json['group_id']
    ids['mapping_id'] = client.post(
        hashmap + '/mappings?force=true', headers=ADMIN, json={
            'service_id': service_id, 'cost': '1',
            'tenant_id': fixtures.PROJECT_A,
            'start': '2020-01-01T00:00:00'}).json['mapping_id']
    ids['threshold_id'] = client.post(
        hashmap + '/thresholds', headers=ADMIN, json={
            'service_id': service_id, 'level': '1', 'cost': '1',
            'tenant_id': fixtures.PROJECT_B}).json['threshold_id']
    client.post('/v1/collector/mappings/gnocchi/svc', headers=ADMIN)
    return ids


# -- the routes -----------------------------------------------------------

def v1_read_routes():
    """v1's GET paths: those the API reference documents, those of the
    WSME controllers and those of the module configuration route tables
    (a route in any is walked)."""
    documented = {path for method, path in api_ref._documented('v1')
                  if method == 'GET'}
    tables = {'/v1/rating/module_config/%s/%s' % (name, shape)
              for name, api in module_config.config_apis().items()
              for shape, method, _rule in api.routes.walk()
              if method == 'GET'}
    walked = set()
    for controller, path in declared._v1_controllers(
            declared.v1_root.V1Controller(), '/v1'):
        for name in dir(type(controller)):
            if getattr(getattr(type(controller), name), '_wsme_definition',
                       None) is None or name in ('post', 'put', 'delete'):
                continue
            walked.add({'get_all': path, 'get': path,
                        'get_one': path + '/{id}'}.get(name,
                                                       path + '/' + name))
    return documented | walked | tables


def v2_read_routes(service):
    app = v2.create_app(service['conf'], service['storage'])
    return {'/v2' + rule.rule for rule in app.url_map.iter_rules()
            if 'GET' in rule.methods and rule.endpoint != 'static'}


def _concrete(path, ids):
    return PLACEHOLDER.sub(
        lambda m: ids.get(m.group(1) or m.group(2), 'some-id'), path)


def read_urls(service):
    paths = v1_read_routes() | v2_read_routes(service)
    assert {'/v1/report/total', '/v1/report/summary', '/v1/storage/dataframes',
            '/v2/summary', '/v2/dataframes'} <= paths
    for path in sorted(paths):
        for query in WIDENING_QUERIES:
            url = _concrete(path, service['ids'])
            yield url + ('?' + query.format(**service['ids'])
                         if query else '')


# -- the walk ---------------------------------------------------------------

def _callers(service):
    noauth = werkzeug_test.Client(service['app'])
    keystone = werkzeug_test.Client(service['keystone_app'])
    for name, headers in NOAUTH_CALLERS.items():
        yield 'noauth: ' + name, noauth, headers
    for name, headers in service['keystone_callers'].items():
        yield 'keystone: ' + name, keystone, headers


def _seen(response):
    """What a response shows of the data (its request id aside)."""
    if response.status_code == 403:
        return 403, None
    body = response.get_data(as_text=True)
    return response.status_code, re.sub(r'req-[0-9a-f-]+', 'req', body)


def walk(service):
    answers = {}
    for caller, client, headers in _callers(service):
        for url in read_urls(service):
            answers[caller, url] = _seen(client.get(url, headers=headers))
    return answers


def _more_data_for_every_project(storage):
    begin = datetime.datetime.now(UTC).replace(
        day=1, hour=5, minute=0, second=0, microsecond=0)
    frames = fixtures.known_frames(begin, 2)
    for frame in frames:  # and a project named "None"
        for point in frame['usage']['image']:
            point['groupby']['project_id'] = 'None'
    storage.push(dataframe.parse_dataframes(frames))


def _admin_totals(client):
    return (client.get('/v1/report/total?all_tenants=true',
                       headers=ADMIN).json,
            client.get('/v2/summary', headers=ADMIN).json['results'])


def test_a_caller_without_project_sees_no_project_data(service):
    admin_client = werkzeug_test.Client(service['app'])
    admin_before = _admin_totals(admin_client)
    before = walk(service)
    _more_data_for_every_project(service['storage'])
    assert _admin_totals(admin_client) != admin_before  # the oracle sees
    after = walk(service)
    changed = sorted(key for key in before if before[key] != after[key])
    assert not changed, changed
    for (caller, url), (status, body) in after.items():
        assert status < 500, (caller, url, body)
        if status == 200:
            for project in (fixtures.PROJECT_A, fixtures.PROJECT_B):
                assert project not in body, (caller, url, body)


def test_the_walk_covers_both_versions_and_every_caller(service):
    answers = walk(service)
    callers = {caller for caller, _url in answers}
    assert len(callers) == len(NOAUTH_CALLERS) + 3
    statuses = {status for status, _body in answers.values()}
    assert {200, 403} <= statuses
    refused = {url for (_caller, url), (status, _body) in answers.items()
               if status == 403}
    assert any('/module_config/hashmap/' in url for url in refused)


def test_the_v1_report_shows_such_a_caller_nothing(service):
    client = werkzeug_test.Client(service['app'])
    headers = NOAUTH_CALLERS['reader without project']
    assert client.get('/v1/report/total', headers=headers).json == '0'
    assert client.get('/v1/report/total?all_tenants=true',
                      headers=headers).json == '0'
    assert client.get('/v1/report/summary', headers=headers).json == {
        'summary': []}
