#!/usr/bin/env python3
"""Reprocessing and reset figures on the embedded DuckDB storage.

Starts a fresh `ratekeeper-api` (noauth, a temporary state path, a free
port; its own reprocessing worker does the work), stores one month of
points for 20 scopes (1M points by default, priced 1 each by a flat
hashmap rule), creates their scope states, then changes the rule (m1.small
instances cost twice as much) and measures:

- the time to schedule the month's reprocessing, one request per scope
  (and once with ALL);
- the time until /v2/summary shows the whole month re-rated;
- the time to ask a reset of every scope to mid-month, and until the
  summary shows the second half gone.

    .venv/bin/python bench/reprocess.py                  # 1M points
    .venv/bin/python bench/reprocess.py --points 200000
    .venv/bin/python bench/reprocess.py --step-periods 168
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v2_api  # noqa: E402

UTC = datetime.timezone.utc
MONTH = datetime.datetime(2026, 10, 1, tzinfo=UTC)
HOURS = 31 * 24
SCOPES = ['bench-scope-%02d' % n for n in range(20)]
HASHMAP = '/v1/rating/module_config/hashmap/'
FLAVORS = ('m1.small', 'm1.large')


def call(url, method, path, body=None):
    """(status, document, seconds) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url + path, data=data, method=method,
        headers={'Content-Type': 'application/json'})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    elapsed = time.perf_counter() - started
    return status, json.loads(payload) if payload else None, elapsed


def expect(result, status):
    if result[0] != status:
        raise SystemExit('expected %d, got %d: %s' % (status, result[0],
                                                      result[1]))
    return result


def frames(first_hour, hours, per_scope):
    out = []
    for hour in range(first_hour, first_hour + hours):
        begin = MONTH + datetime.timedelta(hours=hour)
        points = [{'vol': {'unit': 'instance', 'qty': 1},
                   'rating': {'price': 1},
                   'groupby': {'project_id': scope, 'id': 'vm-%d' % i},
                   'metadata': {'flavor_name': FLAVORS[i % 2]}}
                  for scope in SCOPES for i in range(per_scope)]
        out.append({'period': {
            'begin': begin.isoformat(),
            'end': (begin + datetime.timedelta(hours=1)).isoformat()},
            'usage': {'instance': points}})
    return out


def load(url, per_scope):
    started = time.perf_counter()
    chunk = max(1, 20000 // (per_scope * len(SCOPES)))
    for first in range(0, HOURS, chunk):
        expect(call(url, 'POST', '/v2/dataframes', {'dataframes': frames(
            first, min(chunk, HOURS - first), per_scope)}), 204)
    return time.perf_counter() - started


def set_rules(url):
    expect(call(url, 'PUT', '/v2/rating/modules/hashmap',
                {'enabled': True}), 204)
    service = expect(call(url, 'POST', HASHMAP + 'services',
                          {'name': 'instance'}), 201)[1]['service_id']
    expect(call(url, 'POST', HASHMAP + 'mappings?force=true',
                {'service_id': service, 'cost': '1', 'type': 'flat',
                 'start': '2020-01-01T00:00:00'}), 201)
    return service


def double_small(url, service):
    field = expect(call(url, 'POST', HASHMAP + 'fields',
                        {'service_id': service, 'name': 'flavor_name'}),
                   201)[1]['field_id']
    expect(call(url, 'POST', HASHMAP + 'mappings?force=true',
                {'field_id': field, 'value': 'm1.small', 'cost': '2',
                 'type': 'rate', 'start': '2020-01-01T00:00:00'}), 201)


def month_rate(url):
    end = MONTH + datetime.timedelta(hours=HOURS)
    document = expect(call(url, 'GET', '/v2/summary?begin=%s&end=%s' % (
        MONTH.strftime('%Y-%m-%dT%H:%M:%SZ'),
        end.strftime('%Y-%m-%dT%H:%M:%SZ'))), 200)[1]
    rows = document['results']
    return rows[0][3] if rows else 0.0


def wait_for_rate(url, expected, timeout=3600):
    started = time.perf_counter()
    while abs(month_rate(url) - expected) > 1e-6:
        if time.perf_counter() - started > timeout:
            raise SystemExit('the summary never showed %s' % expected)
        time.sleep(0.2)
    return time.perf_counter() - started


def latencies(results):
    ms = sorted(r[2] * 1000 for r in results)
    return 'median %.1f ms, max %.1f ms' % (statistics.median(ms), ms[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--points', type=int, default=1000000)
    parser.add_argument('--step-periods', type=int, default=24)
    args = parser.parse_args()
    per_scope = max(2, round(args.points / (HOURS * len(SCOPES))))
    total = per_scope * HOURS * len(SCOPES)
    with tempfile.TemporaryDirectory(prefix='rk-bench-reprocess-') as state:
        os.environ['OS_ORCHESTRATOR__REPROCESSING_STEP_PERIODS'] = str(
            args.step_periods)
        server, url = v2_api.start_server(state, v2_api.free_port())
        try:
            service = set_rules(url)
            print('loaded %d points (20 scopes, %d hours) in %.1f s'
                  % (total, HOURS, load(url, per_scope)))
            last = (MONTH + datetime.timedelta(hours=HOURS - 1)).isoformat()
            for scope in SCOPES:
                expect(call(url, 'POST', '/v2/scope', {
                    'scope_id': scope, 'last_processed_timestamp': last,
                    'scope_key': 'project_id', 'fetcher': 'source',
                    'collector': 'prometheus'}), 200)
            assert month_rate(url) == total
            double_small(url, service)

            end = (MONTH + datetime.timedelta(hours=HOURS - 1)).isoformat()
            scheduled = [expect(call(url, 'POST', '/v2/task/reprocesses', {
                'scope_ids': [scope], 'start_reprocess_time':
                MONTH.isoformat(), 'end_reprocess_time': end,
                'reason': 'bench'}), 202) for scope in SCOPES]
            print('scheduling the month, one request per scope: %s'
                  % latencies(scheduled))
            small = (per_scope + 1) // 2 * HOURS * len(SCOPES)
            rerated = total + small  # m1.small now 2, the others 1
            print('until /v2/summary shows the month re-rated: %.1f s '
                  '(%d points, %.0f points/s, step %d periods)' % (
                      seconds := wait_for_rate(url, rerated), total,
                      total / seconds, args.step_periods))

            middle = MONTH + datetime.timedelta(hours=HOURS // 2 - 1)
            reset = expect(call(url, 'PUT', '/v2/scope', {
                'all_scopes': True,
                'last_processed_timestamp': middle.isoformat()}), 202)
            print('resetting all 20 scopes: %s' % latencies([reset]))
            print('until /v2/summary shows the second half gone: %.2f s'
                  % wait_for_rate(url, rerated * (HOURS // 2) / HOURS))

            start = MONTH.isoformat()
            alls = expect(call(url, 'POST', '/v2/task/reprocesses', {
                'scope_ids': 'ALL', 'start_reprocess_time': start,
                'end_reprocess_time': middle.isoformat(),
                'reason': 'bench ALL'}), 202)
            print('scheduling the first half with ALL (20 scopes): %s'
                  % latencies([alls]))
        finally:
            server.terminate()
            server.wait(30)


if __name__ == '__main__':
    sys.stdout.reconfigure(line_buffering=True)
    main()
