"""What ratekeeper-processor loads on the v1 SQL storage: none of the
API's or the analytic storages' libraries, and tooz only when a
coordination URL is set. Each of them costs the long-running process
megabytes of resident memory (see bench/README.md, processor)."""
import json
import os
import subprocess
import sys

import pytest

from tests import databases
from tests.processor import conftest

BIN = os.path.dirname(sys.executable)
NEVER = {'numpy', 'pyarrow', 'duckdb', 'pandas', 'flask', 'pecan', 'wsme',
         'alembic', 'webob', 'jinja2', 'requests', 'keystonemiddleware',
         'keystoneauth1', 'clickhouse_connect', 'influxdb'}
# the whole start of ratekeeper-processor (options, schema check, the
# processor and its reprocessing workers built), then its modules
MAIN = '''
import json, sys
from ratekeeper.cmd import processor as command
from ratekeeper.processor import service
build = service.build
def built(*args, **kwargs):
    processor = build(*args, **kwargs)
    processor.run = lambda passes=None: None
    return processor
service.build = built
code = command.main(['--config-file', sys.argv[1]])
print(json.dumps([code, sorted(sys.modules)]))
'''


def _modules(tmp_path, connection, coordination_url):
    (tmp_path / 'metrics.yml').write_text(conftest.METRICS_YML)
    config = tmp_path / 'ratekeeper.conf'
    config.write_text('\n'.join([
        '[DEFAULT]', 'state_path = %s' % tmp_path,
        '[storage]', 'version = 1', 'backend = sqlalchemy',
        '[database]', 'connection = %s' % connection,
        '[collect]', 'collector = prometheus',
        'metrics_conf = %s' % (tmp_path / 'metrics.yml'),
        '[fetcher]', 'backend = source',
        '[fetcher_source]', 'sources = a',
        '[collector_prometheus]', 'prometheus_url = http://127.0.0.1:9/api/v1',
        '[orchestrator]', 'coordination_url = %s' % coordination_url]) + '\n')
    subprocess.run([os.path.join(BIN, 'ratekeeper-dbsync'), '--config-file',
                    str(config), 'upgrade'], check=True, capture_output=True)
    result = subprocess.run([sys.executable, '-c', MAIN, str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    code, modules = json.loads(result.stdout.splitlines()[-1])
    assert code == 0, result.stderr
    return set(modules) | {name.split('.')[0] for name in modules}


@pytest.mark.parametrize('coordination', ['', 'file://{tmp}/locks'])
def test_processor_on_sqlite_loads_no_api_or_analytic_library(
        tmp_path, coordination):
    modules = _modules(tmp_path, 'sqlite:///%s/rk.sqlite' % tmp_path,
                       coordination.format(tmp=tmp_path))
    assert not modules & NEVER
    assert ('tooz' in modules) == bool(coordination)
    assert 'sqlalchemy' in modules and 'oslo_config' in modules


def test_processor_on_postgresql_loads_no_mysql_dialect(tmp_path):
    with databases.temporary_database('postgresql', 'footprint') as url:
        modules = _modules(tmp_path, url, '')
    assert not modules & (NEVER | {'pymysql', 'tooz',
                                   'sqlalchemy.dialects.mysql',
                                   'sqlalchemy.dialects.sqlite'})
    assert 'psycopg2' in modules


def test_processor_on_mariadb_loads_no_cryptography(tmp_path):
    # pymysql imports cryptography (~9 MB resident) for one login kind
    # that MariaDB never asks for; ratekeeper defers it to its first use
    with databases.temporary_database('mariadb', 'footprint') as url:
        modules = _modules(tmp_path, url, '')
    assert not modules & (NEVER | {'cryptography', 'psycopg2', 'tooz',
                                   'sqlalchemy.dialects.postgresql',
                                   'sqlalchemy.dialects.sqlite'})
    assert 'pymysql' in modules


SHA2_LOGIN = '''
import sys
from ratekeeper import db
db._pymysql_without_eager_cryptography()
assert 'cryptography' not in sys.modules
from pymysql import _auth
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
public = key.public_key().public_bytes(
    serialization.Encoding.PEM,
    serialization.PublicFormat.SubjectPublicKeyInfo)
salt = b'0123456789abcdefghij'
sent = _auth.sha2_rsa_encrypt(b'secret', salt, public)
oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()),
                    algorithm=hashes.SHA1(), label=None)
print(key.decrypt(sent, oaep) == _auth._xor_password(b'secret\\0', salt))
'''


def test_pymysql_sha2_login_still_encrypts_once_cryptography_is_used():
    # what a MySQL server asking for caching_sha2_password over a
    # connection without TLS gets: the password RSA-encrypted with its key
    result = subprocess.run([sys.executable, '-c', SHA2_LOGIN],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['True']
