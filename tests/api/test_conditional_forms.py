"""If-Match is checked on every request form that names an object with an
ETag, not only when the id is in the path.

python-cloudkittyclient sends hashmap updates and deletes to collection
paths with the id in the JSON body (PUT .../mappings/, DELETE .../groups);
the id may also travel in the query. For every such form of every kind
(under /v1/rating and its /v1/billing alias): a stale tag is a 412 with
the current object, and nothing changes (no cascade either); the current
tag, or ``*``, lets the write through.
"""
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper.api.v1 import module_config
from tests.functional import fixtures

ADMIN = {'X-Roles': 'admin', 'X-Project-Id': 'admin-project'}
STALE = '"000000000000000000000000"'
PREFIXES = ('/v1/rating/module_config/hashmap',
            '/v1/billing/module_config/hashmap')
KINDS = ('services', 'fields', 'groups', 'mappings', 'thresholds')
UPDATABLE = ('mappings', 'thresholds')
WRITES = {'PUT', 'PATCH', 'DELETE'}


def write_forms():
    """(kind, method, path suffix, where the id goes) of every write the
    hashmap route table serves: a member path names its object in the
    path; a collection path in the JSON body (either trailing form), and
    a DELETE also in the query."""
    for route in module_config.config_apis()['hashmap'].routes.routes:
        kind = route.segments[0]
        for method in sorted(set(route.actions) & WRITES):
            if route.conditional:
                yield kind, method, '/{%s}' % route.named_key, 'path'
                continue
            yield kind, method, '/', 'body'
            yield kind, method, '', 'body'
            if method == 'DELETE':
                yield kind, method, '/', 'query'


FORMS = [(prefix,) + form for prefix in PREFIXES for form in write_forms()]


def test_every_write_route_names_its_object():
    """A write route the table adds without saying where its object's id
    travels would skip the precondition."""
    for name, api in module_config.config_apis().items():
        for route in api.routes.routes:
            if set(route.actions) & WRITES:
                assert route.named_key, (name, route.shape)
                assert 'GET' in api.routes.member_of(
                    route.named_key).actions


def test_the_walk_covers_every_kind_and_form():
    assert {(kind, method, where) for kind, method, _, where
            in write_forms()} == {
        (kind, method, where) for kind in KINDS
        for method in (('DELETE', 'PUT') if kind in UPDATABLE
                       else ('DELETE',))
        for where in ('path', 'body', 'query')
        if not (method == 'PUT' and where == 'query')}


@pytest.fixture(scope='module')
def client():
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    yield werkzeug_test.Client(fixtures.STATE['app'])
    fixture.stop_fixture()


def _post(client, path, body):
    response = client.post(PREFIXES[0] + path, json=body, headers=ADMIN)
    assert response.status_code == 201, (path, response.json)
    return response.json


_COUNTER = [0]


def _objects(client):
    """A fresh service with a field, a group, and a mapping (not started,
    so it may change) and a threshold in that group: ids by kind."""
    _COUNTER[0] += 1
    name = 'svc-%d' % _COUNTER[0]
    service_id = _post(client, '/services', {'name': name})['service_id']
    group_id = _post(client, '/groups', {'name': name})['group_id']
    return {
        'service_id': service_id, 'group_id': group_id,
        'field_id': _post(client, '/fields', {
            'service_id': service_id, 'name': 'flavor'})['field_id'],
        'mapping_id': _post(client, '/mappings', {
            'service_id': service_id, 'group_id': group_id, 'cost': '1',
            'start': '2099-01-01T00:00:00'})['mapping_id'],
        'threshold_id': _post(client, '/thresholds', {
            'service_id': service_id, 'group_id': group_id, 'level': '1',
            'cost': '1'})['threshold_id'],
    }


def _member(kind, ids):
    return '%s/%s/%s' % (PREFIXES[0], kind, ids[kind[:-1] + '_id'])


def _everything(client, ids):
    """The documents of the objects (a deleted one as its status)."""
    seen = {}
    for kind in KINDS:
        response = client.get(_member(kind, ids), headers=ADMIN)
        seen[kind] = response.json if response.status_code == 200 \
            else response.status_code
    return seen


def _request(client, prefix, kind, method, suffix, where, ids, tag):
    id_key = kind[:-1] + '_id'
    url = prefix + '/' + kind + suffix.format(**ids)
    body = None
    if method == 'PUT':
        body = dict(client.get(_member(kind, ids), headers=ADMIN).json,
                    cost='9')
    if where == 'body':
        body = dict(body or {}, **{id_key: ids[id_key]})
    if kind == 'groups':
        body = dict(body or {}, recursive=True) if where == 'body' else body
        url += ('&' if '?' in url else '?') + 'recursive=true' \
            if where != 'body' else ''
    if where == 'query':
        url += ('&' if '?' in url else '?') + id_key + '=' + ids[id_key]
    return client.open(url, method=method, json=body,
                       headers=dict(ADMIN, **{'If-Match': tag}))


@pytest.mark.parametrize('prefix,kind,method,suffix,where', FORMS)
def test_a_stale_tag_changes_nothing(client, prefix, kind, method, suffix,
                                     where):
    ids = _objects(client)
    before = _everything(client, ids)
    response = _request(client, prefix, kind, method, suffix, where, ids,
                        STALE)
    assert response.status_code == 412, response.get_data(as_text=True)
    assert response.json['code'] == \
        'ratekeeper.precondition_failed.stale_etag'
    assert response.json['details']['current'] == before[kind]
    current = client.get(_member(kind, ids), headers=ADMIN)
    assert response.headers['ETag'] == current.headers['ETag']
    assert _everything(client, ids) == before


@pytest.mark.parametrize('prefix,kind,method,suffix,where', FORMS)
def test_the_current_tag_lets_the_write_through(client, prefix, kind,
                                                method, suffix, where):
    ids = _objects(client)
    before = _everything(client, ids)
    tag = client.get(_member(kind, ids), headers=ADMIN).headers['ETag']
    response = _request(client, prefix, kind, method, suffix, where, ids,
                        tag)
    assert response.status_code in (204, 302), response.get_data(
        as_text=True)
    assert _everything(client, ids)[kind] != before[kind]


@pytest.mark.parametrize('kind', KINDS)
def test_a_star_matches_any_current_object(client, kind):
    ids = _objects(client)
    response = _request(client, PREFIXES[0], kind, 'DELETE', '/', 'body',
                        ids, '*')
    assert response.status_code == 204, response.get_data(as_text=True)
