"""Throwaway ClickHouse servers (Debian's clickhouse-server) for tests.

A server starts in a few seconds, so one single server (and, for the
cluster tests, one two-shard cluster) is started per test session, on
free 127.0.0.1 ports with a temporary directory, and stopped by its PID
at exit. Tests isolate themselves by database: each gets a new one.
"""
import atexit
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from tests import live

BINARY = shutil.which('clickhouse-server') or '/usr/sbin/clickhouse-server'
CLUSTER = 'rk_two_shards'
START_TIMEOUT = 60

CONFIG = '''<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{dir}/server.log</log>
    <errorlog>{dir}/error.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp_port}</tcp_port>
  <http_port>{http_port}</http_port>
  <interserver_http_port>{interserver_port}</interserver_http_port>
  <path>{dir}/data/</path>
  <tmp_path>{dir}/tmp/</tmp_path>
  <user_files_path>{dir}/user_files/</user_files_path>
  <format_schema_path>{dir}/format_schemas/</format_schema_path>
  <users_config>{dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <timezone>UTC</timezone>
  <remote_servers>{clusters}</remote_servers>
</yandex>
'''
USERS = '''<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage>
    <max_threads>2</max_threads></default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
'''


def cluster_xml(name, ports):
    shards = ''.join(
        '<shard><replica><host>127.0.0.1</host><port>%d</port></replica>'
        '</shard>' % port for port in ports)
    return '<%s>%s</%s>' % (name, shards, name)


class Server:
    """One clickhouse-server process on free ports."""

    def __init__(self, tcp_port=None):
        self.dir = tempfile.mkdtemp(prefix='ratekeeper-clickhouse-',
                                    dir=live.scratch())
        self.tcp_port = tcp_port or live.free_port()
        self.process = None

    def start(self, clusters=''):
        path = os.path.join(self.dir, 'config.xml')
        with open(path, 'w') as stream:
            stream.write(CONFIG.format(
                dir=self.dir, tcp_port=self.tcp_port,
                http_port=live.free_port(),
                interserver_port=live.free_port(), clusters=clusters))
        with open(os.path.join(self.dir, 'users.xml'), 'w') as stream:
            stream.write(USERS)
        self.log = open(os.path.join(self.dir, 'console.log'), 'ab')
        self.process = subprocess.Popen(
            [BINARY, '--config-file=' + path], stdout=self.log,
            stderr=subprocess.STDOUT, cwd=self.dir)
        self.wait_until_up()

    def wait_until_up(self):
        from clickhouse_driver import Client
        # the driver logs each refused connection with its traceback
        logging.getLogger('clickhouse_driver.connection').setLevel(
            logging.CRITICAL)
        deadline = time.monotonic() + START_TIMEOUT
        client = Client('127.0.0.1', port=self.tcp_port, connect_timeout=1)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError('clickhouse-server exited with %s, see %s'
                                   % (self.process.returncode, self.dir))
            try:
                client.execute('SELECT 1')
                client.disconnect()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def kill(self):
        """Stop the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database):
        return 'clickhouse://127.0.0.1:%d/%s' % (self.tcp_port, database)


_SERVERS = {}


def _started(kind):
    if kind in _SERVERS:
        return _SERVERS[kind]
    if not os.path.exists(BINARY):
        pytest.skip('clickhouse-server is not installed (make '
                    'system-packages installs it)')
    if kind == 'single':
        server = Server()
        server.start()
        servers = [server]
    else:
        servers = [Server(), Server()]
        clusters = cluster_xml(CLUSTER, [s.tcp_port for s in servers])
        for server in servers:
            server.start(clusters)
    for server in servers:
        atexit.register(server.remove)
    _SERVERS[kind] = servers
    return servers


def server():
    """The session's single ClickHouse server."""
    return _started('single')[0]


def cluster():
    """The session's two servers, shards of cluster CLUSTER."""
    return _started('cluster')


def database_name(purpose):
    return 'rk_%s_%s' % (purpose, secrets.token_hex(6))


def drop_database(port, name):
    from clickhouse_driver import Client
    client = Client('127.0.0.1', port=port, connect_timeout=2)
    try:
        client.execute('DROP DATABASE IF EXISTS `%s`' % name)
    except Exception:
        pass  # a killed server's data goes with its directory
    finally:
        client.disconnect()
