#!/usr/bin/env python3
"""CPU per 1000 points pushed: the pushing process's, and the ClickHouse
server's, apart (so that the ingest of more cores can be estimated).

Pushes the shared generator's bodies (usagegen.py dump) through the
storage interface in this process, one thread, on a fresh Debian
clickhouse-server (or DuckDB with --backend duckdb), and reads the
server's CPU from /proc before and after:

    .venv/bin/python bench/storage_cpu.py -n 200000
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))
from ratekeeper import dataframe  # noqa: E402
from ratekeeper import storage as rk_storage  # noqa: E402
from ratekeeper.storage import testing  # noqa: E402
from tests import clickhouse  # noqa: E402

USAGEGEN = os.path.join(HERE, '..', '..', 'shared', 'bench', 'usagegen.py')


def process_cpu(pid):
    """(user, system) CPU seconds of a process, from /proc."""
    with open('/proc/%d/stat' % pid) as stream:
        fields = stream.read().rsplit(')', 1)[1].split()
    tick = os.sysconf('SC_CLK_TCK')
    return int(fields[11]) / tick, int(fields[12]) / tick


def wait_for_merges(execute):
    """Until the server merges nothing (then a second more); ``execute``
    runs a query and returns its rows."""
    while execute('SELECT count() FROM system.merges')[0][0]:
        time.sleep(0.2)
    time.sleep(1)


def generator_frames(args):
    """The ``dataframes`` of each body the generator dumps for ``args``
    (its -n, --scale and --batch)."""
    bodies = subprocess.run(
        [sys.executable, args.usagegen, 'dump', '-n', str(args.n),
         '--scale', str(args.scale), '--batch', str(args.batch)],
        check=True, capture_output=True, text=True).stdout.splitlines()
    return [json.loads(body)['dataframes'] for body in bodies]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=200000)
    parser.add_argument('--backend', default='clickhouse',
                        choices=['clickhouse', 'duckdb'])
    parser.add_argument('--usagegen', default=USAGEGEN)
    parser.add_argument('--scale', type=int, default=1,
                        help="the generator's --scale (its points per "
                             'hour: 200 x scale)')
    parser.add_argument('--batch', type=int, default=1000,
                        help="the generator's points per body (whole "
                             'hours: at least this many)')
    parser.add_argument('--bodies-per-push', type=int, default=1,
                        help="push this many of the generator's bodies at "
                             'once (what a group commit of that many '
                             'concurrent pushes would insert)')
    parser.add_argument('--settle', action='store_true',
                        help="count the server's CPU until its merges "
                             'are done')
    args = parser.parse_args()
    frames = generator_frames(args)
    group = args.bodies_per_push
    batches = [dataframe.parse_dataframes(
        [frame for body in frames[i:i + group] for frame in body])
        for i in range(0, len(frames), group)]
    with tempfile.TemporaryDirectory(prefix='ratekeeper-cpu-') as state:
        server, options = None, {}
        if args.backend == 'clickhouse':
            server = clickhouse.Server()
            server.start()
            options = {'storage_clickhouse': {'url': server.url('cpu')}}
        try:
            conf = testing.make_conf(
                state, storage={'backend': args.backend}, **options)
            storage = rk_storage.get_storage(conf)
            server_before = (process_cpu(server.process.pid) if server
                             else (0, 0))
            wall, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                storage.push(batch)
            storage.total(None, None)  # DuckDB: the staged points too
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            if server and args.settle:
                wait_for_merges(storage._execute)
            server_after = (process_cpu(server.process.pid) if server
                            else (0, 0))
            server_user, server_system = (
                after - before
                for after, before in zip(server_after, server_before))
            storage.close()
        finally:
            if server:
                server.remove()
    thousands = args.n / 1000
    print(json.dumps({
        'backend': args.backend, 'points': args.n,
        'points_per_push': len(batches[0]),
        'wall_s': round(wall, 2),
        'pusher_cpu_ms_per_1000': round(cpu * 1000 / thousands, 2),
        'server_cpu_ms_per_1000': round(
            (server_user + server_system) * 1000 / thousands, 2),
        'server_system_ms_per_1000': round(
            server_system * 1000 / thousands, 2),
    }))


if __name__ == '__main__':
    main()
