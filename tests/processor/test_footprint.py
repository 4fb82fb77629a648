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
