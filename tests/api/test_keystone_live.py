"""keystone mode against a real Keystone (tests/keystone.py): a
ratekeeper-api process whose [keystone_authtoken] points at it, real tokens
of every scope, and the official cloudkitty CLI with password auth."""
import json
import os

import pytest
import requests

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.db import migration
from tests import client_process
from tests import keystone as ks
from tests import live
from tests.functional import fixtures

WINDOW = {'begin': '2015-01-04T00:00:00Z', 'end': '2015-01-05T00:00:00Z'}
V1_WINDOW = {'begin': '2015-01-04T00:00:00', 'end': '2015-01-05T00:00:00'}
# Per 24 hours of fixtures.known_frames: A 30.0, B 15.0, both 45.0.
TOTAL, RATE_A, RATE_B = 45.0, 30.0, 15.0


def authtoken_options(keystone):
    return {'DEFAULT__AUTH_STRATEGY': 'keystone',
            'KEYSTONE_AUTHTOKEN__WWW_AUTHENTICATE_URI': keystone.auth_url,
            'KEYSTONE_AUTHTOKEN__AUTH_URL': keystone.auth_url,
            'KEYSTONE_AUTHTOKEN__AUTH_TYPE': 'password',
            'KEYSTONE_AUTHTOKEN__USERNAME': 'admin',
            'KEYSTONE_AUTHTOKEN__PASSWORD': ks.ADMIN_PASSWORD,
            'KEYSTONE_AUTHTOKEN__PROJECT_NAME': 'admin',
            'KEYSTONE_AUTHTOKEN__USER_DOMAIN_NAME': 'Default',
            'KEYSTONE_AUTHTOKEN__PROJECT_DOMAIN_NAME': 'Default',
            'KEYSTONE_AUTHTOKEN__SERVICE_TOKEN_ROLES_REQUIRED': 'true'}


def seed(state_path, keystone):
    """24 hours of known data for the Keystone's project-a and project-b."""
    conf = fixtures.make_conf(state_path)
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    storage.push(dataframe.parse_dataframes(fixtures.known_frames(
        fixtures.PastDataFixture.BEGIN, 24,
        project_a=keystone.projects['project-a'].id,
        project_b=keystone.projects['project-b'].id)))
    storage.close()


@pytest.fixture(scope='module')
def api(real_keystone, tmp_path_factory):
    state = str(tmp_path_factory.mktemp('keystone-api'))
    seed(state, real_keystone)
    with live.running_server(
            DEFAULT__STATE_PATH=state,
            **authtoken_options(real_keystone)) as (url, _env):
        register_in_catalog(real_keystone.admin, url)
        yield url


def register_in_catalog(admin, url):
    """The rating service in Keystone's catalog, as a deployment has it:
    the CLI finds ratekeeper there."""
    service = admin.services.create('cloudkitty', type='rating')
    for interface in ('public', 'internal', 'admin'):
        admin.endpoints.create(service, url, interface=interface,
                               region='RegionOne')


def tokens(keystone):
    return {
        'admin': keystone.token('admin', project_name='admin'),
        'reader-a': keystone.token('reader-a', project_name='project-a'),
        'member-b': keystone.token('member-b', project_name='project-b'),
        'domain': keystone.token('domain-reader', domain_name='Default'),
        'system': keystone.token('system-reader', system_scope='all'),
        'unscoped': keystone.token('no-role'),
    }


@pytest.fixture(scope='module')
def token(real_keystone):
    return tokens(real_keystone)


def get(url, path, token=None, **params):
    headers = {'X-Auth-Token': token} if token else {}
    return requests.get(url + path, headers=headers, params=params,
                        timeout=30)


def v2_total(url, token, **params):
    response = get(url, '/v2/summary', token, **dict(WINDOW, **params))
    assert response.status_code == 200, response.text
    results = response.json()['results']
    columns = response.json()['columns']
    return sum(row[columns.index('rate')] for row in results)


def test_no_token_is_a_401_naming_the_real_keystone(api, real_keystone):
    response = get(api, '/v2/summary')
    assert response.status_code == 401
    assert real_keystone.auth_url in response.headers['WWW-Authenticate']


def test_an_admin_token_sees_every_project(api, token):
    assert v2_total(api, token['admin']) == TOTAL
    response = get(api, '/v1/report/total', token['admin'],
                   all_tenants='true', **V1_WINDOW)
    assert float(response.json()) == TOTAL
    # As in CloudKitty, v1 totals default to the token's own project.
    response = get(api, '/v1/report/total', token['admin'], **V1_WINDOW)
    assert float(response.json()) == 0


@pytest.mark.parametrize('user, project, rate', [
    ('reader-a', 'project-a', RATE_A), ('member-b', 'project-b', RATE_B)])
def test_a_project_token_sees_its_project_only(api, token, real_keystone,
                                               user, project, rate):
    assert v2_total(api, token[user]) == rate
    other = 'project-b' if project == 'project-a' else 'project-a'
    other_id = real_keystone.projects[other].id
    assert v2_total(api, token[user], filters='project_id:' + other_id) \
        == rate
    response = get(api, '/v1/report/total', token[user], **V1_WINDOW)
    assert float(response.json()) == rate
    response = get(api, '/v1/report/total', token[user],
                   tenant_id=other_id, **V1_WINDOW)
    assert response.status_code == 403 or float(response.json()) == rate


@pytest.mark.parametrize('kind', ['domain', 'system'])
def test_domain_and_system_tokens_see_no_project_data(api, token, kind):
    response = get(api, '/v2/summary', token[kind], **WINDOW)
    assert response.status_code in (200, 403), response.text
    if response.status_code == 200:
        assert response.json()['results'] == [] or v2_total(
            api, token[kind]) == 0
    response = get(api, '/v1/report/total', token[kind], **V1_WINDOW)
    assert response.status_code == 403 or not float(response.json() or 0)


def test_an_unscoped_token_without_roles_is_a_403(api, token):
    assert get(api, '/v2/summary', token['unscoped'], **WINDOW) \
        .status_code == 403
    assert get(api, '/v1/report/total', token['unscoped'], **V1_WINDOW) \
        .status_code == 403


def test_a_revoked_token_is_a_401(api, real_keystone):
    # Revoked before ratekeeper first sees it: keystonemiddleware caches a
    # validated token for [keystone_authtoken] token_cache_time.
    doomed = real_keystone.token('reader-a', project_name='project-a')
    real_keystone.admin.tokens.revoke_token(doomed)
    assert get(api, '/v2/summary', doomed, **WINDOW).status_code == 401


def test_a_garbled_token_is_a_401(api, token):
    forged = token['admin'][:-4] + 'AAAA'
    assert get(api, '/v2/summary', forged, **WINDOW).status_code == 401


def cloudkitty_as(keystone, url, username, project, *args):
    password = ks.ADMIN_PASSWORD if username == 'admin' else ks.PASSWORD
    env = {key: value for key, value in os.environ.items()
           if not key.startswith('OS_')}
    result = client_process.run(
        ['--os-auth-type', 'password',
         '--os-auth-url', keystone.auth_url, '--os-username', username,
         '--os-password', password, '--os-project-name', project,
         '--os-user-domain-name', 'Default',
         '--os-project-domain-name', 'Default', *args],
        env=env, timeout=120)
    return result


@pytest.mark.parametrize('user, project, rate', [
    ('admin', 'admin', TOTAL), ('reader-a', 'project-a', RATE_A)])
def test_the_cli_with_password_auth(api, real_keystone, user, project, rate):
    result = cloudkitty_as(real_keystone, api, user, project, 'summary',
                           'get', '-b', V1_WINDOW['begin'],
                           '-e', V1_WINDOW['end'], '-f', 'json')
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert sum(float(row['Rate']) for row in rows) == rate
    result = cloudkitty_as(real_keystone, api, user, project, 'module',
                           'list', '-f', 'json')
    # The client lists through /v2/rating/modules, open to any
    # authenticated user as in CloudKitty (its policy is never checked).
    assert result.returncode == 0, result.stderr
    assert 'hashmap' in result.stdout


def test_module_policies_with_real_roles(api, token):
    # ratekeeper:rating:list_modules lets project readers list (see
    # ratekeeper/policies/rating.py); showing one module is for admins.
    assert get(api, '/v1/rating/modules', token['reader-a']) \
        .status_code == 200
    assert get(api, '/v1/rating/modules', token['unscoped']) \
        .status_code == 403
    assert get(api, '/v1/rating/modules/hashmap', token['admin']) \
        .status_code == 200
    assert get(api, '/v1/rating/modules/hashmap', token['reader-a']) \
        .status_code == 403
