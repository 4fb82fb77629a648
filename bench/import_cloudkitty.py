"""Import figures: ratekeeper-import cloudkitty over N rated points (default
1M) from CloudKitty's v1 SQL storage (SQLite) and from its InfluxDB
storage, into the default DuckDB storage: points/s and the importer's
peak RSS (getrusage of the child).

CloudKitty 25.0.0's schema is made by its own cloudkitty-dbsync and
cloudkitty-storage-init (the cached venv of tests/cloudkitty_service.py).
The N points (usagegen.py's data model, --projects 20 --scale 10: 2000
points per hourly period) are written in CloudKitty's layouts directly,
in bulk, because CloudKitty's own storage code writes a row at a time and
would take most of an hour for 1M points: ``rated_data_frames`` rows
(``desc`` the merged groupby and metadata, as its v1 storage writes them)
and InfluxDB points (measurement ``dataframes``, groupby and type as
tags, metadata, qty, price, unit and the key lists as fields).

    .venv/bin/python bench/import_cloudkitty.py                 # both, 1M
    .venv/bin/python bench/import_cloudkitty.py -n 100000 --sources v1
"""
import argparse
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'bench'))

import usagegen  # noqa: E402
from tests import cloudkitty_service  # noqa: E402
from tests import live  # noqa: E402

IMPORT = os.path.join(live.BIN, 'ratekeeper-import')
DBSYNC = os.path.join(live.BIN, 'ratekeeper-dbsync')
START = datetime.datetime(2026, 9, 1, tzinfo=datetime.timezone.utc)
CHUNK = 20000


def points(n):
    generator = usagegen.Generator(projects=20, scale=10)
    for frame, _count in generator.frames(n, START):
        begin = datetime.datetime.fromisoformat(frame['period']['begin'])
        end = datetime.datetime.fromisoformat(frame['period']['end'])
        for kind, entries in frame['usage'].items():
            for point in entries:
                yield begin, end, kind, point


def fill_v1(db_path, n):
    insert = ('INSERT INTO rated_data_frames (tenant_id, begin, "end", unit,'
              ' qty, res_type, rate, "desc") VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    rows = []
    with sqlite3.connect(db_path) as connection:
        for begin, end, kind, point in points(n):
            rows.append((
                point['groupby']['project_id'],
                begin.strftime('%Y-%m-%d %H:%M:%S.000000'),
                end.strftime('%Y-%m-%d %H:%M:%S.000000'),
                point['vol']['unit'], point['vol']['qty'], kind,
                point['rating']['price'],
                json.dumps({**point['groupby'], **point['metadata']})))
            if len(rows) >= CHUNK:
                connection.executemany(insert, rows)
                rows = []
        connection.executemany(insert, rows)


def _line(begin, kind, point):
    groupby, metadata = point['groupby'], point['metadata']
    tags = ','.join('%s=%s' % item for item in sorted(
        {**groupby, 'type': kind}.items()))
    fields = {'qty': float(point['vol']['qty']),
              'price': float(point['rating']['price']),
              'unit': point['vol']['unit'],
              'groupby': '|'.join(groupby), 'metadata': '|'.join(metadata),
              **metadata}
    text = ','.join('%s=%s' % (key, json.dumps(value))
                    for key, value in fields.items())
    return 'dataframes,%s %s,__ck_collect_period=3600i %d' % (
        tags, text, begin.timestamp())


def fill_influx(url, database, n):
    lines = []

    def flush():
        request = urllib.request.Request(
            '%s/write?db=%s&precision=s' % (url, database),
            data='\n'.join(lines).encode(), method='POST')
        with urllib.request.urlopen(request, timeout=300):
            pass
        lines.clear()

    for begin, _end, kind, point in points(n):
        lines.append(_line(begin, kind, point))
        if len(lines) >= CHUNK:
            flush()
    if lines:
        flush()


def run_import(state, n, *args):
    """(points/s, seconds, peak RSS in MB) of one import, its output
    checked. The child is reaped with wait4 for its own rusage."""
    env = live.server_env(state, live.free_port())
    subprocess.run([DBSYNC, 'upgrade'], env=env, check=True,
                   capture_output=True)
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen([IMPORT, 'cloudkitty'] + list(args),
                                   env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode()
    if process.returncode != 0 or '%d points copied' % n not in output:
        raise SystemExit('import failed (%s):\n%s'
                         % (process.returncode, output[-3000:]))
    return n / seconds, seconds, usage.ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-n', type=int, default=1000000)
    parser.add_argument('--sources', default='v1,influxdb')
    args = parser.parse_args()
    wanted = args.sources.split(',')
    with tempfile.TemporaryDirectory(prefix='rk-import-bench-') as work:
        ck_dir = os.path.join(work, 'ck')
        os.makedirs(ck_dir)
        db_path = os.path.join(ck_dir, 'cloudkitty.sqlite')
        with cloudkitty_service.influxdb() as influx:
            ck = cloudkitty_service.CloudKitty(
                ck_dir, 'sqlite:///' + db_path, influx)
            ck.create_schema()
            for source in wanted:
                started = time.perf_counter()
                if source == 'v1':
                    fill_v1(db_path, args.n)
                    extra = ['--v1-storage']
                else:
                    fill_influx(influx, ck.influx_database, args.n)
                    extra = ['--influxdb', ck.influxdb]
                print('%s: %d points written in %.1f s' % (
                    source, args.n, time.perf_counter() - started),
                    flush=True)
                state = os.path.join(work, 'rk-' + source)
                rate, seconds, peak = run_import(
                    state, args.n, '--db', 'sqlite:///' + db_path, *extra)
                print('%s: imported %d points in %.1f s: %.0f points/s, '
                      'peak RSS %.0f MB' % (source, args.n, seconds, rate,
                                            peak), flush=True)


if __name__ == '__main__':
    main()
