"""Every boolean query parameter of v1 and v2 is read the one strict way
(ratekeeper.api.booleans): each true word answers as ``true``, each false
word as ``false``, anything else is a 400 that names the parameter.

The parameters are found by walking the code where it declares them (v1's
WSME arguments, v2's query schemas), so a new one is covered the day it is
added; the hashmap API reads its flags by hand and lists them here.
"""
import pytest
import voluptuous
from werkzeug import test as werkzeug_test

from ratekeeper.api import booleans
from ratekeeper.api import microversion
from ratekeeper.api import v2
from ratekeeper.api.v1 import base as v1_base
from ratekeeper.api.v1.controllers import root as v1_root
from ratekeeper.api.v2 import validation
from tests.functional import fixtures

ADMIN = {'X-Roles': 'admin', 'X-Project-Id': fixtures.PROJECT_A}
WINDOW = 'begin=2015-01-04&end=2015-01-05'
H = '/v1/rating/module_config/hashmap'
NOT_BOOLEANS = ('maybe', '', '2', '-1', 'truee', 'null', 'none', 'yess')
# flags the hashmap API reads from the query (or a JSON body) by hand
HASHMAP_QUERY_FLAGS = [
    ('/mappings?service_id={service_id}', 'no_group'),
    ('/mappings?service_id={service_id}', 'filter_tenant'),
    ('/mappings?service_id={service_id}', 'deleted'),
    ('/mappings?service_id={service_id}', 'is_active'),
    ('/mappings?service_id={service_id}', 'all'),
    ('/thresholds?service_id={service_id}', 'no_group'),
    ('/thresholds?service_id={service_id}', 'filter_tenant'),
]


@pytest.fixture(scope='module')
def service():
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    fixtures.PastDataFixture().start_fixture()
    client = werkzeug_test.Client(fixtures.STATE['app'])
    state = dict(fixtures.STATE, client=client,
                 service_id=_hashmap_rules(client))
    yield state
    fixture.stop_fixture()


def _hashmap_rules(client):
    """A service with a grouped mapping, a future one, a tenant's and a
    deleted one, a grouped threshold and a tenant's: each flag changes
    some listing."""
    service_id = client.post(H + '/services', json={'name': 'instance'},
                             headers=ADMIN).json['service_id']
    group_id = client.post(H + '/groups', json={'name': 'g'},
                           headers=ADMIN).json['group_id']
    since_2020 = '2020-01-01T00:00:00'
    for mapping in ({'cost': '1', 'group_id': group_id, 'start': since_2020},
                    {'cost': '2', 'tenant_id': fixtures.PROJECT_B,
                     'start': '2099-01-01T00:00:00'},
                    {'cost': '3', 'tenant_id': fixtures.PROJECT_A,
                     'start': since_2020},
                    {'cost': '4', 'start': since_2020}):
        response = client.post(H + '/mappings?force=true', headers=ADMIN,
                               json=dict(mapping, service_id=service_id))
        assert response.status_code == 201, response.json
    client.delete(H + '/mappings/' + response.json['mapping_id'],
                  headers=ADMIN)
    for threshold in ({'group_id': group_id},
                      {'tenant_id': fixtures.PROJECT_A}):
        response = client.post(H + '/thresholds', headers=ADMIN, json=dict(
            threshold, service_id=service_id, level='1', cost='1'))
        assert response.status_code == 201, response.json
    return service_id


# -- where the parameters are declared --------------------------------------

def _v1_controllers(controller, path):
    yield controller, path
    for name in dir(type(controller)):
        attribute = getattr(type(controller), name)
        if not name.startswith('_') and \
                type(attribute).__module__.startswith('ratekeeper.api') \
                and not callable(attribute):
            yield from _v1_controllers(attribute, path + '/' + name)


def v1_wsme_booleans():
    """(path, argument, datatype) of every boolean WSME argument."""
    found = set()
    for controller, path in _v1_controllers(v1_root.V1Controller(), '/v1'):
        for name in dir(type(controller)):
            definition = getattr(getattr(type(controller), name),
                                 '_wsme_definition', None)
            for argument in getattr(definition, 'arguments', ()):
                if argument.datatype is bool or isinstance(
                        argument.datatype, v1_base.StrictBoolean):
                    url = path if name in ('get', 'get_all') \
                        else path + '/' + name
                    found.add((url, argument.name, argument.datatype))
    return sorted(found, key=str)


def _query_validators(schema):
    for key, validator in schema.schema.items():
        yield str(key), getattr(validator, 'validator', validator)


VOLUPTUOUS_BOOLEAN = voluptuous.Boolean().__wrapped__


def _reads_booleans(validator):
    return validator is validation.query_boolean or \
        getattr(validator, '__wrapped__', None) is VOLUPTUOUS_BOOLEAN


def v2_query_booleans(service):
    """(method, path, parameter, validator) of every v2 query parameter
    whose validator reads booleans, in every microversion."""
    app = v2.create_app(service['conf'], service['storage'])
    found = set()
    for rule in app.url_map.iter_rules():
        resource = getattr(app.view_functions[rule.endpoint], 'view_class',
                           None)
        for method in sorted(rule.methods - {'HEAD', 'OPTIONS'}):
            handler = getattr(resource, method.lower(), None)
            for _low, _high, function in (
                    microversion.implementations(handler) if handler
                    else ()):
                schema = getattr(function, 'schemas', {}).get('query')
                for name, validator in _query_validators(schema) \
                        if schema else ():
                    if _reads_booleans(validator):
                        found.add((method, '/v2' + rule.rule, name,
                                   validator))
    return sorted(found, key=str)


def test_the_walks_find_the_boolean_parameters(service):
    assert {(path, name) for path, name, _ in v1_wsme_booleans()} == {
        ('/v1/report/total', 'all_tenants'),
        ('/v1/report/summary', 'all_tenants')}
    assert [(m, p, n) for m, p, n, _ in v2_query_booleans(service)] == [
        ('POST', '/v2/dataframes', 'rate')]


def test_every_boolean_is_declared_with_the_strict_reader(service):
    for path, name, datatype in v1_wsme_booleans():
        assert isinstance(datatype, v1_base.StrictBoolean), (path, name)
    for method, path, name, validator in v2_query_booleans(service):
        assert validator is validation.query_boolean, (method, path, name)


# -- what every parameter answers -----------------------------------------

def _variants(words):
    return [variant for word in words
            for variant in {word, word.upper(), word.capitalize()}]


def _answer(client, url, headers=ADMIN):
    response = client.get(url, headers=headers)
    return response.status_code, response.get_data(as_text=True)


def _get_urls(service):
    for path, name, _ in v1_wsme_booleans():
        yield path + '?' + WINDOW, name
    for path, name in HASHMAP_QUERY_FLAGS:
        yield H + path.format(service_id=service['service_id']), name


def _with(url, name, value):
    return '%s%s%s=%s' % (url, '&' if '?' in url else '?', name, value)


def test_each_word_answers_as_its_boolean(service):
    client = service['client']
    checked = 0
    for url, name in _get_urls(service):
        answers = {flag: _answer(client, _with(url, name, flag))
                   for flag in ('true', 'false')}
        assert answers['true'][0] == answers['false'][0] == 200, (url, name)
        for flag, words in (('true', booleans.TRUE_WORDS),
                            ('false', booleans.FALSE_WORDS)):
            for word in _variants(words):
                assert _answer(client, _with(url, name, word)) == \
                    answers[flag], (url, name, word)
        checked += 1
    assert checked == 2 + len(HASHMAP_QUERY_FLAGS)


def test_the_flags_change_the_answers(service):
    """false is not read as true (CloudKitty's v1 reads any text as
    true): each flag's two answers differ."""
    client = service['client']
    for url, name in _get_urls(service):
        if name == 'all':
            continue  # with a parent filter, all changes nothing
        assert _answer(client, _with(url, name, 'false')) != \
            _answer(client, _with(url, name, 'true')), (url, name)


def test_anything_else_is_a_400_naming_the_parameter(service):
    client = service['client']
    for url, name in _get_urls(service):
        for word in NOT_BOOLEANS:
            response = client.get(_with(url, name, word), headers=ADMIN)
            assert response.status_code == 400, (url, name, word)
            assert name in response.json['faultstring'], response.json
            assert 'Expected a boolean' in response.json['faultstring']


def _mapping_count(client, service_id):
    return len(client.get(H + '/mappings?deleted=true&service_id='
                          + service_id, headers=ADMIN).json['mappings'])


def test_writes_with_a_bad_flag_change_nothing(service):
    client = service['client']
    service_id = service['service_id']
    mappings = _mapping_count(client, service_id)
    groups = client.get(H + '/groups', headers=ADMIN).json['groups']
    for word in NOT_BOOLEANS:
        response = client.post(
            H + '/mappings?force=' + word, headers=ADMIN,
            json={'cost': '5', 'service_id': service_id,
                  'start': '2020-01-01T00:00:00', 'name': 'forced'})
        assert response.status_code == 400, (word, response.json)
        response = client.delete(H + '/groups/' + groups[0]['group_id']
                                 + '?recursive=' + word, headers=ADMIN)
        assert response.status_code == 400, (word, response.json)
        response = client.delete(H + '/groups/', headers=ADMIN, json={
            'group_id': groups[0]['group_id'], 'recursive': word})
        assert response.status_code == 400, (word, response.json)
    assert _mapping_count(client, service_id) == mappings
    assert client.get(H + '/groups', headers=ADMIN).json['groups'] == groups


def test_v2_query_booleans_refuse_anything_else(service):
    client = service['client']
    body = {'dataframes': fixtures.known_frames(
        fixtures.PastDataFixture.BEGIN.replace(year=2016), 1)}
    for method, path, name, _ in v2_query_booleans(service):
        for word in NOT_BOOLEANS:
            response = client.open(_with(path, name, word), method=method,
                                   json=body, headers=ADMIN)
            assert response.status_code == 400, (path, name, word)
            assert "'%s'" % name in response.json['message']
    stored = client.get('/v2/dataframes?begin=2016-01-01&end=2017-01-01',
                        headers=ADMIN)
    assert stored.status_code == 404  # nothing was stored
    for word in _variants(booleans.FALSE_WORDS + booleans.TRUE_WORDS):
        response = client.post(_with('/v2/dataframes', 'rate', word),
                               json=body, headers=ADMIN)
        assert response.status_code == 204, (word, response.json)
