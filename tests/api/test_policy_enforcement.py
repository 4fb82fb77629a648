"""Every v2 route and method enforces a policy.

Walks the v2 app's URL map (so a new resource is covered the day it is
added) and calls each route and method, through the whole WSGI stack, as a
caller with a project but no role: each must be refused with the JSON 403,
before its input is even read (the requests carry no valid input). Only
resources that declare themselves public are exempt.
"""
import re

import flask
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import context
from ratekeeper.api import v2
from ratekeeper.api.v2 import base

NO_ROLE = {'X-Project-Id': 'some-project', 'X-Roles': ''}
PLACEHOLDER = re.compile(r'<(?:[^:>]+:)?[^>]+>')


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
    assert {'/v2/summary', '/v2/dataframes'} <= paths


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
