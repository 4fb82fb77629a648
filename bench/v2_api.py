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

With --backend influxdb --cloudkitty, CloudKitty 25's own API (the test
suite's cached venv, tests/cloudkitty_service.py) is started on the same
InfluxDB database; both must give the same totals, then the query
benchmark runs on each, CloudKitty's first. --preload writes the points
straight into InfluxDB in CloudKitty's layout (bench/influx_preload.py)
instead of posting them, for the 10M-point runs:

    .venv/bin/python bench/v2_api.py --scale 10 --backend influxdb \
        --cloudkitty
"""
import argparse
import datetime
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
from tests import clickhouse  # noqa: E402 (the servers the tests start)
from tests import influx  # noqa: E402
from tests import live  # noqa: E402
sys.path.insert(0, HERE)
import influx_preload  # noqa: E402

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


def cpu_seconds(server, storage_servers):
    """CPU seconds used so far by the API (master and workers) and by
    each storage server process."""
    import psutil
    api = psutil.Process(server.pid)
    processes = [api] + api.children(recursive=True)
    used = {'api': 0.0, 'storage': 0.0, 'storage_system': 0.0}
    for kind, group in (('api', processes), ('storage', [
            psutil.Process(s.process.pid) for s in storage_servers
            if getattr(s, 'process', None) is not None])):
        for process in group:
            times = process.cpu_times()
            used[kind] += times.user + times.system
            if kind == 'storage':
                used['storage_system'] += times.system
    used['api_workers'] = len(processes) - 1
    return used


def clickhouse_inserts(storage_servers):
    """Inserts the ClickHouse servers took into the points table (the
    parts they made, merged ones included): several pushes in one insert
    when the API's group commit gathered them."""
    from clickhouse_driver import Client
    inserts = 0
    for server in storage_servers:
        client = Client('127.0.0.1', port=server.tcp_port)
        inserts += client.execute(
            "SELECT count() FROM system.parts WHERE database = 'bench' AND "
            "table IN ('rated_points', 'rated_points_local') AND "
            'level = 0')[0][0]
        client.disconnect()
    return inserts


def cpu_report(before, after, points):
    """CPU ms per 1000 points of the API workers and storage servers."""
    per_1000 = {kind: round((after[kind] - before[kind]) * 1e6 / points, 2)
                for kind in ('api', 'storage', 'storage_system')}
    return json.dumps({
        'points': points, 'api_workers': after['api_workers'],
        'api_cpu_ms_per_1000_points': per_1000['api'],
        'storage_server_cpu_ms_per_1000_points': per_1000['storage'],
        'storage_server_system_ms_per_1000_points':
            per_1000['storage_system'],
        'uptime': open('/proc/loadavg').read().split()[:3]})


def summary_totals(url, begin, end):
    query = urllib.parse.urlencode({'begin': begin, 'end': end,
                                    'groupby': 'type'})
    with urllib.request.urlopen(url + '/v2/summary?' + query,
                                timeout=600) as answer:
        document = json.load(answer)
    columns = document['columns']
    return {row[columns.index('type')]: (row[columns.index('qty')],
                                         row[columns.index('rate')])
            for row in document['results']}


def same_totals(first, second):
    return first.keys() == second.keys() and all(
        math.isclose(a, b, rel_tol=1e-9) for kind in first
        for a, b in zip(first[kind], second[kind]))


def tree_cpu_seconds(*roots):
    """CPU seconds (user + system) of the processes ``roots`` and their
    live descendants, read from /proc."""
    ticks = os.sysconf('SC_CLK_TCK')
    parents, used = {}, {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as stream:
                text = stream.read()
        except OSError:
            continue
        fields = text[text.rindex(')') + 2:].split()
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = int(fields[11]) + int(fields[12])
    tree, grown = set(roots), True
    while grown:
        more = {pid for pid, parent in parents.items() if parent in tree}
        grown = bool(more - tree)
        tree |= more
    return sum(used.get(pid, 0) for pid in tree) / ticks


def timed_querybench(args, common, url, pids):
    """The query benchmark, and the CPU it cost each of ``pids``
    (name -> pid)."""
    before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    table = usagegen(args.usagegen, 'querybench', '--url', url, '--only',
                     'v2', '--repeat', str(args.repeat), *common)
    used = ', '.join('%s %.1f s' % (name, tree_cpu_seconds(pid) - before[name])
                     for name, pid in pids.items())
    return table + 'CPU during the query benchmark: %s\n' % used


def bench_cloudkitty(server, args, common, ratekeeper_url):
    """CloudKitty 25's API on the same InfluxDB database: the totals
    of both, then its query benchmark."""
    from tests import cloudkitty_service
    module = influx_preload.load_generator(args.usagegen)
    start = module.month_start_utc()
    hours = -(-int(common[1]) // (200 * args.scale))
    begin = start.isoformat()
    end = (start + datetime.timedelta(hours=hours)).isoformat()
    with tempfile.TemporaryDirectory(prefix='ratekeeper-bench-ck-',
                                     dir=live.scratch()) as ck:
        cloudkitty = cloudkitty_service.CloudKitty(
            ck, 'sqlite:///%s/cloudkitty.sqlite' % ck,
            'http://127.0.0.1:%d' % server.port, influx_database='bench')
        cloudkitty.create_schema()
        with cloudkitty.api(workers=args.workers) as url:
            theirs = summary_totals(url, begin, end)
            ours = summary_totals(ratekeeper_url, begin, end)
            print('totals per type, CloudKitty: %s' % theirs)
            print('totals per type, ratekeeper: %s' % ours)
            if not same_totals(theirs, ours):
                raise SystemExit('CloudKitty and ratekeeper disagree')
            print('\nCloudKitty 25 on the same InfluxDB database:')
            # (gunicorn renames its processes: only influxd's CPU here)
            print(timed_querybench(args, common, url, {
                'influxd': server.process.pid}))
    print('ratekeeper:')


def children_cpu_seconds():
    """CPU seconds of this process's ended children (the generator)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def usagegen(generator, *args):
    done = subprocess.run([sys.executable, generator, *args],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit('usagegen %s failed:\n%s%s' % (
            args[0], done.stdout, done.stderr))
    return done.stdout


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
                        help='store the points directly, not over HTTP '
                             "(InfluxDB: written in CloudKitty's layout), "
                             'then run the queries')
    parser.add_argument('--state', help='state path to use and keep (with '
                        '--preload: reused when it holds a database)')
    parser.add_argument('--http-points', type=int, default=0,
                        help='with --preload: send the last N points (whole '
                             'hours) over HTTP, timed, with the CPU the API '
                             'and storage servers spent per 1000 points')
    parser.add_argument('--cloudkitty', action='store_true',
                        help='influxdb: also CloudKitty 25 on the database')
    parser.add_argument('--repeat', type=int, default=7,
                        help='usagegen querybench --repeat')
    args = parser.parse_args()
    points = str(100000 * args.scale)
    per_hour = 200 * args.scale  # usagegen's 20 projects x 10 x scale
    tail = -(-args.http_points // per_hour) * per_hour if args.preload else 0
    tail_start = (datetime.datetime.now(datetime.timezone.utc).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
        + datetime.timedelta(hours=(int(points) - tail) // per_hour))
    batch = str(args.batch or (1000 if args.scale == 1 else 2000))
    common = ['-n', points, '--scale', str(args.scale)]
    with tempfile.TemporaryDirectory(prefix='ratekeeper-bench-',
                                     dir=live.scratch()) as state:
        state = args.state or state
        options, servers = storage_env(args.backend)
        if args.backend == 'influxdb':
            options['OS_STORAGE_INFLUXDB__DATABASE'] = 'bench'
        try:
            if args.preload and not (
                    args.state and os.path.exists(
                        os.path.join(state, 'ratekeeper.duckdb'))):
                if args.backend == 'influxdb':
                    started = time.monotonic()
                    influx_preload.preload('127.0.0.1', servers[0].port,
                                           'bench', int(points) - tail,
                                           args.scale,
                                           usagegen=args.usagegen)
                    print('preloaded %d points in %.1f s' % (
                        int(points) - tail, time.monotonic() - started))
                else:
                    preload(args.usagegen, state, int(points) - tail,
                            args.scale, options)
            server, url = start_server(state, free_port(), args.workers,
                                       **options)
            try:
                if not args.preload or tail:
                    load = common if not tail else [
                        '-n', str(tail), '--scale', str(args.scale),
                        '--start', tail_start.isoformat()]
                    before = cpu_seconds(server, servers)
                    client_before = children_cpu_seconds()
                    print(usagegen(args.usagegen, 'load', '--url', url,
                                   '--batch', batch, '--threads',
                                   args.client_threads, *load))
                    print(json.dumps({'client_cpu_ms_per_1000_points': round(
                        (children_cpu_seconds() - client_before) * 1e6
                        / int(load[1]), 2)}))
                    print(cpu_report(before, cpu_seconds(server, servers),
                                     int(load[1])))
                    if args.backend.startswith('clickhouse') and \
                            not args.preload:
                        print(json.dumps({
                            'requests': -(-int(load[1]) // int(batch)),
                            'inserts': clickhouse_inserts(servers)}))
                print(subprocess.run(['uptime'], capture_output=True,
                                     text=True).stdout)
                if args.cloudkitty:
                    bench_cloudkitty(servers[0], args, common, url)
                pids = {'API': server.pid}
                if args.backend == 'influxdb':
                    pids['influxd'] = servers[0].process.pid
                print(timed_querybench(args, common, url, pids))
            finally:
                server.terminate()
                server.wait()
        finally:
            for storage_server in servers:
                storage_server.remove()


if __name__ == '__main__':
    main()
