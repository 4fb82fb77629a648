import pytest

from tests.functional import fixtures


@pytest.fixture
def service(tmp_path):
    """A fresh in-process service with embedded storage:
    (conf, storage, app)."""
    fixture = fixtures.ConfigFixture()
    fixture.start_fixture()
    state = dict(fixtures.STATE)
    yield state
    fixture.stop_fixture()


@pytest.fixture(scope='session')
def real_keystone():
    """One real Keystone per test session, populated (tests/keystone.py);
    its CORS allows one origin, http://127.0.0.1:<ui_port>, where the
    cost page's browser test serves ratekeeper (a port chosen now)."""
    from tests import keystone
    from tests import live
    try:
        keystone.install()
    except Exception as error:  # noqa: BLE001 - the reason is reported
        pytest.skip('keystone cannot be installed here: %s' % error)
    ui_port = live.free_port()
    with keystone.running_keystone(
            origin='http://127.0.0.1:%d' % ui_port) as server:
        server.ui_port = ui_port
        yield keystone.populate(server)
