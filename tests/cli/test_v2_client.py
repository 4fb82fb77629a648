"""The official client, unchanged, against a live server (v2 mode).

Runs the `cloudkitty` CLI of python-cloudkittyclient as a user would:
pushes known data with `dataframes add`, then reads it back with
`summary get` and `dataframes get`, checking exit codes and table contents.
"""
import datetime
import json

import pytest

from tests import client_process
from tests import live
from tests.functional import fixtures

PAST = {'begin': '2015-01-04T00:00:00', 'end': '2015-01-05T00:00:00'}


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    with live.running_server() as (url, _env):
        yield url


def cloudkitty(url, *args, expect_exit=0):
    result = client_process.run(
        ['--os-auth-type', 'none', '--os-endpoint', url, *args])
    assert result.returncode == expect_exit, result.stderr + result.stdout
    return result.stdout


def rows(url, *args):
    return json.loads(cloudkitty(url, *args, '-f', 'json'))


def header(table):
    """Column names of a printed table."""
    line = table.splitlines()[1]
    return [cell.strip() for cell in line.strip('|').split('|')]


def write_frames(path, frames):
    path.write_text(json.dumps({'dataframes': frames}))
    return str(path)


@pytest.fixture(scope='module')
def loaded(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp('frames')
    month_start = datetime.datetime.now(datetime.timezone.utc).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    for name, frames in (
            ('past.json', fixtures.known_frames(
                fixtures.PastDataFixture.BEGIN, 24)),
            ('now.json', fixtures.known_frames(month_start, 3))):
        out = cloudkitty(server, 'dataframes', 'add',
                         write_frames(folder / name, frames))
        assert 'Error' not in out
    return server


def test_summary_of_the_current_month(loaded):
    [row] = rows(loaded, 'summary', 'get')
    assert row['Qty'] == 51.0
    assert row['Rate'] == 5.625


def test_summary_prints_a_table(loaded):
    out = cloudkitty(loaded, 'summary', 'get', '-g', 'type')
    assert header(out) == ['Begin', 'End', 'Qty', 'Rate', 'Type']
    for metric in ('instance', 'volume', 'image'):
        assert metric in out


def test_summary_grouped_by_type(loaded):
    by_type = {r['Type']: r['Rate']
               for r in rows(loaded, 'summary', 'get', '-g', 'type')}
    assert by_type == {'instance': 4.5, 'volume': 0.75, 'image': 0.375}


def test_summary_grouped_by_project_with_a_limit(loaded):
    found = rows(loaded, 'summary', 'get', '-g', 'project_id',
                 '--limit', '1')
    assert len(found) == 1
    both = rows(loaded, 'summary', 'get', '-g', 'project_id',
                '--limit', '3')
    assert {r['Project id'] for r in both} == {fixtures.PROJECT_A,
                                               fixtures.PROJECT_B}


def test_summary_of_a_given_period(loaded):
    [row] = rows(loaded, 'summary', 'get', '-b', PAST['begin'],
                 '-e', PAST['end'])
    assert row['Rate'] == 45.0
    assert row['Qty'] == 408.0


def test_summary_filtered(loaded):
    [row] = rows(loaded, 'summary', 'get', '-b', PAST['begin'],
                 '-e', PAST['end'], '--filter', 'type:instance',
                 '--filter', 'project_id:' + fixtures.PROJECT_A)
    assert row['Rate'] == 24.0


def test_dataframes_get(loaded):
    found = rows(loaded, 'dataframes', 'get', '-b', PAST['begin'],
                 '-e', PAST['end'], '--limit', '10')
    assert len(found) == 10
    assert found[0]['Begin'].startswith('2015-01-04T00:00:00')
    out = cloudkitty(loaded, 'dataframes', 'get', '--limit', '3')
    assert 'Begin' in header(out) and 'Metric Type' in header(out)


def test_dataframes_add_rejects_a_bad_file(loaded, tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{"dataframes": []}')
    result = client_process.run(
        ['--os-auth-type', 'none', '--os-endpoint', loaded,
         'dataframes', 'add', str(bad)])
    assert result.returncode != 0
    assert 'must not be empty' in result.stdout + result.stderr
    [row] = rows(loaded, 'summary', 'get')
    assert row['Rate'] == 5.625
