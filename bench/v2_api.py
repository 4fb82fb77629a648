#!/usr/bin/env python3
"""Ingest and query figures of the v2 API on a v2 storage backend.

Starts a fresh `ratekeeper-api` (noauth, a free port) on the embedded
DuckDB storage (under a temporary state path), or with --backend
clickhouse on a fresh Debian clickhouse-server (--backend
clickhouse-cluster: two of them as two shards), then runs the shared
generator against it exactly as the CloudKitty figures were taken:

    usagegen.py load -n N --scale S --batch B --threads 2
    usagegen.py querybench -n N --scale S --only v2

and prints the load line and the query table. Run it from the repository
root with the project's venv:

    .venv/bin/python bench/v2_api.py                 # 100k points
    .venv/bin/python bench/v2_api.py --scale 10      # 1M points
    .venv/bin/python bench/v2_api.py --scale 10 --backend clickhouse \
        --workers 4 --client-threads 4

The generator is ../shared/bench/usagegen.py (the same file the CloudKitty
25 figures came from); --usagegen points elsewhere.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
from tests import clickhouse  # noqa: E402 (the servers the tests start)
from tests import influx  # noqa: E402

USAGEGEN = os.path.join(HERE, '..', '..', 'shared', 'bench', 'usagegen.py')
BIN = os.path.dirname(sys.executable)


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def storage_env(backend):
    """The storage options of ``backend`` and its servers (started)."""
    if backend == 'duckdb':
        return {}, []
    if backend == 'influxdb':
        server = influx.Server()
        server.start()
        return {'OS_STORAGE__BACKEND': 'influxdb',
                'OS_STORAGE_INFLUXDB__PORT': str(server.port),
                'OS_STORAGE_INFLUXDB__HOST': '127.0.0.1'}, [server]
    if backend == 'clickhouse':
        servers = [clickhouse.Server()]
        servers[0].start()
        options = {}
    else:
        servers = [clickhouse.Server(), clickhouse.Server()]
        clusters = clickhouse.cluster_xml(
            clickhouse.CLUSTER, [s.tcp_port for s in servers])
        for server in servers:
            server.start(clusters)
        options = {'OS_STORAGE_CLICKHOUSE__CLUSTER': clickhouse.CLUSTER}
    options.update(OS_STORAGE__BACKEND='clickhouse',
                   OS_STORAGE_CLICKHOUSE__URL=servers[0].url('bench'))
    return options, servers


def start_server(state_path, port, workers=1, **options):
    env = dict(os.environ, OS_DEFAULT__AUTH_STRATEGY='noauth',
               OS_DEFAULT__STATE_PATH=state_path, OS_API__PORT=str(port),
               OS_API__WORKERS=str(workers), **options)
    subprocess.run([os.path.join(BIN, 'ratekeeper-dbsync'), 'upgrade'],
                   env=env, check=True)
    server = subprocess.Popen([os.path.join(BIN, 'ratekeeper-api')], env=env,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d' % port
    for _ in range(300):
        try:
            urllib.request.urlopen(url + '/', timeout=1).close()
            return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit('ratekeeper-api did not start')


def preload(generator, state_path, points, scale, options):
    """Store the generator's points directly through the backend's push
    (no HTTP), one hourly frame per push: reaches 10M points in minutes.
    Prints the points stored per second."""
    import importlib.util
    from ratekeeper import dataframe
    from ratekeeper import storage as rk_storage
    from ratekeeper.storage import testing
    spec = importlib.util.spec_from_file_location('usagegen', generator)
    gen_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_module)
    gen = gen_module.Generator(20, scale)
    groups = {'storage': {'version': 2}}
    for name, value in options.items():  # OS_GROUP__OPTION variables
        group, option = name[3:].lower().split('__')
        groups.setdefault(group, {})[option] = value
    conf = testing.make_conf(state_path, **groups)
    storage = rk_storage.get_storage(conf)
    started = time.perf_counter()
    try:
        for frames, count in gen_module.bodies(
                gen, points, gen_module.month_start_utc(), 20000):
            storage.push(dataframe.parse_dataframes(frames))
    finally:
        storage.close()
    wall = time.perf_counter() - started
    print('preloaded %d points in %.1f s (%.0f points/s, parsing '
          'included)' % (points, wall, points / wall))


def cpu_seconds(pid):
    """User + system CPU seconds so far of process ``pid`` and the
    processes it started (Linux)."""
    stats = {}
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/stat' % entry) as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
        except (OSError, ValueError):
            continue
        stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    tree, ticks = {pid}, 0
    for _ in range(4):  # a few generations
        tree |= {p for p, (parent, _t) in stats.items() if parent in tree}
    ticks = sum(stats[p][1] for p in tree if p in stats)
    return ticks / os.sysconf('SC_CLK_TCK')


def usagegen(generator, *args):
    return subprocess.run([sys.executable, generator, *args], check=True,
                          capture_output=True, text=True).stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', type=int, default=1)
    parser.add_argument('--batch', type=int, default=None,
                        help='points per request (1000; 2000 at scale > 1)')
    parser.add_argument('--usagegen', default=USAGEGEN)
    parser.add_argument('--backend', default='duckdb',
                        choices=['duckdb', 'clickhouse',
                                 'clickhouse-cluster', 'influxdb'])
    parser.add_argument('--workers', type=int, default=1,
                        help='[api] workers')
    parser.add_argument('--client-threads', default='2',
                        help='usagegen load --threads')
    parser.add_argument('--preload', action='store_true',
                        help='store the points through the backend directly '
                             '(not over HTTP), then run the queries')
    parser.add_argument('--state', help='state path to use and keep (with '
                        '--preload: reused when it holds a database)')
    args = parser.parse_args()
    points = str(100000 * args.scale)
    batch = str(args.batch or (1000 if args.scale == 1 else 2000))
    common = ['-n', points, '--scale', str(args.scale)]
    with tempfile.TemporaryDirectory(prefix='ratekeeper-bench-') as state:
        state = args.state or state
        options, servers = storage_env(args.backend)
        try:
            if args.preload and not (
                    args.state and os.path.exists(
                        os.path.join(state, 'ratekeeper.duckdb'))):
                preload(args.usagegen, state, int(points), args.scale,
                        options)
            server, url = start_server(state, free_port(), args.workers,
                                       **options)
            try:
                if not args.preload:
                    cpu = cpu_seconds(server.pid)
                    print(usagegen(args.usagegen, 'load', '--url', url,
                                   '--batch', batch, '--threads',
                                   args.client_threads, *common))
                    cpu = cpu_seconds(server.pid) - cpu
                    print('API server CPU during the load: %.1f s (%.2f ms '
                          'per 1000 points)' % (cpu, cpu * 1e6 / int(points)))
                print(usagegen(args.usagegen, 'querybench', '--url', url,
                               '--only', 'v2', *common))
            finally:
                server.terminate()
                server.wait()
        finally:
            for storage_server in servers:
                storage_server.remove()


if __name__ == '__main__':
    main()
