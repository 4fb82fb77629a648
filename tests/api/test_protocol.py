"""Protocol pieces tested below HTTP: load shedding, JSON-home coverage,
ETag matching."""
import io
import threading

from gunicorn.http import errors as gunicorn_errors
import orjson
from werkzeug.test import Client

from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.api import conditional
from ratekeeper.api import middleware
from ratekeeper.api.v2 import routes
from ratekeeper.api.v2 import versions
from ratekeeper.db import migration
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
        expected = {versions.REL_PREFIX + routes.relation(resource)
                    for _, resource in routes.resource_rules(v2_app)}
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


def _post_chunked(app, body):
    """POST body as a server passes a chunked request: no length."""
    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/v2/dataframes',
               'SCRIPT_NAME': '', 'QUERY_STRING': '', 'SERVER_NAME': 'x',
               'SERVER_PORT': '80', 'SERVER_PROTOCOL': 'HTTP/1.1',
               'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(body),
               'wsgi.input_terminated': True,
               'CONTENT_TYPE': 'application/json',
               'HTTP_TRANSFER_ENCODING': 'chunked'}
    status = []
    answer = b''.join(app(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0].split()[0]), answer


def test_a_chunked_body_is_bounded_like_a_declared_one(tmp_path):
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('max_request_body_size', 2048, 'api')
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    app = rk_app.build_app(conf, storage)
    frame = {'period': {'begin': '2026-01-01T00:00:00Z',
                        'end': '2026-01-01T01:00:00Z'},
             'usage': {'x': [{'vol': {'unit': 'u', 'qty': 1},
                              'rating': {'price': 1}, 'groupby': {},
                              'metadata': {'note': 'n' * 100}}]}}
    status, _ = _post_chunked(app, orjson.dumps({'dataframes': [frame]}))
    assert status == 204
    status, answer = _post_chunked(
        app, orjson.dumps({'dataframes': [frame] * 20}))
    assert status == 413
    assert orjson.loads(answer)['code'] == 'ratekeeper.payload_too_large'
    storage.close()


class _BadChunks:
    """A server's chunked body reader meeting malformed framing."""

    def read(self, size=-1):
        raise gunicorn_errors.InvalidChunkSize(b'zz')


def test_a_malformed_chunked_body_is_a_400(tmp_path):
    conf = fixtures.make_conf(str(tmp_path))
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    app = rk_app.build_app(conf, storage)
    for path in ('/v2/dataframes', '/v1/rating/quote'):
        environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': path,
                   'SCRIPT_NAME': '', 'QUERY_STRING': '',
                   'SERVER_NAME': 'x', 'SERVER_PORT': '80',
                   'SERVER_PROTOCOL': 'HTTP/1.1', 'wsgi.url_scheme': 'http',
                   'wsgi.input': _BadChunks(), 'wsgi.input_terminated': True,
                   'CONTENT_TYPE': 'application/json',
                   'HTTP_TRANSFER_ENCODING': 'chunked'}
        status = []
        answer = orjson.loads(b''.join(app(
            environ, lambda s, h, e=None: status.append(s))))
        assert status[0].startswith('400')
        assert answer['message'].startswith('Malformed chunked request body')
    storage.close()


def test_v1_refuses_what_is_not_utf8_before_pecan_reads_it(tmp_path):
    conf = fixtures.make_conf(str(tmp_path))
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    client = Client(rk_app.build_app(conf, storage))
    for method, path, body, message in (
            ('POST', '/v1/rating/module_config/hashmap/services',
             b'{"name": "\xff\xfe"}', 'Request body is not valid UTF-8.'),
            ('GET', '/v1/report/total?tenant_id=%ff', None,
             'The request path or query string is not valid UTF-8.')):
        response = client.open(path, method=method, data=body,
                               content_type='application/json')
        assert response.status_code == 400
        assert response.json['faultstring'] == message
    response = client.post('/v1/rating/module_config/hashmap/services',
                           data='{"name": "été"}'.encode(),
                           content_type='application/json')
    assert response.status_code == 201
    storage.close()
