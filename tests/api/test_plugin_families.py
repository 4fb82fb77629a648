"""Endpoint families are plugins: a package found on the path, unknown to
ratekeeper's code, adds /v2/<family> with its policies and a v1 module
configuration API, through the same entry point groups as the built-in
ones, and gets them served, enforced and described.

The sample package is written into a throwaway directory put on sys.path
with its dist-info (what an installed wheel leaves), so importlib.metadata
finds its entry points as those of any installed package.
"""
import textwrap

import orjson
import pytest
from stevedore import extension
from werkzeug import test as werkzeug_test

from ratekeeper import policies
from ratekeeper import policy
from ratekeeper import rating
from ratekeeper.api import app as rk_app
from ratekeeper.api.v1 import module_config
from ratekeeper.api.v2 import versions

ADMIN = {'X-Roles': 'admin', 'X-Project-Id': 'admin-project'}
NO_ROLE = {'X-Roles': '', 'X-Project-Id': 'some-project'}

FAMILY = '''
    import flask
    from oslo_policy import policy as oslo_policy

    from ratekeeper import rating
    from ratekeeper.api.v1 import module_config
    from ratekeeper.api.v1.module_config import routes
    from ratekeeper.api.v2 import base

    GET = 'sample:things:get'


    def list_rules():
        return [oslo_policy.DocumentedRuleDefault(
            name=GET, check_str='role:admin', description='Read things.',
            operations=[{'path': '/v2/things', 'method': 'GET'}])]


    class Things(base.BaseResource):
        relation = 'sample_things'

        @base.enforce(GET)
        def get(self):
            """The things."""
            return {'things': ['a', 'b']}


    blueprint = flask.Blueprint('things', __name__, url_prefix='/things')
    base.Api(blueprint).add_resource(Things, '')


    class Sample(rating.RatingModule):
        name = 'sample'
        description = 'A sample module.'

        def process(self, batch, tenant_scoped=True):
            return batch


    def list_widgets(call):
        return 200, {'widgets': [call.params.get('colour', 'none')]}


    API = module_config.ConfigAPI('sample', [
        routes.route('widgets', GET=(list_widgets, GET))])
'''

ENTRY_POINTS = '''
    [ratekeeper.api.v2.families]
    things = sample_family:blueprint

    [ratekeeper.policies]
    things = sample_family

    [ratekeeper.rating.modules]
    sample = sample_family:Sample

    [ratekeeper.api.v1.module_config]
    sample = sample_family:API
'''


@pytest.fixture
def sample_family(tmp_path, monkeypatch):
    (tmp_path / 'sample_family.py').write_text(textwrap.dedent(FAMILY))
    info = tmp_path / 'sample_family-0.1.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: sample-family\nVersion: 0.1\n')
    (info / 'entry_points.txt').write_text(textwrap.dedent(ENTRY_POINTS))
    monkeypatch.syspath_prepend(str(tmp_path))
    _forget_plugins()
    yield
    monkeypatch.undo()
    _forget_plugins()


def _forget_plugins():
    """What this process remembers of the installed entry points."""
    module_config.config_apis.cache_clear()
    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(rating.NAMESPACE, None)
    policy.reset()


@pytest.fixture
def client(service, sample_family):
    """The whole API, built once the sample package is installed."""
    rating.get_registry(service['conf']).reload()
    yield werkzeug_test.Client(rk_app.build_app(service['conf'],
                                                service['storage']))
    rating.get_registry(service['conf']).reload()


def test_the_plugin_family_is_served_and_enforced(client):
    response = client.get('/v2/things', headers=ADMIN)
    assert response.status_code == 200
    assert response.json == {'things': ['a', 'b']}
    response = client.get('/v2/things', headers=NO_ROLE)
    assert response.status_code == 403
    assert response.json['code'] == 'ratekeeper.forbidden'


def test_the_plugin_rules_are_registered_with_the_built_in_ones(
        sample_family):
    names = {rule.name for rule in policies.list_rules()}
    assert {'sample:things:get', 'ratekeeper:summary:get'} <= names


def test_the_plugin_family_is_in_json_home_and_openapi(client):
    response = client.get('/v2', headers={
        'Accept': 'application/json-home'})
    home = orjson.loads(response.data)['resources']
    assert home[versions.REL_PREFIX + 'sample_things']['href'] == \
        '/v2/things'
    document = client.get('/v2/openapi.json').json
    operation = document['paths']['/v2/things']['get']
    assert operation['operationId'] == 'sample_things_get'
    assert 'Policy: sample:things:get' in operation['description']


def test_the_plugin_module_configuration_api_is_served_and_enforced(
        client):
    path = '/v1/rating/module_config/sample/widgets'
    response = client.get(path + '?colour=blue', headers=ADMIN)
    assert response.status_code == 200
    assert response.json == {'widgets': ['blue']}
    response = client.get(path, headers=NO_ROLE)
    assert response.status_code == 403
    assert response.json['code'] == 'ratekeeper.forbidden'
    response = client.post(path, headers=ADMIN)
    assert response.status_code == 405
    assert response.headers['Allow'] == 'GET'


def test_without_the_package_there_is_no_such_family(service):
    client = werkzeug_test.Client(service['app'])
    assert client.get('/v2/things', headers=ADMIN).status_code == 404
    response = client.get('/v1/rating/module_config/sample/widgets',
                          headers=ADMIN)
    assert response.status_code == 404
