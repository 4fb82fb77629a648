"""keystone mode: keystonemiddleware's auth_token guards every route but
the version documents, and the token's project and roles drive policy.

In process and fast: keystonemiddleware's own AuthTokenFixture stands in
for token validation (it answers for the tokens it was given and refuses
every other one). The same against a real Keystone server, with real tokens
of every scope: test_keystone_live.py.
"""
import pytest
from keystoneauth1 import loading as ks_loading
from keystonemiddleware import fixture as ks_fixture
from werkzeug import test as werkzeug_test

from ratekeeper import conf as rk_conf
from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from tests.functional import fixtures

WINDOW = {'begin': '2015-01-04T00:00:00Z', 'end': '2015-01-05T00:00:00Z'}


@pytest.fixture
def keystone_service(tmp_path):
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('auth_strategy', 'keystone')
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    storage.push(dataframe.parse_dataframes(fixtures.known_frames(
        fixtures.PastDataFixture.BEGIN, 24)))
    tokens = ks_fixture.AuthTokenFixture()
    tokens.setUp()
    tokens.add_token_data(token_id='admin-token', project_id='admin-project',
                          role_list=['admin', 'reader'])
    tokens.add_token_data(token_id='reader-a', project_id=fixtures.PROJECT_A,
                          role_list=['reader', 'member'])
    tokens.add_token_data(token_id='no-role', project_id=fixtures.PROJECT_A)
    rk_conf.register_keystone_opts(conf)
    conf.set_override('www_authenticate_uri', 'http://keystone.test/v3',
                      'keystone_authtoken')
    client = werkzeug_test.Client(rk_app.build_app(conf, storage))
    yield client
    tokens.cleanUp()
    storage.close()


def rate(response):
    return response.json['results'][0][3]


@pytest.mark.parametrize('path', ['/', '/v1', '/v2'])
def test_the_version_documents_are_public(keystone_service, path):
    response = keystone_service.get(path)
    assert response.status_code != 401


def test_no_token_is_a_json_401(keystone_service):
    response = keystone_service.get('/v2/summary')
    assert response.status_code == 401
    assert response.json['code'] == 'ratekeeper.unauthorized'
    assert response.json['message']


@pytest.mark.parametrize('auth_options', [
    {},  # no auth plugin at all
    {'auth_type': 'password', 'auth_url': 'http://127.0.0.1:9/v3',
     'username': 'ratekeeper', 'password': 'secret',
     'project_name': 'service', 'user_domain_id': 'default',
     'project_domain_id': 'default'},  # a Keystone out of reach
])
def test_no_token_is_a_401_without_www_authenticate_uri(
        tmp_path, auth_options):
    """auth_token asks its auth plugin where Keystone is for the 401's
    WWW-Authenticate header; a missing or unreachable one was a 500."""
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('auth_strategy', 'keystone')
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    rk_conf.register_keystone_opts(conf)
    client = werkzeug_test.Client(rk_app.build_app(conf, storage))
    if auth_options:
        conf.register_opts(ks_loading.get_auth_plugin_conf_options(
            auth_options['auth_type']), 'keystone_authtoken')
    for name, value in auth_options.items():
        conf.set_override(name, value, 'keystone_authtoken')
    try:
        response = client.get('/v2/summary')
        assert response.status_code == 401, response.get_data()
        assert response.json['code'] == 'ratekeeper.unauthorized'
        assert client.get('/').status_code == 200  # still serving
    finally:
        storage.close()


def test_an_unknown_token_is_a_401(keystone_service):
    response = keystone_service.get('/v1/report/total',
                                    headers={'X-Auth-Token': 'forged'})
    assert response.status_code == 401


def test_an_admin_token_sees_everything(keystone_service):
    response = keystone_service.get('/v2/summary', query_string=WINDOW,
                                    headers={'X-Auth-Token': 'admin-token'})
    assert response.status_code == 200
    assert rate(response) == 45.0


def test_a_reader_token_sees_its_project_only(keystone_service):
    response = keystone_service.get(
        '/v2/summary', headers={'X-Auth-Token': 'reader-a'},
        query_string=dict(WINDOW, filters='project_id:' + fixtures.PROJECT_B))
    assert response.status_code == 200
    assert rate(response) == 30.0


def test_headers_cannot_impersonate_in_keystone_mode(keystone_service):
    response = keystone_service.get(
        '/v2/summary', query_string=WINDOW,
        headers={'X-Auth-Token': 'reader-a', 'X-Roles': 'admin',
                 'X-Project-Id': fixtures.PROJECT_B})
    assert response.status_code == 200
    assert rate(response) == 30.0


def test_a_token_without_role_is_refused(keystone_service):
    response = keystone_service.get('/v2/summary', query_string=WINDOW,
                                    headers={'X-Auth-Token': 'no-role'})
    assert response.status_code == 403
