"""The official client, unchanged, against a live server: every
`cloudkitty pyscript ...` command (list, list -n, get, create from text and
from a file, update of a future and of a running script, delete), then a
quote priced by a script created that way. (The tests leave what they
made: deleting it is tested once, and would cost a command each.)"""
import json
import urllib.request

import pytest

from tests import client_process
from tests import live
from tests.cli.test_v2_client import cloudkitty
from tests.cli.test_v2_client import rows

SURCHARGE = """import decimal
for point in data['usage'].get('instance', []):
    point['rating']['price'] += decimal.Decimal('1.5') * point['vol']['qty']
"""


@pytest.fixture(scope='module')
def server():
    with live.running_server() as (url, _env):
        yield url


def show(url, *args):
    result = rows(url, *args)
    return result if isinstance(result, dict) else result[0]


def _script_file(tmp_path, text):
    path = tmp_path / 'script.py'
    path.write_text(text)
    return str(path)


def test_create_get_list_delete(server):
    created = show(server, 'pyscript', 'create', 'inline', 'a = 1')
    assert created['Name'] == 'inline'
    assert created['Data'] == 'a = 1'
    assert len(created['Checksum']) == 128
    got = show(server, 'pyscript', 'get', created['Script ID'])
    assert got == created
    listed = rows(server, 'pyscript', 'list')
    assert created in listed
    without_data = rows(server, 'pyscript', 'list', '-n')
    assert all('Data' not in row or not row['Data'] for row in without_data)
    assert created['Script ID'] in {r['Script ID'] for r in without_data}
    cloudkitty(server, 'pyscript', 'delete', created['Script ID'])
    assert created['Script ID'] not in {
        r['Script ID'] for r in rows(server, 'pyscript', 'list')}


def test_create_from_a_file(server, tmp_path):
    created = show(server, 'pyscript', 'create', 'from-file',
                   _script_file(tmp_path, SURCHARGE),
                   '--start', '3000-01-01T00:00:00')
    assert created['Data'] == SURCHARGE


def test_update_a_future_script(server, tmp_path):
    created = show(server, 'pyscript', 'create', 'future', 'a = 1',
                   '--start', '3000-01-01T00:00:00',
                   '--description', 'later')
    updated = show(server, 'pyscript', 'update', created['Script ID'],
                   '-d', 'a = 2')
    assert updated['Data'] == 'a = 2'
    assert updated['Checksum'] != created['Checksum']


def test_a_running_script_gets_an_end_only(server):
    created = show(server, 'pyscript', 'create', 'running', 'a = 1')
    ended = show(server, 'pyscript', 'update', created['Script ID'],
                 '--end', '3000-01-01')
    assert ended['Data'] == 'a = 1'
    refused = client_process.run(
        ['--os-auth-type', 'none', '--os-endpoint', server,
         'pyscript', 'update', created['Script ID'], '-d', 'a = 2'])
    assert refused.returncode != 0
    assert 'Cannot update a rule that was already processed' in \
        refused.stderr + refused.stdout


def test_a_script_created_by_the_client_prices_quotes(server, tmp_path):
    cloudkitty(server, 'module', 'enable', 'pyscripts')
    show(server, 'pyscript', 'create', 'surcharge',
         _script_file(tmp_path, SURCHARGE))
    request = urllib.request.Request(
        server + '/v1/rating/quote', method='POST', data=json.dumps(
            {'resources': [{'service': 'instance', 'volume': 2,
                            'desc': {}}]}).encode(),
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read()) == '3.0'
