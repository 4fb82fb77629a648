#!/usr/bin/env python3
"""Figures of the v1 API (v2 storage, embedded DuckDB).

Starts a fresh `ratekeeper-api` (noauth, temporary state path, free
port), loads the shared generator's data, then measures:

- GET /v1/storage/dataframes over every point (the whole body read by the
  client), with the server's resident memory before, after and at peak
  (VmRSS/VmHWM of the gunicorn worker process, Linux);
- GET /v1/report/total (all tenants, the whole month);
- `usagegen.py querybench --only v1` (its markdown table).

    .venv/bin/python bench/v1_api.py            # 100k points
    .venv/bin/python bench/v1_api.py --scale 3  # 300k points
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v2_api  # noqa: E402  (shares the server start and generator call)

EVERYTHING = {'begin': '2000-01-01T00:00:00', 'end': '2100-01-01T00:00:00'}


def memory_kib(pid):
    """(VmRSS, VmHWM) of a process in KiB."""
    values = {}
    with open('/proc/%d/status' % pid) as status:
        for line in status:
            key, _, rest = line.partition(':')
            if key in ('VmRSS', 'VmHWM'):
                values[key] = int(rest.split()[0])
    return values['VmRSS'], values['VmHWM']


def worker_pid(server):
    """The pid of the gunicorn worker (the child serving requests) of the
    ratekeeper-api process ``server``."""
    with open('/proc/%d/task/%d/children' % (server.pid, server.pid)) as f:
        children = f.read().split()
    return int(children[0]) if children else server.pid


def timed_get(url, path, query):
    """(seconds to read the whole body, body bytes)."""
    full = '%s%s?%s' % (url, path, urllib.parse.urlencode(query))
    start = time.perf_counter()
    with urllib.request.urlopen(full, timeout=600) as response:
        body = response.read()
    return time.perf_counter() - start, body


def median_ms(url, path, query, runs):
    return statistics.median(
        timed_get(url, path, query)[0] for _ in range(runs)) * 1000


def dataframes_figures(url, pid, runs):
    rss_before, _ = memory_kib(pid)
    timings = []
    for _ in range(runs):
        seconds, body = timed_get(url, '/v1/storage/dataframes', EVERYTHING)
        timings.append(seconds)
    rss_after, peak = memory_kib(pid)
    frames = json.loads(body)['dataframes']
    points = sum(len(frame['resources']) for frame in frames)
    return {'points': points, 'frames': len(frames),
            'body_mib': round(len(body) / 2 ** 20, 1),
            'median_s': round(statistics.median(timings), 3),
            'best_s': round(min(timings), 3),
            'rss_before_mib': round(rss_before / 1024, 1),
            'rss_after_mib': round(rss_after / 1024, 1),
            'rss_peak_mib': round(peak / 1024, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', type=int, default=1)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--usagegen', default=v2_api.USAGEGEN)
    args = parser.parse_args()
    common = ['-n', str(100000 * args.scale), '--scale', str(args.scale)]
    with tempfile.TemporaryDirectory(prefix='ratekeeper-bench-') as state:
        server, url = v2_api.start_server(state, v2_api.free_port())
        try:
            print(v2_api.usagegen(args.usagegen, 'load', '--url', url,
                                  '--batch', '1000', '--threads', '2',
                                  *common))
            print('/v1/storage/dataframes, every point:',
                  dataframes_figures(url, worker_pid(server), args.runs))
            print('/v1/report/total (all tenants, all data): median %.2f ms'
                  % median_ms(url, '/v1/report/total',
                              dict(EVERYTHING, all_tenants='True'), 50))
            print(v2_api.usagegen(args.usagegen, 'querybench', '--url', url,
                                  '--only', 'v1', *common))
        finally:
            server.terminate()
            server.wait()


if __name__ == '__main__':
    main()
