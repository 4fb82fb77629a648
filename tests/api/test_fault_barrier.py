"""Whatever escapes an app becomes the JSON 500, never a server page."""
from werkzeug import test as werkzeug_test

from ratekeeper.api import errors as api_errors


def exploding_app(environ, start_response):
    raise RuntimeError('boom')


def test_an_exception_is_a_json_500():
    client = werkzeug_test.Client(api_errors.JSONErrorMiddleware(
        exploding_app))
    response = client.get('/anything',
                          environ_base={'openstack.request_id': 'req-1'})
    assert response.status_code == 500
    assert response.json == {'message': 'Internal Server Error',
                             'code': 'ratekeeper.internal_error',
                             'request_id': 'req-1'}
    assert 'boom' not in response.get_data(as_text=True)
