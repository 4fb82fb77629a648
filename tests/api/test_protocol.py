"""Protocol pieces tested below HTTP: load shedding, JSON-home coverage,
ETag matching."""
import threading

import orjson
from werkzeug.test import Client

from ratekeeper.api import conditional
from ratekeeper.api import middleware
from ratekeeper.api.v2 import versions
from tests.functional import fixtures


def test_load_shedder_answers_503_at_once_when_full_and_recovers():
    entered, release = threading.Event(), threading.Event()

    def slow_app(environ, start_response):
        entered.set()
        release.wait(10)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ok']

    client = Client(middleware.LoadShedder(slow_app, limit=1))
    busy = threading.Thread(target=client.get, args=('/',),
                            kwargs={'buffered': True})
    busy.start()
    assert entered.wait(10)
    refused = client.get('/')
    assert refused.status_code == 503
    assert refused.headers['Retry-After'] == '1'
    assert orjson.loads(refused.data)['code'] == \
        'ratekeeper.service_unavailable.overloaded'
    release.set()
    busy.join(10)
    assert client.get('/', buffered=True).status_code == 200


def test_load_shedder_frees_the_slot_when_the_app_raises():
    def failing_app(environ, start_response):
        raise RuntimeError('boom')

    shedder = middleware.LoadShedder(failing_app, limit=1)
    for _ in range(3):
        try:
            Client(shedder).get('/')
        except RuntimeError:
            pass
    assert shedder.slots.acquire(blocking=False)


def test_json_home_has_an_entry_per_routed_resource(tmp_path):
    service = fixtures.ConfigFixture()
    service.start_fixture()
    try:
        app = fixtures.STATE['app']
        response = Client(app).get(
            '/v2', headers={'Accept': 'application/json-home'})
        document = orjson.loads(response.data)['resources']
        v2_app = _v2_flask_app(fixtures.STATE['conf'])
        expected = {versions.REL_PREFIX + versions.resource_name(resource)
                    for _, resource in versions.resource_rules(v2_app)}
        assert set(document) == expected
        for entry in document.values():
            assert ('href' in entry) != ('href-template' in entry)
            assert entry['hints']['allow']
    finally:
        service.stop_fixture()


def _v2_flask_app(conf):
    from ratekeeper.api import v2
    return v2.create_app(conf, fixtures.STATE['storage'])


def test_etag_ignores_key_order_and_sees_any_change():
    first = conditional.etag_of({'a': 1, 'b': [1, 2]})
    assert first == conditional.etag_of({'b': [1, 2], 'a': 1})
    assert first != conditional.etag_of({'a': 1, 'b': [2, 1]})


def test_if_match_lists_weak_tags_and_star():
    assert conditional.matches('"x", W/"abc"', 'abc')
    assert conditional.matches('*', 'anything')
    assert not conditional.matches('"abcd"', 'abc')
