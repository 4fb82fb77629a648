"""Where the cost page's static files are served, in-process: under /ui/
of the one WSGI app, public in keystone mode while the API stays guarded,
and only when v2 (which the page reads) is."""
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import conf as rk_conf
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from tests.functional import fixtures


def client(tmp_path, auth_strategy='noauth', storage_version=2):
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('auth_strategy', auth_strategy)
    conf.set_override('version', storage_version, 'storage')
    if auth_strategy == 'keystone':
        rk_conf.register_keystone_opts(conf)
        conf.set_override('www_authenticate_uri', 'http://keystone.test/v3',
                          'keystone_authtoken')
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    return werkzeug_test.Client(rk_app.build_app(conf, storage)), storage


@pytest.fixture
def noauth(tmp_path):
    app, storage = client(tmp_path)
    yield app
    storage.close()


def test_the_page_and_its_files_are_served_under_ui(noauth):
    # (an unversioned path would be rewritten to /v2/...: /ui is not)
    page = noauth.get('/ui/')
    assert page.status_code == 200
    assert page.mimetype == 'text/html'
    assert b'app.js' in page.data
    assert "frame-ancestors 'none'" in page.headers['Content-Security-Policy']
    for path, mimetype in (('/ui/app.js', 'text/javascript'),
                           ('/ui/style.css', 'text/css')):
        response = noauth.get(path)
        assert (response.status_code, response.mimetype) == (200, mimetype)


def test_ui_without_its_slash_is_redirected(noauth):
    response = noauth.get('/ui')
    assert response.status_code in (301, 308)
    assert response.headers['Location'].endswith('/ui/')


def test_keystone_mode_serves_the_files_and_guards_the_api(tmp_path):
    app, storage = client(tmp_path, 'keystone')
    try:
        assert app.get('/ui/').status_code == 200
        assert app.get('/ui/app.js').status_code == 200
        assert app.get('/v2/summary').status_code == 401
        assert app.get('/uix').status_code == 401  # a prefix, not a stem
    finally:
        storage.close()


def test_without_v2_there_is_no_page_and_no_link(tmp_path):
    app, storage = client(tmp_path, storage_version=1)
    try:
        assert app.get('/ui/').status_code == 404
        assert 'links' not in app.get('/').json
    finally:
        storage.close()
