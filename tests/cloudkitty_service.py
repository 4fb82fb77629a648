"""A real CloudKitty 25.0.0 beside ratekeeper, for the import tests.

CloudKitty is installed once into a venv of its own, cached outside the
repository (``$RATEKEEPER_TEST_CACHE`` or ~/.cache/ratekeeper-tests), and
run from there: its schema made by its own ``cloudkitty-dbsync`` and
``cloudkitty-storage-init``, its API under gunicorn on a free 127.0.0.1
port, its rated data written by its own storage code (v1 SQL) or through
its API (InfluxDB, a Debian ``influxd`` started here). The workarounds
are those of /work/shared/reference/running-cloudkitty.md: oslo.config
must not see gunicorn's arguments, the noauth pipeline needs
keystonemiddleware's options registered, and ``cloudkitty-dbsync`` on a
SQLite file needs one shared connection (StaticPool). On PostgreSQL,
CloudKitty 25's own dbsync and API fail; the wrappers below patch those
CloudKitty bugs in the processes they start (never its installed files),
each patch saying which bug it works around.
"""
import contextlib
import fcntl
import json
import os
import secrets
import socket
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request

from tests import influx
from tests import live

VERSION = '25.0.0'
CACHE = os.environ.get('RATEKEEPER_TEST_CACHE') or os.path.join(
    os.path.expanduser('~'), '.cache', 'ratekeeper-tests')
VENV = os.path.join(CACHE, 'cloudkitty-%s' % VERSION)
PACKAGES = ['cloudkitty==%s' % VERSION, 'python-cloudkittyclient',
            'gunicorn', 'pymysql', 'psycopg2-binary']
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, 'bench')

API_PASTE = """\
[pipeline:cloudkitty+noauth]
pipeline = request_id ck_api

[app:ck_api]
paste.app_factory = cloudkitty.api.app:app_factory

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory
"""

# The processor's collector needs one; it never collects here.
METRICS = """\
metrics:
  instance:
    unit: instance
    groupby: [id, user_id, project_id]
    metadata: [flavor_name, flavor_id, vcpus]
  volume:
    unit: GiB
    groupby: [id, user_id, project_id]
    metadata: [volume_type]
  image:
    unit: MiB
    groupby: [id, user_id, project_id]
    metadata: [container_format, disk_format]
"""

# Imported by gunicorn instead of cloudkitty.wsgi.api (see the docstring).
WSGI_WRAPPER = """\
import os
import sys
sys.argv = [sys.argv[0], '--config-file', os.environ['CK_CONFIG']]
import keystonemiddleware.auth_token  # registers [keystone_authtoken]
from cloudkitty.wsgi.api import application  # noqa
from oslo_config import cfg

if cfg.CONF.database.connection.startswith('postgresql'):
    # CloudKitty bug: StateManager.get_all filters its Boolean "active"
    # column with integers (active=1 by default, "active IN (1)"), which
    # PostgreSQL refuses (boolean = integer): POST and GET /v2/scope and
    # reprocessing tasks answer 500. Pass them as booleans.
    from cloudkitty import storage_state

    _get_all = storage_state.StateManager.get_all

    def _get_all_with_booleans(self, *args, active=True, **kwargs):
        if isinstance(active, (list, tuple)):
            active = [bool(value) for value in active]
        elif isinstance(active, int):
            active = bool(active)
        return _get_all(self, *args, active=active, **kwargs)

    storage_state.StateManager.get_all = _get_all_with_booleans
"""

DBSYNC_WRAPPER = """\
import sys
import sqlalchemy
from sqlalchemy import pool

_create_engine = sqlalchemy.create_engine


def _one_connection(url, *args, **kwargs):
    # CloudKitty bug: migrations 8a591f85865f (hashmap) and c6e4cda29654
    # (pyscripts) update rows through a second session while the DDL of
    # the migration's own connection is uncommitted: on SQLite it does not
    # see the new columns; on PostgreSQL, where alembic runs the whole
    # upgrade in one transaction, it does not even see the table
    # ('relation "hashmap_mappings" does not exist'). One shared connection
    # serves both (not pinged on checkout: psycopg2's ping cannot run
    # inside the migration's transaction).
    if str(url).startswith(('sqlite', 'postgresql')):
        kwargs['poolclass'] = pool.StaticPool
        kwargs['pool_pre_ping'] = False
        for key in ('pool_size', 'max_overflow', 'pool_timeout'):
            kwargs.pop(key, None)
    if str(url).startswith('postgresql'):
        _postgresql_fixes()
    return _create_engine(url, *args, **kwargs)


def _postgresql_fixes():
    from alembic.operations import base
    from sqlalchemy.engine import base as engine_base
    from sqlalchemy.ext import compiler

    # CloudKitty bug: hashmap migration f8c799db4aa0 executes a raw SQL
    # string on its connection, which SQLAlchemy 2 refuses (it must be
    # wrapped in text()).
    execute = engine_base.Connection.execute
    if getattr(execute, 'wraps_strings', False):
        return

    def execute_text(self, statement, *args, **kwargs):
        if isinstance(statement, str):
            statement = sqlalchemy.text(statement)
        return execute(self, statement, *args, **kwargs)

    execute_text.wraps_strings = True
    engine_base.Connection.execute = execute_text

    # CloudKitty bug: migrations 8a591f85865f and c6e4cda29654 add a
    # Text(length=256) column, rendered TEXT(256): not valid on PostgreSQL,
    # whose TEXT takes no length.
    @compiler.compiles(sqlalchemy.Text, 'postgresql')
    def text_without_length(type_, type_compiler, **kw):
        return 'TEXT'

    # CloudKitty bug: pyscripts migration c6e4cda29654 drops the unique
    # constraint on pyscripts_scripts.name by MySQL's name for it, "name";
    # PostgreSQL named it pyscripts_scripts_name_key.
    drop_constraint = base.BatchOperations.drop_constraint

    def drop_postgresql_name(self, name, *args, **kwargs):
        if self.impl.table_name == 'pyscripts_scripts' and name == 'name':
            name = 'pyscripts_scripts_name_key'
        return drop_constraint(self, name, *args, **kwargs)

    base.BatchOperations.drop_constraint = drop_postgresql_name


sqlalchemy.create_engine = _one_connection
from cloudkitty.cli import dbsync  # noqa
sys.argv = ['cloudkitty-dbsync'] + sys.argv[1:]
sys.exit(dbsync.main())
"""

# Pushes usagegen.py's request bodies (stdin) into CloudKitty's configured
# storage with CloudKitty's own storage code, one push per scope and
# period, as its processor does.
PUSH_SCRIPT = """\
import json
import sys
from cloudkitty import dataframe
from cloudkitty import service
from cloudkitty import storage

sys.argv = [sys.argv[0], '--config-file', sys.argv[1]]
service.prepare_service()
backend = storage.get_storage()
for line in sys.stdin:
    for frame in json.loads(line)['dataframes']:
        by_scope = {}
        for kind, points in frame['usage'].items():
            for point in points:
                scope = point['groupby']['project_id']
                by_scope.setdefault(scope, {}).setdefault(kind, []).append(
                    point)
        for scope, usage in by_scope.items():
            backend.push([dataframe.DataFrame.from_dict(
                {'period': frame['period'], 'usage': usage})], scope)
"""


def venv_bin(name):
    return os.path.join(VENV, 'bin', name)


def ensure_venv():
    """The cached CloudKitty venv, installed on first use under a lock.

    It is built where it stays (its console scripts' shebangs name their
    python by path): a directory without .complete, which a killed install
    leaves, is removed and built again. .complete lists the packages; a
    venv made with fewer gets the missing ones."""
    wanted = '\n'.join(PACKAGES) + '\n'
    complete = os.path.join(VENV, '.complete')
    if _read(complete) == wanted and not _moved_scripts():
        return VENV
    os.makedirs(CACHE, exist_ok=True)
    with open(VENV + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = _read(complete)
        if installed is None:
            shutil.rmtree(VENV, ignore_errors=True)
            subprocess.run([sys.executable, '-m', 'venv', VENV], check=True)
        if installed != wanted:
            subprocess.run([venv_bin('python'), '-m', 'pip', 'install', '-q']
                           + PACKAGES, check=True)
        _repair_moved_scripts()
        with open(complete + '.new', 'w') as stream:
            stream.write(wanted)
        os.rename(complete + '.new', complete)
    return VENV


def _read(path):
    try:
        with open(path) as stream:
            return stream.read()
    except FileNotFoundError:
        return None


def _moved_scripts():
    """Console scripts whose shebang names another directory's python: an
    earlier version of ensure_venv built the venv aside and renamed it."""
    moved = []
    bin_directory = os.path.join(VENV, 'bin')
    for name in os.listdir(bin_directory):
        path = os.path.join(bin_directory, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        with open(path, 'rb') as stream:
            first = stream.readline()
        if first.startswith(b'#!') and b'/bin/python' in first and \
                not first.startswith(b'#!' + bin_directory.encode() + b'/'):
            moved.append(path)
    return moved


def _repair_moved_scripts():
    python = ('#!%s\n' % venv_bin('python')).encode()
    for path in _moved_scripts():
        with open(path, 'rb') as stream:
            stream.readline()
            rest = stream.read()
        with open(path + '.new', 'wb') as stream:
            stream.write(python + rest)
        os.chmod(path + '.new', os.stat(path).st_mode)
        os.rename(path + '.new', path)


def wait_for(url, process, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('%s exited with %s' % (what,
                                                      process.returncode))
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError('%s did not answer within %ss' % (what, timeout))


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def influxdb():
    """Yield the HTTP URL of a fresh influxd (Debian's 1.x package), the
    suite's own InfluxDB server (tests/influx.py)."""
    server = influx.Server()
    try:
        server.start()
        yield 'http://127.0.0.1:%d' % server.port
    finally:
        server.remove()


def influx_query(url, query, database=None):
    params = {'q': query}
    if database:
        params['db'] = database
    request = urllib.request.Request(
        url + '/query', data=urllib.parse.urlencode(params).encode(),
        method='POST')
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


class CloudKitty:
    """One CloudKitty database in a throwaway directory, with two
    configurations: its API and processor's (InfluxDB storage when an
    InfluxDB is given, else v1), and one for its v1 SQL storage."""

    def __init__(self, directory, db_url, influx_url=None,
                 influx_database='cloudkitty', transport_url='fake:/'):
        ensure_venv()
        self.transport_url = transport_url
        self.directory = directory
        self.db_url = db_url
        self.influx_url = influx_url
        self.influx_database = influx_database
        self.v1_config = os.path.join(directory, 'cloudkitty-v1.conf')
        self.config = (os.path.join(directory, 'cloudkitty.conf')
                       if influx_url else self.v1_config)
        self.url = None
        self._write_files()

    def _influx_storage(self):
        influx = urllib.parse.urlsplit(self.influx_url)
        return textwrap.dedent("""\
            [storage]
            version = 2
            backend = influxdb
            [storage_influxdb]
            version = 1
            host = %s
            port = %d
            database = %s
            retention_policy = autogen
            use_ssl = false
            """ % (influx.hostname, influx.port, self.influx_database))

    def _write_config(self, path, storage):
        paste = os.path.join(self.directory, 'api_paste.ini')
        with open(path, 'w') as stream:
            stream.write(textwrap.dedent("""\
                [DEFAULT]
                auth_strategy = noauth
                api_paste_config = %s
                transport_url = %s
                control_exchange = ck_%s
                [database]
                connection = %s
                [orchestrator]
                coordination_url = file://%s/coordination
                max_workers = 1
                [collect]
                collector = prometheus
                metrics_conf = %s
                [collector_prometheus]
                prometheus_url = http://127.0.0.1:9/api/v1
                [fetcher]
                backend = source
                [fetcher_source]
                sources =
                """ % (paste, self.transport_url, secrets.token_hex(6),
                       self.db_url, self.directory,
                       os.path.join(self.directory, 'metrics.yml'))))
            stream.write(storage)

    def _write_files(self):
        with open(os.path.join(self.directory, 'api_paste.ini'), 'w') as f:
            f.write(API_PASTE)
        with open(os.path.join(self.directory, 'ck_wsgi.py'), 'w') as f:
            f.write(WSGI_WRAPPER)
        with open(os.path.join(self.directory, 'metrics.yml'), 'w') as f:
            f.write(METRICS)
        self._write_config(self.v1_config,
                           '[storage]\nversion = 1\nbackend = sqlalchemy\n')
        if self.influx_url:
            self._write_config(self.config, self._influx_storage())

    def run(self, *command, stdin=None):
        return subprocess.run(command, input=stdin, capture_output=True,
                              check=True, cwd=self.directory)

    @property
    def influxdb(self):
        """The --influxdb URL of ratekeeper-import."""
        return 'influxdb://%s/%s' % (
            urllib.parse.urlsplit(self.influx_url).netloc,
            self.influx_database)

    def create_schema(self):
        """CloudKitty's own dbsync, then storage-init of both storages."""
        wrapper = os.path.join(self.directory, 'ck_dbsync.py')
        with open(wrapper, 'w') as stream:
            stream.write(DBSYNC_WRAPPER)
        self.run(venv_bin('python'), wrapper, '--config-file', self.config,
                 'upgrade')
        if self.influx_url is not None:
            influx_query(self.influx_url,
                         'CREATE DATABASE %s' % self.influx_database)
        for config in {self.v1_config, self.config}:
            self.run(venv_bin('cloudkitty-storage-init'), '--config-file',
                     config)

    def push_v1(self, bodies):
        """Store usagegen.py request bodies in the v1 SQL storage with
        CloudKitty's storage code."""
        script = os.path.join(self.directory, 'ck_push.py')
        with open(script, 'w') as stream:
            stream.write(PUSH_SCRIPT)
        self.run(venv_bin('python'), script, self.v1_config, stdin=bodies)

    @contextlib.contextmanager
    def api(self, workers=1):
        port = live.free_port()
        env = dict(os.environ, CK_CONFIG=self.config,
                   PYTHONPATH=self.directory)
        log = open(os.path.join(self.directory, 'api.log'), 'wb')
        process = subprocess.Popen(
            [venv_bin('gunicorn'), '--bind', '127.0.0.1:%d' % port,
             '--workers', str(workers), '--timeout', '600',
             'ck_wsgi:application'],
            env=env, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        self.url = 'http://127.0.0.1:%d' % port
        try:
            wait_for(self.url + '/', process, 'CloudKitty API')
            yield self.url
        finally:
            stop(process)
            log.close()

    @contextlib.contextmanager
    def processor(self):
        """cloudkitty-processor, which answers quotes over RPC (its
        fetcher lists no scope: it rates nothing)."""
        log_path = os.path.join(self.directory, 'processor.log')
        log = open(log_path, 'wb')
        process = subprocess.Popen(
            [venv_bin('cloudkitty-processor'), '--config-file', self.config],
            cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while b'initiated as CloudKitty rating processor' not in \
                    open(log_path, 'rb').read():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError('cloudkitty-processor did not start')
                time.sleep(0.2)
            yield
        finally:
            stop(process)
            log.close()


def rabbitmq_url():
    """RabbitMQ on 127.0.0.1:5672 when it answers, else None."""
    try:
        socket.create_connection(('127.0.0.1', 5672), timeout=2).close()
    except OSError:
        return None
    return 'rabbit://guest:guest@127.0.0.1:5672/'


def usagegen(*args):
    return subprocess.run(
        [sys.executable, os.path.join(BENCH, 'usagegen.py')] + list(args),
        capture_output=True, check=True).stdout


def rules_setup(url):
    subprocess.run([sys.executable, os.path.join(BENCH, 'rules_setup.py'),
                    '--url', url], capture_output=True, check=True)
