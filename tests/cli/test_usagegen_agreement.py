"""The shared usage generator's expected totals equal what /v2/summary says.

Uses ../shared/bench/usagegen.py, the generator the CloudKitty figures came
from, exactly as the benchmark does: `load` through HTTP, then `totals`.
"""
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from tests import live

USAGEGEN = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                        'shared', 'bench', 'usagegen.py')
START = '2026-01-01T00:00:00+00:00'
POINTS = 20000

pytestmark = pytest.mark.skipif(
    not os.path.exists(USAGEGEN),
    reason='the shared benchmark tools (../shared/bench) are not beside '
           'this checkout')


def usagegen(*args):
    result = subprocess.run([sys.executable, USAGEGEN, *args, '-n',
                             str(POINTS), '--start', START],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def summary(url, **params):
    query = urllib.parse.urlencode(dict(
        params, begin=START, end='2026-02-01T00:00:00+00:00',
        response_format='object'))
    with urllib.request.urlopen(url + '/v2/summary?' + query) as response:
        return json.loads(response.read())['results']


def test_summary_agrees_with_the_generator():
    with live.running_server() as (url, _env):
        loaded = usagegen('load', '--url', url, '--batch', '1000',
                          '--threads', '2')
        assert loaded['errors'] == 0 and loaded['points_ok'] == POINTS
        expected = usagegen('totals')
        [total] = summary(url)
        by_type = {row['type']: row for row in summary(url, groupby='type')}
    assert total['qty'] == pytest.approx(expected['qty'], rel=1e-12)
    assert total['rate'] == pytest.approx(expected['rate'], rel=1e-12)
    assert set(by_type) == set(expected['by_type'])
    for metric, figures in expected['by_type'].items():
        assert by_type[metric]['qty'] == pytest.approx(figures['qty'],
                                                       rel=1e-12)
        assert by_type[metric]['rate'] == pytest.approx(figures['rate'],
                                                        rel=1e-12)
