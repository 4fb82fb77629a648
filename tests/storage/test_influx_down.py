"""InfluxDB down: pushes and reads get a 503 JSON error with Retry-After
at once, and the service recovers by itself when the server is back."""
import pytest
from werkzeug import test as wz_test

from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.db import migration
from tests import influx
from tests.functional import fixtures
from tests.storage import test_clickhouse_down as down


@pytest.fixture(scope='module')
def own_server():
    """A server of this module's own: the test stops it."""
    if not influx.os.path.exists(influx.BINARY):
        pytest.skip('influxd is not installed')
    server = influx.Server()
    server.start()
    yield server
    server.remove()


def test_a_dead_server_is_a_quick_503_and_the_service_recovers(
        own_server, tmp_path):
    conf = fixtures.make_conf(str(tmp_path))
    conf.set_override('backend', 'influxdb', 'storage')
    for key, value in own_server.options('rk_down').items():
        conf.set_override(key, value, 'storage_influxdb')
    conf.set_override('timeout', 2, 'storage_influxdb')
    migration.upgrade(conf)
    storage = rk_storage.get_storage(conf)
    client = wz_test.Client(rk_app.build_app(conf, storage))
    down.check_outage_and_recovery(
        client, own_server.kill, own_server.start)
    storage.close()
