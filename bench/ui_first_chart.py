#!/usr/bin/env python3
"""Time to first chart of the cost page (/ui/) at 1M stored points.

Starts a fresh `ratekeeper-api` (noauth, DuckDB in a temporary state path,
a free port), loads N points into the current month with the shared
generator (`usagegen.py load -n N --scale S --batch 2000 --threads 2`),
then opens the page in headless Debian Chromium (Selenium, the tests'
browser set-up) and reads, per navigation, the milliseconds from the
start of the navigation to the drawn chart (``firstChartMs``) and to the
whole view rendered (``firstReadyMs``, totals, types, projects or the
project's resources and points). Run it from the repository root:

    .venv/bin/python bench/ui_first_chart.py              # 1M points
    .venv/bin/python bench/ui_first_chart.py -n 100000 --scale 1
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))

import v2_api  # noqa: E402  (bench/: the server and generator helpers)
from tests.ui import browser  # noqa: E402

VIEWS = [
    ('month, per day', ''),
    ('month, per collect period', '?res=time'),
    ('month, per week', '?res=time-w'),
    ('month, one type', '?type=instance'),
]


def first_project(url):
    with urllib.request.urlopen(
            url + '/v2/summary?groupby=project_id&limit=1') as response:
        return json.load(response)['results'][0][-1]


def measure(driver, page_url, runs):
    charts, readies = [], []
    for _ in range(runs):
        driver.get('about:blank')
        driver.get(page_url)
        state = browser.wait_rendered(driver, timeout=120)
        if state != 'ready':
            raise SystemExit('the page did not render: %s'
                             % driver.find_element('id', 'message').text)
        figures = driver.execute_script('return window.ratekeeperUi')
        charts.append(figures['firstChartMs'])
        readies.append(figures['firstReadyMs'])
    return charts, readies


def describe(values):
    return '%.0f (min %.0f, max %.0f)' % (
        statistics.median(values), min(values), max(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=1000000)
    parser.add_argument('--scale', type=int, default=10)
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--usagegen', default=v2_api.USAGEGEN)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='ratekeeper-bench-') as state:
        server, url = v2_api.start_server(state, v2_api.free_port())
        driver = None
        try:
            print(v2_api.usagegen(args.usagegen, 'load', '--url', url,
                                  '--batch', '2000', '--threads', '2', '-n',
                                  str(args.n), '--scale', str(args.scale)))
            driver = browser.start(state)
            views = VIEWS + [('one project (drill-down)',
                              '?project=' + first_project(url))]
            print('| view | first chart (ms) | whole view (ms) |')
            print('|---|---:|---:|')
            for name, query in views:
                charts, readies = measure(driver, url + '/ui/' + query,
                                          args.runs)
                print('| %s | %s | %s |' % (name, describe(charts),
                                            describe(readies)))
        finally:
            if driver is not None:
                driver.quit()
            server.terminate()
            server.wait()


if __name__ == '__main__':
    main()
