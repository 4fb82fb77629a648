"""Rating where it runs: ingest (?rate=true), quotes, through the API,
with the shared benchmark's rule set created by its own script."""
import datetime
import os
import sys

import orjson
import pytest
from werkzeug import test as werkzeug_test

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'bench'))
import rules_setup  # noqa: E402
import usagegen  # noqa: E402

START = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
JSON = {'Content-Type': 'application/json'}


class _Response:
    def __init__(self, response):
        self.status = response.status_code
        self._data = response.get_data()

    def read(self):
        return self._data


class _Connection:
    """http.client's interface over the in-process app, for rules_setup."""

    def __init__(self, client):
        self.client = client
        self.response = None

    def request(self, method, path, body=None, headers=None):
        self.response = _Response(self.client.open(
            path, method=method, data=body, headers=headers or {}))

    def getresponse(self):
        return self.response


@pytest.fixture
def client(service):
    client = werkzeug_test.Client(service['app'])
    api = rules_setup.Api.__new__(rules_setup.Api)
    api.conn, api.prefix, api.headers = _Connection(client), '', JSON
    rules_setup.setup(api)
    return client


def post_frames(client, frames, query=''):
    return client.post('/v2/dataframes' + query, headers=JSON,
                       data=orjson.dumps({'dataframes': frames}))


def total_rate(client):
    response = client.get('/v2/summary?begin=2026-11-01T00:00:00'
                          '&end=2027-01-01T00:00:00')
    assert response.status_code == 200, response.get_data()
    return response.get_json()['results'][0][-1]


def frames_of(points, unrated=True):
    gen = usagegen.Generator(unrated=unrated)
    return [frame for frame, _ in gen.frames(points, START)]


def test_ingest_with_rate_prices_every_point(client):
    response = post_frames(client, frames_of(10000), '?rate=true')
    assert response.status_code == 204, response.get_data()
    assert total_rate(client) == pytest.approx(416.7572, abs=1e-9)


def test_rate_replaces_sent_prices(client):
    frames = frames_of(200, unrated=False)
    for points in frames[0]['usage'].values():
        for point in points:
            point['rating']['price'] = 1000
    assert post_frames(client, frames, '?rate=true').status_code == 204
    assert total_rate(client) == pytest.approx(8.335144, abs=1e-9)


def test_without_the_flag_sent_prices_are_kept(client):
    frames = frames_of(200, unrated=False)
    for points in frames[0]['usage'].values():
        for point in points:
            point['rating']['price'] = 1
    assert post_frames(client, frames).status_code == 204
    assert total_rate(client) == pytest.approx(200)


def test_without_the_flag_points_without_rating_are_priced(client):
    frames = frames_of(200)
    for points in frames[0]['usage'].values():
        for point in points:
            del point['rating']
    assert post_frames(client, frames).status_code == 204
    assert total_rate(client) == pytest.approx(8.335144, abs=1e-9)


def test_unpriceable_point_is_refused_and_nothing_stored(client):
    frames = frames_of(200)
    frames[0]['usage']['instance'][0]['metadata']['vcpus'] = 'many'
    response = post_frames(client, frames, '?rate=true')
    assert response.status_code == 400
    assert response.get_json()['code'] == 'ratekeeper.rating.unpriceable_point'
    assert client.get('/v2/summary?begin=2026-11-01T00:00:00&end='
                      '2027-01-01T00:00:00').get_json()['results'] == []


def test_bad_rate_flag_is_refused(client):
    response = post_frames(client, frames_of(10), '?rate=perhaps')
    assert response.status_code == 400


def test_quote_of_the_dashboard(client):
    response = client.post('/v1/rating/quote', headers=JSON, data=orjson.dumps(
        {'resources': [{'desc': {'metadata': {'flavor_name': 'm1.large',
                                              'vcpus': '4'}},
                        'volume': 1, 'service': 'instance'}]}))
    assert response.status_code == 200
    # CloudKitty's decimal arithmetic keeps 28 digits
    assert response.get_json() == '0.07600000000000000000000000000'


def _create(client, kind, body):
    response = client.post('/v1/rating/module_config/hashmap/' + kind,
                           headers=JSON, data=orjson.dumps(body))
    assert response.status_code == 201, response.get_data()
    return response.get_json()


def _create_mapping(client, **body):
    """A mapping valid since 2020 (a past start needs force)."""
    return _create(client, 'mappings?force=true',
                   dict(body, start='2020-01-01T00:00:00'))


def _set_hashmap(client, enabled):
    response = client.put('/v2/rating/modules/hashmap', headers=JSON,
                          data=orjson.dumps({'enabled': enabled}))
    assert response.status_code == 204, response.get_data()


@pytest.mark.parametrize('resource, expected', [
    ({'service': 'instance', 'volume': 2}, '6.000000000000000000000000000'),
    # a JSON number is read exactly (WSME's Decimal(float)), text as written
    ({'service': 'instance', 'volume': 0.1},
     '0.3000000000000000166533453694'),
    ({'service': 'instance', 'volume': '0.1'},
     '0.3000000000000000000000000000'),
    ({'service': 'instance', 'volume': 2,
      'desc': {'metadata': {'flavor': 'a'}}}, '12.00000000000000000000000000'),
    ({'service': 'volume', 'volume': 1}, '0'),
    ({'service': 'instance', 'volume': '123456789.123456789'},
     '370370367.3703703670000000000'),
])
def test_quotes_are_cloudkittys_decimal_text(service, resource, expected):
    """The answers CloudKitty 25 gives these quotes (observed): a flat 3
    per instance, times 2 for flavor 'a'."""
    client = werkzeug_test.Client(service['app'])
    _set_hashmap(client, enabled=True)
    instance = _create(client, 'services', {'name': 'instance'})['service_id']
    flavor = _create(client, 'fields', {'service_id': instance,
                                        'name': 'flavor'})['field_id']
    _create_mapping(client, service_id=instance, cost='3', type='flat')
    _create_mapping(client, field_id=flavor, value='a', cost='2',
                    type='rate')
    response = client.post('/v1/rating/quote', headers=JSON,
                           data=orjson.dumps({'resources': [resource]}))
    assert response.status_code == 200, response.get_data()
    assert response.get_json() == expected


def test_disabled_hashmap_prices_nothing(client):
    _set_hashmap(client, enabled=False)
    assert post_frames(client, frames_of(200), '?rate=true').status_code \
        == 204
    assert total_rate(client) == 0


def _priced_frame(qty, groupby=None):
    return {'period': {'begin': '2026-11-02T00:00:00Z',
                       'end': '2026-11-02T01:00:00Z'},
            'usage': {'big': [{'vol': {'unit': 'u', 'qty': qty},
                               'groupby': groupby or {'project_id': 'p'},
                               'metadata': {}}]}}


def _big_rules(client):
    _set_hashmap(client, enabled=True)
    big = _create(client, 'services', {'name': 'big'})['service_id']
    _create_mapping(client, service_id=big, cost='999999999999', type='flat')
    _create_mapping(client, service_id=big, cost='2', type='flat',
                    tenant_id='t')


def test_a_point_priced_out_of_range_is_refused(service):
    """Each within range, a cost of ~1e12 on a quantity of ~1e15 prices a
    point ~1e27, which storage cannot sum: refused with nothing stored
    (it had made every later summary of the period fail)."""
    client = werkzeug_test.Client(service['app'])
    _big_rules(client)
    assert post_frames(client, [_priced_frame(1)], '?rate=true') \
        .status_code == 204
    response = post_frames(client, [_priced_frame(999999999999999)],
                           '?rate=true')
    assert response.status_code == 400
    assert response.get_json()['message'].startswith(
        'A point is priced out of range')
    assert total_rate(client) == pytest.approx(999999999999)


def test_a_project_id_that_is_no_text_gets_the_global_rules(service):
    client = werkzeug_test.Client(service['app'])
    _big_rules(client)
    response = post_frames(client, [_priced_frame(1, {'project_id': {
        'a': 1}})], '?rate=true')
    assert response.status_code == 204, response.get_data()
    assert total_rate(client) == pytest.approx(999999999999)
