#!/usr/bin/env python3
"""Processor benchmark: collect, rate and store one day of usage from a
real Prometheus.

Prometheus (Debian's package) holds one day of usagegen.py's resources
(100 projects x scale 4: 2000 instances, 1200 volumes, 800 images, one
sample every 10 minutes), written with promtool. Then, for each setup, a
fresh store gets the reference rules (rules_setup.py, through a
ratekeeper-api that opens no v2 storage) and N ratekeeper-processor
processes collect the 24 hourly periods of the 100 scopes:

  duckdb x1      one processor on the embedded DuckDB file
  postgresql x1  one processor, v1 SQL storage on PostgreSQL 127.0.0.1:5432
  postgresql x2  two processors sharing the scopes (Redis locks)

With ``--cloudkitty VENV`` (a venv holding cloudkitty==25.0.0 and
pymysql), CloudKitty 25's processor runs on the same Prometheus with the
same metrics.yml and rules (created through its API by
bench/cloudkitty_rules.py), its v1 SQL storage on MariaDB 127.0.0.1:3306
and its scope states seeded at the same first period, for at most
``--cloudkitty-seconds``.

Figures: points/s from the processes' start until every scope is caught
up (start-up included), the same from the first scope state written (the
processes' start-up left out), the CPU seconds (user + system) the
processes used per 1000 points stored, and each process's peak RSS
(VmHWM; CloudKitty: its master and each worker) with their sum.

usage: .venv/bin/python bench/processor.py [--projects 100] [--scale 4]
       [--setups duckdb:1,postgresql:1,postgresql:2,mariadb:1,mariadb:2]
       [--cloudkitty VENV [--cloudkitty-seconds 180]]
"""
import argparse
import datetime
import os
import secrets
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'tools'))

import prometheus_sample  # noqa: E402
import rules_setup  # noqa: E402
import usagegen  # noqa: E402

from ratekeeper import db  # noqa: E402
from ratekeeper import storage as rk_storage  # noqa: E402
from ratekeeper.processor import state as scope_state  # noqa: E402
from ratekeeper.storage import testing  # noqa: E402
from tests import databases  # noqa: E402
from tests import live  # noqa: E402
from tests import prometheus_server  # noqa: E402

BIN = os.path.dirname(sys.executable)
UTC = datetime.timezone.utc
HOURS = 24
METRICS_YML = os.path.join(os.path.dirname(HERE), 'etc',
                           'metrics-prometheus.yml')


def write_config(directory, prometheus, begin, projects, storage, count):
    sections = {
        'DEFAULT': {'state_path': directory, 'auth_strategy': 'noauth'},
        'collect': {'collector': 'prometheus', 'wait_periods': 0,
                    'first_period': begin.isoformat(),
                    'metrics_conf': METRICS_YML},
        'fetcher': {'backend': 'source'},
        'fetcher_source': {'sources': ','.join(projects)},
        'collector_prometheus': {'prometheus_url': prometheus},
        'orchestrator': {'poll_interval': 0.5,
                         'coordination_url': (
                             'redis://127.0.0.1:6379?namespace=rk-bench-%s'
                             % secrets.token_hex(4)) if count > 1
                         else 'file://%s/locks' % directory},
    }
    if storage != 'duckdb':
        sections['storage'] = {'version': 1, 'backend': 'sqlalchemy'}
        sections['database'] = {'connection': storage}
    path = directory + '/ratekeeper.conf'
    with open(path, 'w') as stream:
        for section, values in sections.items():
            stream.write('[%s]\n' % section)
            for key, value in values.items():
                stream.write('%s = %s\n' % (key, value))
    return path


def load_conf(path):
    conf = testing.make_conf('/nonexistent')
    conf.clear_override('state_path')
    conf(['--config-file', path], project='ratekeeper')
    return conf


def create_rules(config):
    """The reference rules through an API opening no v2 storage."""
    port = live.free_port()
    env = dict(os.environ, OS_STORAGE__VERSION='1', OS_API__PORT=str(port),
               OS_COLLECT__COLLECTOR='')
    subprocess.run([BIN + '/ratekeeper-dbsync', '--config-file', config,
                    'upgrade'], check=True, capture_output=True, env=env)
    api = subprocess.Popen([BIN + '/ratekeeper-api', '--config-file',
                            config], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        live.wait_until_up('http://127.0.0.1:%d' % port, api)
        rules_setup.setup(rules_setup.Api('http://127.0.0.1:%d' % port, {}))
    finally:
        api.terminate()
        api.wait()


def cpu_seconds(pid):
    """User + system CPU seconds a running process has used."""
    with open('/proc/%d/stat' % pid) as stream:
        fields = stream.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def peak_rss_mb(pid):
    with open('/proc/%d/status' % pid) as stream:
        for line in stream:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    return 0.0


def run_setup(prometheus, begin, projects, storage, count, directory):
    config = write_config(directory, prometheus, begin, projects, storage,
                          count)
    create_rules(config)
    conf = load_conf(config)
    states = scope_state.ScopeStates(conf)
    last = begin + datetime.timedelta(hours=HOURS - 1)
    started = time.monotonic()
    log = open(directory + '/processors.log', 'wb')
    processes = [subprocess.Popen([BIN + '/ratekeeper-processor',
                                   '--config-file', config],
                                  stdout=log, stderr=subprocess.STDOUT)
                 for _ in range(count)]
    first_state = None
    try:
        while True:
            listed = states.list(limit=None)
            if listed and first_state is None:
                first_state = time.monotonic()
            if len(listed) == len(projects) and all(
                    s.last_processed_timestamp >= last for s in listed):
                break
            if any(p.poll() is not None for p in processes):
                raise RuntimeError('a processor exited, see %s'
                                   % directory)
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        working = time.monotonic() - (first_state or started)
        rss = [peak_rss_mb(p.pid) for p in processes]
        cpu = sum(cpu_seconds(p.pid) for p in processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        log.close()
    storage_backend = rk_storage.get_storage(conf)
    try:
        total = storage_backend.total(begin, last + datetime.timedelta(
            hours=1))['results'][0]
        points = sum(len(batch) for batch in storage_backend.stream(
            begin, last + datetime.timedelta(hours=1)))
    finally:
        storage_backend.close()
        db.dispose(conf)
    return points, elapsed, working, rss, total['rate'], cpu


CLOUDKITTY_CONF = """[DEFAULT]
auth_strategy = noauth
transport_url = rabbit://guest:guest@127.0.0.1:5672/
[database]
connection = {database}
[storage]
version = 1
backend = sqlalchemy
[collect]
collector = prometheus
metrics_conf = {metrics}
wait_periods = 0
[fetcher]
backend = source
[fetcher_source]
sources = {sources}
[collector_prometheus]
prometheus_url = {prometheus}
[orchestrator]
coordination_url = file://{directory}/locks
max_workers = {workers}
max_workers_reprocessing = 0
"""


def _seed_cloudkitty_states(url, projects, begin):
    """Start CloudKitty's scopes where ratekeeper's start (it has no
    first_period option: it would begin at the first of the month)."""
    import sqlalchemy as sa
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    last = (begin - datetime.timedelta(hours=1)).replace(tzinfo=None)
    now = datetime.datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(sa.text(
            'INSERT INTO cloudkitty_storage_states (identifier, scope_key, '
            'fetcher, collector, last_processed_timestamp, '
            'scope_activation_toggle_date, active) VALUES (:p, '
            "'project_id', 'source', 'prometheus', :last, :now, 1)"),
            [{'p': p, 'last': last, 'now': now} for p in projects])
    return engine


def _tree(pid):
    """A process and its children."""
    try:
        children = subprocess.run(['pgrep', '-P', str(pid)],
                                  capture_output=True, text=True).stdout
    except OSError:
        children = ''
    return [pid] + [int(child) for child in children.split()]


def _tree_peak_rss(pid):
    """Peak RSS (MB) of a process and of each of its children."""
    return [peak_rss_mb(member) for member in _tree(pid)]


def run_cloudkitty(venv, prometheus, begin, projects, workers, directory,
                   limit):
    """CloudKitty 25's processor (its own venv, v1 SQL storage on
    MariaDB, the same rules and metrics.yml), until caught up or ``limit``
    seconds: (points, seconds, seconds after start-up, peak RSS list,
    rated total of the points stored)."""
    import sqlalchemy as sa
    with databases.temporary_database('mariadb', 'ckbench') as url:
        config = directory + '/cloudkitty.conf'
        with open(config, 'w') as stream:
            stream.write(CLOUDKITTY_CONF.format(
                database=url, metrics=METRICS_YML, prometheus=prometheus,
                sources=','.join(projects), directory=directory,
                workers=workers))
        for command in ('cloudkitty-dbsync', 'cloudkitty-storage-init'):
            args = [venv + '/bin/' + command, '--config-file', config]
            if command == 'cloudkitty-dbsync':
                args.append('upgrade')
            subprocess.run(args, check=True, capture_output=True)
        subprocess.run([venv + '/bin/python', HERE + '/cloudkitty_rules.py',
                        config], check=True, capture_output=True)
        engine = _seed_cloudkitty_states(url, projects, begin)
        last = (begin + datetime.timedelta(hours=HOURS - 1)).replace(
            tzinfo=None)
        log = open(directory + '/cloudkitty-processor.log', 'wb')
        started = time.monotonic()
        first_point = None
        process = subprocess.Popen(
            [venv + '/bin/cloudkitty-processor', '--config-file', config],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            while True:
                with engine.connect() as connection:
                    behind = connection.execute(sa.text(
                        'SELECT COUNT(*) FROM cloudkitty_storage_states '
                        'WHERE last_processed_timestamp < :last'),
                        {'last': last}).scalar()
                    if first_point is None and connection.execute(sa.text(
                            'SELECT COUNT(*) FROM cloudkitty_storage_states '
                            'WHERE last_processed_timestamp >= :b'),
                            {'b': begin.replace(tzinfo=None)}).scalar():
                        first_point = time.monotonic()
                if not behind or time.monotonic() - started > limit:
                    break
                if process.poll() is not None:
                    raise RuntimeError('cloudkitty-processor exited, see %s'
                                       % directory)
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            working = time.monotonic() - (first_point or started)
            rss = _tree_peak_rss(process.pid)
            cpu = sum(cpu_seconds(member) for member in _tree(process.pid))
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
        with engine.connect() as connection:
            points, rate = connection.execute(sa.text(
                'SELECT COUNT(*), SUM(rate) FROM rated_data_frames WHERE '
                'begin >= :b AND begin <= :l'),
                {'b': begin.replace(tzinfo=None), 'l': last}).one()
            if first_point is None:
                first_point = started
        engine.dispose()
    return points, elapsed, working, rss, round(rate or 0, 6), cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=(
        argparse.RawDescriptionHelpFormatter))
    parser.add_argument('--projects', type=int, default=100)
    parser.add_argument('--scale', type=int, default=4)
    parser.add_argument('--setups', default='duckdb:1,postgresql:1,'
                                            'postgresql:2')
    parser.add_argument('--cloudkitty', metavar='VENV',
                        help='a venv with cloudkitty==25.0.0 and pymysql: '
                             'adds the setups cloudkitty:1 and cloudkitty:2 '
                             '(its processor with 1 and 2 workers)')
    parser.add_argument('--cloudkitty-seconds', type=float, default=180,
                        help='stop CloudKitty after this long and count '
                             'what it stored (default 180)')
    args = parser.parse_args()
    generator = usagegen.Generator(projects=args.projects, scale=args.scale)
    now = datetime.datetime.now(UTC)
    begin = now.replace(minute=0, second=0, microsecond=0) - \
        datetime.timedelta(hours=HOURS + 1)
    print('history: %d projects, %d resources, %d hours (%d points)'
          % (args.projects, len(generator.resources), HOURS,
             len(generator.resources) * HOURS), flush=True)
    t0 = time.monotonic()
    with prometheus_server.running_prometheus(
            prometheus_sample.history(generator.resources, begin,
                                      HOURS)) as prometheus:
        print('prometheus ready in %.1fs' % (time.monotonic() - t0),
              flush=True)
        print('| setup | points | seconds | points/s | points/s after '
              'start-up | CPU s / 1000 points | peak RSS (MB) | sum of '
              'peak RSS | rated total |\n'
              '|---|---:|---:|---:|---:|---:|---:|---:|---:|', flush=True)
        setups = args.setups.split(',')
        if args.cloudkitty:
            setups += ['cloudkitty:1', 'cloudkitty:2']
        for setup in setups:
            kind, count = setup.split(':')
            with tempfile.TemporaryDirectory(
                    prefix='rk-bench-processor-') as directory:
                if kind == 'cloudkitty':
                    result = run_cloudkitty(args.cloudkitty, prometheus,
                                            begin, generator.projects,
                                            int(count), directory,
                                            args.cloudkitty_seconds)
                elif kind == 'duckdb':
                    result = run_setup(prometheus, begin,
                                       generator.projects, 'duckdb',
                                       int(count), directory)
                else:
                    with databases.temporary_database(kind,
                                                      'bench') as url:
                        result = run_setup(prometheus, begin,
                                           generator.projects, url,
                                           int(count), directory)
            points, elapsed, working, rss, rate, cpu = result
            print('| %s x%s | %d | %.1f | %.0f | %.0f | %.3f | %s | %.0f | '
                  '%s |' % (kind, count, points, elapsed, points / elapsed,
                            points / working, cpu / max(points, 1) * 1000,
                            ' + '.join('%.0f' % r for r in rss), sum(rss),
                            rate), flush=True)


if __name__ == '__main__':
    main()
