"""Every v2 route and every v1 module configuration route enforces a
policy.

Walks the v2 app's URL map and the route table of each v1 module
configuration API (so a new resource is covered the day it is added) and
calls each route and method, through the whole WSGI stack, as a caller with
a project but no role: each must be refused with the JSON 403, before its
input is even read (the requests carry no valid input). Only v2 resources
that declare themselves public are exempt.
"""
import re

import flask
from oslo_policy import policy as oslo_policy
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import context
from ratekeeper import policy
from ratekeeper.api import v2
from ratekeeper.api.v1 import module_config
from ratekeeper.api.v2 import base

NO_ROLE = {'X-Project-Id': 'some-project', 'X-Roles': ''}
ADMIN = {'X-Roles': 'admin', 'X-Project-Id': 'admin-project'}
PLACEHOLDER = re.compile(r'<(?:[^:>]+:)?[^>]+>')
V1_PLACEHOLDER = re.compile(r'{[^}]+}')


def v2_routes(service):
    app = v2.create_app(service['conf'], service['storage'])
    for rule in app.url_map.iter_rules():
        if rule.endpoint == 'static':
            continue
        resource = getattr(app.view_functions[rule.endpoint], 'view_class',
                           None)
        path = '/v2' + PLACEHOLDER.sub('some-id', rule.rule)
        for method in sorted(rule.methods - {'HEAD', 'OPTIONS'}):
            yield path, method, resource


def test_the_walk_finds_the_v2_families(service):
    paths = {path for path, _method, _resource in v2_routes(service)}
    assert {'/v2/summary', '/v2/dataframes', '/v2/scope',
            '/v2/task/reprocesses',
            '/v2/task/reprocesses/some-id'} <= paths


def test_every_v2_route_refuses_a_caller_without_role(service):
    client = werkzeug_test.Client(service['app'])
    checked = 0
    for path, method, resource in v2_routes(service):
        if getattr(resource, 'public', False):
            continue
        response = client.open(path, method=method, headers=NO_ROLE,
                               json={} if method in ('POST', 'PUT', 'PATCH')
                               else None)
        assert response.status_code == 403, (method, path,
                                             response.get_data(as_text=True))
        assert response.json['code'] == 'ratekeeper.forbidden'
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize('path', ['/v2/summary', '/v2/dataframes'])
def test_an_admin_passes_the_same_routes(service, path):
    client = werkzeug_test.Client(service['app'])
    response = client.get(path, headers={'X-Roles': 'admin',
                                         'X-Project-Id': 'admin-project'})
    assert response.status_code in (200, 404)  # 404: no dataframes stored
    assert response.json.get('code') != 'ratekeeper.forbidden'


def test_a_resource_that_forgets_its_policy_fails_loudly(service):
    class Forgetful(base.BaseResource):
        def get(self):
            return {'secret': True}

    app = v2.create_app(service['conf'], service['storage'])
    blueprint = flask.Blueprint('forgetful', __name__)
    base.Api(blueprint).add_resource(Forgetful, '/forgetful')
    app.register_blueprint(blueprint)
    response = app.test_client().get('/forgetful', environ_base={
        'ratekeeper.context': context.admin_context(service['conf'])})
    assert response.status_code == 500
    assert 'secret' not in response.get_data(as_text=True)


def v1_module_config_routes():
    """(path, method, rule) of every route of every v1 module
    configuration API."""
    for name, api in sorted(module_config.config_apis().items()):
        for shape, method, rule in api.routes.walk():
            path = '/v1/rating/module_config/%s/%s' % (
                name, V1_PLACEHOLDER.sub('some-id', shape))
            yield path, method, rule


def test_the_walk_finds_the_v1_module_configuration_apis():
    paths = {path for path, _method, _rule in v1_module_config_routes()}
    assert {'/v1/rating/module_config/hashmap/services',
            '/v1/rating/module_config/hashmap/mappings/some-id'} <= paths


def test_every_v1_module_config_route_refuses_a_caller_without_role(
        service):
    client = werkzeug_test.Client(service['app'])
    checked = 0
    for path, method, rule in v1_module_config_routes():
        response = client.open(path, method=method, headers=NO_ROLE,
                               data=b'{"not": "valid"',
                               content_type='application/json')
        assert response.status_code == 403, (method, path,
                                             response.get_data(as_text=True))
        assert response.json['code'] == 'ratekeeper.forbidden'
        assert response.json['faultstring'].startswith('Policy does not')
        checked += 1
    assert checked >= 20


def test_the_module_config_gate_applies_before_the_module_rules(service):
    """ratekeeper:rating:module_config guards every module configuration
    route (as rating:module_config does in CloudKitty), whatever the
    module's own rule allows."""
    conf = service['conf']
    client = werkzeug_test.Client(service['app'])
    path = '/v1/rating/module_config/hashmap/types'
    assert client.get(path, headers=ADMIN).status_code == 200
    enforcer = policy.get_enforcer(conf)
    enforcer.set_rules(oslo_policy.Rules.from_dict(
        {'ratekeeper:rating:module_config': '!'}), overwrite=False,
        use_conf=False)
    try:
        response = client.get(path, headers=ADMIN)
    finally:
        policy.reset()
    assert response.status_code == 403
    assert 'ratekeeper:rating:module_config' in response.json['message']


def test_the_v1_route_table_answers_405_with_the_methods_it_routes(
        service):
    client = werkzeug_test.Client(service['app'])
    response = client.open('/v1/rating/module_config/hashmap/services',
                           method='PATCH', headers=ADMIN)
    assert response.status_code == 405
    assert response.headers['Allow'] == 'DELETE, GET, POST'
    response = client.put('/v1/rating/module_config/hashmap/services/x/'
                          'fields', headers=ADMIN)
    assert response.status_code == 405
    assert response.headers['Allow'] == 'GET'
