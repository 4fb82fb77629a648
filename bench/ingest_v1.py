"""Ingest and storage-read figures of every storage backend.

For each backend, on a fresh database:

1. ingest: ``usagegen.py dump -n N | ratekeeper-ingest --config-file C -``
   (the summary line of ratekeeper-ingest gives points/s);
2. reads, in-process on the storage object: the grand total and one
   tenant's total (what /v1/report/total asks), a groupby type,project
   total (what /v1/report/summary asks), and ``stream()`` over every point
   (what /v1/storage/dataframes walks), with the Python heap's peak growth
   during the stream (tracemalloc, in a separate run);
3. with --api, for the v1 (SQL) backends: ratekeeper-api on that database
   (a free port, or --port), GET /v1/report/total (all tenants, then one
   tenant; 50 runs each) and GET /v1/storage/dataframes over every point
   (5 runs, with the RSS of the gunicorn worker that serves them), timed
   by bench/v1_api.py's helpers, then ``usagegen.py querybench --only v1``
   (its table goes to stderr).

    .venv/bin/python bench/ingest_v1.py                       # all backends
    .venv/bin/python bench/ingest_v1.py --backends sqlite -n 100000
    .venv/bin/python bench/ingest_v1.py --backends sqlite --api --runs 3

PostgreSQL and MariaDB get a throwaway database on the local servers.
"""
import argparse
import contextlib
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ratekeeper import db  # noqa: E402
from ratekeeper import storage as rk_storage  # noqa: E402
from ratekeeper.storage import testing  # noqa: E402
from tests import databases  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import v1_api  # noqa: E402
import v2_api  # noqa: E402

USAGEGEN = os.path.join(ROOT, 'bench', 'usagegen.py')
INGEST = os.path.join(os.path.dirname(sys.executable), 'ratekeeper-ingest')
BACKENDS = ('sqlite', 'postgresql', 'mariadb', 'duckdb')


@contextlib.contextmanager
def backend_conf(name, state_path):
    """(config file, conf) of a fresh storage of backend ``name``."""
    with contextlib.ExitStack() as stack:
        url = 'sqlite:///%s/ratekeeper.sqlite' % state_path
        if name in ('postgresql', 'mariadb'):
            url = stack.enter_context(
                databases.temporary_database(name, 'bench'))
        version = 2 if name == 'duckdb' else 1
        path = os.path.join(state_path, 'ratekeeper.conf')
        with open(path, 'w') as config:
            config.write('[DEFAULT]\nstate_path = %s\n[storage]\nversion = %d'
                         '\n[database]\nconnection = %s\n'
                         % (state_path, version, url))
        conf = testing.make_conf(state_path, storage={'version': version},
                                 database={'connection': url})
        stack.callback(db.dispose, conf)
        yield path, conf


def ingest(config_path, points):
    command = '%s %s dump -n %d | %s --config-file %s -' % (
        sys.executable, USAGEGEN, points, INGEST, config_path)
    result = subprocess.run(command, shell=True, capture_output=True,
                            text=True, check=True)
    return result.stdout.strip()


def median_ms(function, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def data_window():
    """[begin, end) holding the generated data (from the 1st of the
    month)."""
    begin = datetime.datetime.now(datetime.timezone.utc).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    return begin, begin + datetime.timedelta(days=400)


def first_tenant(storage):
    return storage.scope_ids(*data_window(), 'project_id')[0]


def read_figures(storage, points):
    begin, end = data_window()
    tenant = first_tenant(storage)

    def stream_all():
        count = sum(len(batch) for batch in storage.stream(None, None))
        assert count == points, count

    figures = {
        'total, all (ms)': median_ms(lambda: storage.total(begin, end), 30),
        'total, one tenant (ms)': median_ms(lambda: storage.total(
            begin, end, filters={'project_id': [tenant]}), 30),
        'total groupby type,project_id (ms)': median_ms(lambda: storage.total(
            begin, end, groupby=['type', 'project_id']), 5),
        'stream of every point (ms)': median_ms(stream_all, 3),
    }
    tracemalloc.start()
    stream_all()
    figures['stream, Python heap peak (MiB)'] = (
        tracemalloc.get_traced_memory()[1] / 2 ** 20)
    tracemalloc.stop()
    return figures


def api_figures(conf, state_path, points, port, tenant):
    """The v1 API's figures, served from the database just filled."""
    saved = dict(os.environ)
    # start_server passes os.environ on; the environment beats config files.
    os.environ.update(OS_STORAGE__VERSION='1',
                      OS_DATABASE__CONNECTION=conf.database.connection)
    try:
        server, url = v2_api.start_server(state_path,
                                          port or v2_api.free_port())
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        total_ms = v1_api.median_ms(url, '/v1/report/total', dict(
            v1_api.EVERYTHING, all_tenants='True'), 50)
        tenant_ms = v1_api.median_ms(url, '/v1/report/total', dict(
            v1_api.EVERYTHING, tenant_id=tenant), 50)
        dump = v1_api.dataframes_figures(url, v1_api.worker_pid(server), 5)
        print(v2_api.usagegen(v2_api.USAGEGEN, 'querybench', '--url', url,
                              '--only', 'v1', '-n', str(points)),
              file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    return {'API /v1/report/total, all tenants (ms)': total_ms,
            'API /v1/report/total, one tenant (ms)': tenant_ms,
            'API /v1/storage/dataframes, every point (ms)':
                dump['median_s'] * 1000,
            'API worker RSS before / peak during dumps (MiB)':
                '%.0f / %.0f' % (dump['rss_before_mib'],
                                 dump['rss_peak_mib'])}


def run(name, points, keep, api, port):
    state_path = tempfile.mkdtemp(prefix='rk-bench-%s-' % name)
    with backend_conf(name, state_path) as (config_path, conf):
        summary = ingest(config_path, points)
        storage = rk_storage.get_storage(conf)
        try:
            figures = read_figures(storage, points)
            tenant = first_tenant(storage)
        finally:
            storage.close()
        if api and name != 'duckdb':
            figures.update(api_figures(conf, state_path, points, port,
                                       tenant))
    if keep:
        print('kept %s' % state_path, file=sys.stderr)
    else:
        shutil.rmtree(state_path, ignore_errors=True)
    return summary, figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=100000, help='points')
    parser.add_argument('--backends', default=','.join(BACKENDS))
    parser.add_argument('--api', action='store_true',
                        help='also time the v1 API on the SQL backends')
    parser.add_argument('--port', type=int, default=0,
                        help='port of the API server (default: a free one)')
    parser.add_argument('--runs', type=int, default=1,
                        help='runs per backend: one column each')
    parser.add_argument('--keep', action='store_true',
                        help='keep the state directories')
    args = parser.parse_args()
    rows = {}
    for name in args.backends.split(','):
        for run_number in range(1, args.runs + 1):
            summary, figures = run(name, args.n, args.keep, args.api,
                                   args.port)
            print('%s: %s' % (name, summary), file=sys.stderr)
            column = name if args.runs == 1 else '%s #%d' % (name,
                                                             run_number)
            rows[column] = (summary, figures)
    names = list(rows)
    print('| figure | %s |' % ' | '.join(names))
    print('|---|' + '---:|' * len(names))
    print('| ingest (points/s) | %s |' % ' | '.join(
        rows[n][0].rsplit(': ', 1)[1].split()[0] for n in names))
    figures = dict.fromkeys(f for n in names for f in rows[n][1])
    for figure in figures:
        print('| %s | %s |' % (figure, ' | '.join(
            _cell(rows[n][1].get(figure)) for n in names)))


def _cell(value):
    if value is None:
        return '–'
    return value if isinstance(value, str) else '%.1f' % value


if __name__ == '__main__':
    main()
