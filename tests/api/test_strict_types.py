"""Every text field of every v1 and v2 body refuses a JSON value of
another type (a number, a boolean, a list, an object) with a 400, in v1
with WSME's words ("Wrong type"), and stores nothing: a number is never
turned into text.

v1's WSME arguments and the attributes of its body types are found by
walking the controllers; the bodies parsed by hand (module update, quote,
v2 dataframes, the hashmap objects) list their text fields here.
"""
import copy

import pytest
from werkzeug import test as werkzeug_test
from wsme import types as wtypes

from tests.api import test_strict_booleans as declared
from tests.functional import fixtures

ADMIN = {'X-Roles': 'admin', 'X-Project-Id': 'admin-project'}
NOT_TEXT = (42, 4.5, True, [], ['x'], {}, {'a': 'b'})
HTTP_METHODS = {'get_all': 'GET', 'get_one': 'GET', 'get': 'GET',
                'post': 'POST', 'put': 'PUT', 'delete': 'DELETE'}
POINT = {'vol': {'unit': 'instance', 'qty': 1}, 'rating': {'price': 1},
         'groupby': {'project_id': 'p'}, 'metadata': {}}
FRAME = {'period': {'begin': '2016-01-04T05:00:00Z',
                    'end': '2016-01-04T06:00:00Z'},
         'usage': {'instance': [POINT]}}
# bodies parsed by hand: (method, path, valid body, path to a text field)
HAND_PARSED_TEXT_FIELDS = [
    ('PUT', '/v1/rating/modules/noop', {'module_id': 'noop'},
     ['module_id']),
    ('PUT', '/v1/rating/modules/noop', {'module_id': 'noop',
                                        'description': 'd'},
     ['description']),
    ('POST', '/v1/rating/quote',
     {'resources': [{'service': 'instance', 'volume': 1}]},
     ['resources', 0, 'service']),
    ('POST', '/v2/dataframes', {'dataframes': [FRAME]},
     ['dataframes', 0, 'usage', 'instance', 0, 'vol', 'unit']),
    ('POST', '/v2/dataframes', {'dataframes': [FRAME]},
     ['dataframes', 0, 'period', 'begin']),
    ('POST', '/v2/dataframes', {'dataframes': [FRAME]},
     ['dataframes', 0, 'period', 'end']),
]


@pytest.fixture(scope='module')
def service():
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    fixtures.PastDataFixture().start_fixture()
    state = dict(fixtures.STATE,
                 client=werkzeug_test.Client(fixtures.STATE['app']))
    yield state
    fixture.stop_fixture()


def _is_text(datatype):
    return datatype is wtypes.text or datatype is str


def v1_wsme_text_fields():
    """(method, path, body key path) of every text argument of a v1 WSME
    method, and of every text attribute of a WSME body type."""
    found = set()
    for controller, path in declared._v1_controllers(
            declared.v1_root.V1Controller(), '/v1'):
        actions = getattr(type(controller), '_custom_actions', {})
        for name in dir(type(controller)):
            definition = getattr(getattr(type(controller), name),
                                 '_wsme_definition', None)
            if definition is None:
                continue
            method = HTTP_METHODS.get(name) or actions[name][0]
            url = path if name in HTTP_METHODS else path + '/' + name
            if name == 'get_one':
                url += '/some-id'
            for argument in definition.arguments:
                if _is_text(argument.datatype):
                    found.add((method, url, (argument.name,)))
                elif wtypes.iscomplex(argument.datatype):
                    found.update(
                        (method, url, (attribute.key,))
                        for attribute in wtypes.list_attributes(
                            argument.datatype)
                        if _is_text(attribute.datatype))
    return sorted(found)


def test_the_walk_finds_v1_text_fields():
    fields = {(method, path, key[0])
              for method, path, key in v1_wsme_text_fields()}
    assert {('GET', '/v1/report/total', 'tenant_id'),
            ('POST', '/v1/collector/mappings', 'collector'),
            ('PUT', '/v1/collector/states', 'name')} <= fields


def _state(client):
    """Everything the bodies could change (error bodies without their
    request ids)."""
    state = []
    for url in ('/v1/collector/mappings', '/v1/rating/modules',
                '/v2/dataframes?begin=2016-01-01&end=2016-02-01'):
        response = client.get(url, headers=ADMIN)
        document = response.json
        document.pop('request_id', None)
        state.append((response.status_code, document))
    return state


def _wrong_type_400(response, where):
    assert response.status_code == 400, (where, response.json)
    if 'faultstring' in response.json:
        assert 'Wrong type' in response.json['faultstring'], \
            (where, response.json)


def test_v1_wsme_text_fields_refuse_other_types(service):
    client = service['client']
    before = _state(client)
    checked = 0
    for method, path, (key,) in v1_wsme_text_fields():
        for value in NOT_TEXT:
            body = {key: value}
            if method == 'PUT' and path.endswith('/states'):
                body['enabled'] = True
            response = client.open(path, method=method, json=body,
                                   headers=ADMIN)
            _wrong_type_400(response, (method, path, key, value))
        checked += 1
    assert checked >= 10
    assert _state(client) == before


def _set(document, key_path, value):
    document = copy.deepcopy(document)
    target = document
    for key in key_path[:-1]:
        target = target[key]
    target[key_path[-1]] = value
    return document


def test_hand_parsed_text_fields_refuse_other_types(service):
    client = service['client']
    before = _state(client)
    for method, path, body, key_path in HAND_PARSED_TEXT_FIELDS:
        for value in NOT_TEXT:
            response = client.open(path, method=method, headers=ADMIN,
                                   json=_set(body, key_path, value))
            _wrong_type_400(response, (method, path, key_path, value))
    assert _state(client) == before


def test_the_valid_bodies_pass(service):
    """The bodies the cases above spoil are valid as they are."""
    client = service['client']
    for method, path, body, _key_path in HAND_PARSED_TEXT_FIELDS:
        response = client.open(path, method=method, headers=ADMIN, json=body)
        assert response.status_code < 400, (method, path, response.json)


# -- the hashmap API ---------------------------------------------------------

H = '/v1/rating/module_config/hashmap'
# (method, route shape, text fields of its body) for every hashmap route
# that reads a body or JSON parameters
HASHMAP_TEXT_FIELDS = {
    ('POST', 'services'): ['name'],
    ('POST', 'fields'): ['name'],
    ('POST', 'groups'): ['name'],
    ('POST', 'mappings'): ['value', 'tenant_id', 'name', 'description'],
    ('PUT', 'mappings'): ['mapping_id', 'value', 'tenant_id', 'name',
                          'description', 'created_by', 'updated_by'],
    ('PUT', 'mappings/{mapping_id}'): ['value', 'tenant_id', 'name',
                                       'description'],
    ('POST', 'thresholds'): ['tenant_id'],
    ('PUT', 'thresholds'): ['threshold_id', 'tenant_id'],
    ('PUT', 'thresholds/{threshold_id}'): ['tenant_id'],
    ('DELETE', 'services'): ['service_id'],
    ('DELETE', 'fields'): ['field_id'],
    ('DELETE', 'groups'): ['group_id'],
    ('DELETE', 'mappings'): ['mapping_id'],
    ('DELETE', 'thresholds'): ['threshold_id'],
    ('GET', 'fields'): ['service_id'],
    ('GET', 'groups/mappings'): ['group_id'],
    ('GET', 'groups/thresholds'): ['group_id'],
    ('GET', 'mappings'): ['tenant_id', 'created_by', 'updated_by',
                          'deleted_by', 'description'],
    ('GET', 'mappings/group'): ['mapping_id'],
    ('GET', 'thresholds'): ['tenant_id'],
    ('GET', 'thresholds/group'): ['threshold_id'],
}


@pytest.fixture(scope='module')
def hashmap(service):
    client = service['client']

    def post(kind, body):
        response = client.post(H + '/' + kind, json=body, headers=ADMIN)
        assert response.status_code == 201, response.json
        return response.json

    service_id = post('services', {'name': 'instance'})['service_id']
    ids = {'service_id': service_id,
           'field_id': post('fields', {'service_id': service_id,
                                       'name': 'flavor'})['field_id'],
           'group_id': post('groups', {'name': 'g'})['group_id']}
    mapping = post('mappings', {'service_id': service_id, 'cost': '1',
                                'start': '2099-01-01T00:00:00'})
    threshold = post('thresholds', {'service_id': service_id,
                                    'level': '1', 'cost': '1'})
    ids.update(mapping_id=mapping['mapping_id'],
               threshold_id=threshold['threshold_id'])
    bodies = {
        ('POST', 'services'): {'name': 'volume'},
        ('POST', 'fields'): {'service_id': service_id, 'name': 'size'},
        ('POST', 'groups'): {'name': 'h'},
        ('POST', 'mappings'): {'service_id': service_id, 'cost': '2',
                               'start': '2098-01-01T00:00:00',
                               'end': '2098-02-01T00:00:00'},
        ('PUT', 'mappings'): mapping,
        ('PUT', 'mappings/{mapping_id}'): mapping,
        ('POST', 'thresholds'): {'service_id': service_id, 'level': '2',
                                 'cost': '1'},
        ('PUT', 'thresholds'): threshold,
        ('PUT', 'thresholds/{threshold_id}'): threshold,
    }
    return ids, bodies


def _hashmap_state(client):
    return {kind: client.get(H + '/' + kind + query, headers=ADMIN).json
            for kind, query in (('services', ''), ('groups', ''),
                                ('mappings', '?deleted=true'),
                                ('thresholds', '?all=true&service_id=' +
                                 client.get(H + '/services', headers=ADMIN)
                                 .json['services'][0]['service_id']))}


def test_every_hashmap_body_route_is_listed(service):
    from ratekeeper.api.v1 import module_config
    table = module_config.config_apis()['hashmap'].routes
    with_bodies = {(method, shape) for shape, method, _rule in table.walk()
                   if method in ('POST', 'PUT')}
    assert with_bodies <= set(HASHMAP_TEXT_FIELDS)


def test_hashmap_text_fields_refuse_other_types(service, hashmap):
    client = service['client']
    ids, bodies = hashmap
    before = _hashmap_state(client)
    for (method, shape), fields in HASHMAP_TEXT_FIELDS.items():
        path = H + '/' + shape.format(**ids)
        for key in fields:
            for value in NOT_TEXT:
                body = dict(bodies.get((method, shape), {}), **{key: value})
                response = client.open(path, method=method, json=body,
                                       headers=ADMIN)
                _wrong_type_400(response, (method, shape, key, value))
    assert _hashmap_state(client) == before


def test_the_valid_hashmap_bodies_pass(service, hashmap):
    client = service['client']
    ids, bodies = hashmap
    for (method, shape), body in bodies.items():
        response = client.open(H + '/' + shape.format(**ids), method=method,
                               json=body, headers=ADMIN)
        assert response.status_code in (201, 302), (method, shape,
                                                    response.json)
