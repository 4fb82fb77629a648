"""A throwaway InfluxDB 1.x server (Debian's influxd) for tests: one per
session, on free 127.0.0.1 ports with a temporary directory, stopped by
its PID at exit. Tests isolate themselves by database."""
import atexit
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

from tests import live

BINARY = shutil.which('influxd') or '/usr/bin/influxd'
CONFIG = '''reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
'''


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='ratekeeper-influxdb-',
                                    dir=live.scratch())
        self.port = live.free_port()
        self.process = None

    def start(self):
        path = os.path.join(self.dir, 'influxdb.conf')
        with open(path, 'w') as stream:
            stream.write(CONFIG.format(dir=self.dir, http_port=self.port,
                                       rpc_port=live.free_port()))
        self.log = open(os.path.join(self.dir, 'influxd.log'), 'ab')
        self.process = subprocess.Popen([BINARY, '-config', path],
                                        stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError('influxd exited, see %s' % self.dir)
            try:
                urllib.request.urlopen(
                    'http://127.0.0.1:%d/ping' % self.port, timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self):
        """Stop the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def remove(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def options(self, database):
        return {'host': '127.0.0.1', 'port': self.port,
                'database': database}


_SERVER = []


def server():
    if not _SERVER:
        if not os.path.exists(BINARY):
            pytest.skip('influxd is not installed (make system-packages '
                        'installs it)')
        started = Server()
        started.start()
        atexit.register(started.remove)
        _SERVER.append(started)
    return _SERVER[0]


def database_name(purpose):
    return 'rk_%s_%s' % (purpose, secrets.token_hex(6))


def drop_database(name):
    import influxdb
    client = influxdb.InfluxDBClient('127.0.0.1', server().port)
    try:
        client.drop_database(name)
    except Exception:
        pass
    finally:
        client.close()


@contextlib.contextmanager
def storage(state_path, purpose):
    """An InfluxDB v2 storage on a new database of the session's server,
    closed and its database dropped afterwards."""
    from ratekeeper import storage as rk_storage
    from ratekeeper.storage import testing
    name = database_name(purpose)
    conf = testing.make_conf(
        str(state_path), storage={'version': 2, 'backend': 'influxdb'},
        storage_influxdb=server().options(name))
    opened = rk_storage.get_storage(conf)
    try:
        yield opened
    finally:
        opened.close()
        drop_database(name)
