#!/usr/bin/env python3
"""Rating benchmarks: the hashmap engine alone, ingest with rating end to
end, and the server's memory at 1M rated points.

Rules: the shared reference rule set (rules_setup.py), created through the
v1 API of a fresh server. Data: usagegen.py's points with --unrated.

  .venv/bin/python bench/rating_bench.py engine     [-n 100000] [--repeat 7]
  .venv/bin/python bench/rating_bench.py pyscript   [-n 100000] [--repeat 7]
  .venv/bin/python bench/rating_bench.py ingest     [-n 100000] [--threads 2]
                                                    [--pyscript]
  .venv/bin/python bench/rating_bench.py memory     [-n 1000000]

engine: in-process, the hashmap module's process() over one batch of n
        points (parsed beforehand), best of --repeat; prints points/s and
        the priced total (4167.572 for 100k points).
pyscript: in-process, the whole rating pipeline (Registry.rate) over one
        batch of n points with hashmap alone, then with hashmap and the
        pyscript below (SURCHARGE) enabled, best of --repeat each; prints
        both, and what the script adds per 1000 points.
ingest: a live ratekeeper-api (free port, fresh state), then
        `usagegen.py load --unrated --rate`; prints its figures and the
        stored total read back from /v2/summary.
memory: as ingest with n points (scale 10, 2000 per request), then the
        server's peak RSS (VmHWM).
--no-rate: ingest/memory without ?rate=true (the baseline to compare).
--pyscript: ingest with SURCHARGE enabled after hashmap.
"""
import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, ROOT]

import rules_setup  # noqa: E402
import usagegen  # noqa: E402

from tests import live  # noqa: E402

START = usagegen.month_start_utc()
# One simple pyscript, as an operator writes one: a surcharge on a flavor.
SURCHARGE = """import decimal
EXTRA = decimal.Decimal('0.01')
for point in data['usage'].get('instance', []):
    if point['metadata'].get('flavor_name') == 'm1.large':
        point['rating']['price'] += EXTRA * point['vol']['qty']
"""


def _add_pyscript(url):
    """SURCHARGE, valid since 2020, and the module enabled (priority 1,
    as hashmap's: it runs after hashmap, by name)."""
    for method, path, body in (
            ('POST', '/v1/rating/module_config/pyscripts/scripts?force=true',
             {'name': 'surcharge', 'data': SURCHARGE,
              'start': '2020-01-01T00:00:00'}),
            ('PUT', '/v1/rating/modules/pyscripts',
             {'module_id': 'pyscripts', 'enabled': True, 'priority': 1})):
        request = urllib.request.Request(
            url + path, method=method, data=json.dumps(body).encode(),
            headers={'Content-Type': 'application/json'})
        try:
            urllib.request.urlopen(request).close()
        except urllib.error.HTTPError as exc:
            if exc.code != 302:
                raise


def _engine(args):
    from ratekeeper import dataframe
    from ratekeeper.rating import hashmap
    with live.running_server() as (url, env):
        rules_setup.setup(rules_setup.Api(url, {}))
        state = env['OS_DEFAULT__STATE_PATH']
        conf = _conf_of(state)
        module = hashmap.HashMap(conf)
        gen = usagegen.Generator(unrated=True)
        frames = [frame for frame, _ in gen.frames(args.n, START)]
        batch = dataframe.parse_dataframes(frames)
        best = math.inf
        for _ in range(args.repeat):
            batch.price = [0.0] * len(batch)
            started = time.perf_counter()
            module.process(batch)
            best = min(best, time.perf_counter() - started)
        return {'points': len(batch), 'best_s': round(best, 4),
                'points_per_s': round(len(batch) / best),
                'total': round(math.fsum(batch.price), 9)}


def _best_rate(registry, batch, repeat):
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        registry.rate(batch)
        best = min(best, time.perf_counter() - started)
    return best


def _pyscript(args):
    from ratekeeper import dataframe
    from ratekeeper import rating
    with live.running_server() as (url, env):
        rules_setup.setup(rules_setup.Api(url, {}))
        conf = _conf_of(env['OS_DEFAULT__STATE_PATH'])
        gen = usagegen.Generator(unrated=True)
        batch = dataframe.parse_dataframes(
            [frame for frame, _ in gen.frames(args.n, START)])
        registry = rating.get_registry(conf)
        alone = _best_rate(registry, batch, args.repeat)
        hashmap_total = math.fsum(batch.price)
        _add_pyscript(url)
        registry.reload()
        with_script = _best_rate(registry, batch, args.repeat)
        n = len(batch)
        return {'points': n,
                'hashmap_s': round(alone, 4),
                'hashmap_points_per_s': round(n / alone),
                'hashmap_pyscript_s': round(with_script, 4),
                'hashmap_pyscript_points_per_s': round(n / with_script),
                'pyscript_ms_per_1000_points': round(
                    (with_script - alone) * 1e6 / n, 3),
                'hashmap_total': round(hashmap_total, 9),
                'total': round(math.fsum(batch.price), 9)}


def _conf_of(state):
    from tests.functional import fixtures
    return fixtures.make_conf(state)


def _summary_total(url):
    end = START + datetime.timedelta(days=400)
    query = 'begin=%s&end=%s' % (START.strftime('%Y-%m-%dT%H:%M:%S'),
                                 end.strftime('%Y-%m-%dT%H:%M:%S'))
    with urllib.request.urlopen(url + '/v2/summary?' + query) as response:
        results = json.load(response)['results']
    return results[0][-1] if results else 0


def _load(url, n, threads, extra=()):
    command = [sys.executable, os.path.join(HERE, 'usagegen.py'), 'load',
               '--url', url, '-n', str(n), '--threads', str(threads),
               '--unrated', *extra]
    output = subprocess.run(command, check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output[output.index('{'):])


def _ingest(args, extra=()):
    if not args.no_rate:
        extra = ('--rate',) + tuple(extra)
    with live.running_server() as (url, _env):
        rules_setup.setup(rules_setup.Api(url, {}))
        if args.pyscript:
            _add_pyscript(url)
        figures = _load(url, args.n, args.threads, extra)
        figures['stored_total'] = _summary_total(url)
        figures['server_peak_rss_mb'] = _server_peak_rss(url)
        return figures


def _server_peak_rss(url):
    """Peak RSS (VmHWM, MB) of the server's processes (gunicorn's arbiter
    and its worker): the largest."""
    port = url.rsplit(':', 1)[1]
    pids = subprocess.run(['pgrep', '-f', 'ratekeeper-api'],
                          capture_output=True, text=True).stdout.split()
    peaks = []
    for pid in pids:
        try:
            with open('/proc/%s/environ' % pid, 'rb') as stream:
                if b'OS_API__PORT=%s\0' % port.encode() not in stream.read():
                    continue
            with open('/proc/%s/status' % pid) as status:
                peaks.extend(int(line.split()[1]) for line in status
                             if line.startswith('VmHWM:'))
        except OSError:
            continue
    return round(max(peaks) / 1024, 1) if peaks else None


def main():
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('what', choices=['engine', 'pyscript', 'ingest',
                                         'memory'])
    parser.add_argument('-n', type=int)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--no-rate', action='store_true',
                        help='ingest/memory: without ?rate=true, for '
                             'comparison')
    parser.add_argument('--pyscript', action='store_true',
                        help='ingest: with SURCHARGE enabled after hashmap')
    args = parser.parse_args()
    if args.what == 'engine':
        args.n = args.n or 100000
        result = _engine(args)
    elif args.what == 'pyscript':
        args.n = args.n or 100000
        result = _pyscript(args)
    elif args.what == 'ingest':
        args.n = args.n or 100000
        result = _ingest(args)
    else:
        args.n = args.n or 1000000
        result = _ingest(args, ('--scale', '10', '--batch', '2000'))
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
