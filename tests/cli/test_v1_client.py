"""The official client in v1 mode (--os-rating-api-version 1) against a
live server, once with v2 storage (DuckDB) and once with v1 storage (SQL):
every v1 command outside rating exits 0 and prints the right table.
"""
import json
import urllib.request

import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from tests import client_process
from tests import live
from tests.functional import fixtures

BEGIN, END = '2015-01-04 00:00:00', '2015-01-05 00:00:00'
A, B = fixtures.PROJECT_A, fixtures.PROJECT_B


def _frames():
    return fixtures.known_frames(fixtures.PastDataFixture.BEGIN, 24)


def _load_over_v2_api(url):
    request = urllib.request.Request(
        url + '/v2/dataframes', method='POST',
        data=json.dumps({'dataframes': _frames()}).encode(),
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 204


def _load_into_sql(env):
    """v1 storage has no write API: push with the backend itself (SQLite
    takes a second process)."""
    conf = fixtures.make_conf(env['OS_DEFAULT__STATE_PATH'])
    conf.set_override('version', 1, 'storage')
    storage = rk_storage.get_storage(conf)
    try:
        storage.push(dataframe.parse_dataframes(_frames()))
    finally:
        storage.close()


@pytest.fixture(scope='module', params=[2, 1], ids=['v2-storage',
                                                    'v1-storage'])
def server(request):
    version = request.param
    with live.running_server(STORAGE__VERSION=version) as (url, env):
        if version == 2:
            _load_over_v2_api(url)
        else:
            _load_into_sql(env)
        yield url


def cloudkitty(url, *args):
    result = client_process.run(
        ['--os-auth-type', 'none', '--os-endpoint', url,
         '--os-rating-api-version', '1', *args])
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def rows(url, *args):
    return json.loads(cloudkitty(url, *args, '-f', 'json'))


def test_report_tenant_list(server):
    listed = rows(server, 'report', 'tenant', 'list', '-b', BEGIN,
                  '-e', END)
    assert sorted(row['Tenant ID'] for row in listed) == sorted([A, B])


def test_total_get_all_tenants(server):
    total = rows(server, 'total', 'get', '-b', BEGIN, '-e', END, '-a')
    assert total == {'Total': 45.0}


def test_total_get_one_tenant_and_service(server):
    total = rows(server, 'total', 'get', '-b', BEGIN, '-e', END, '-t', B,
                 '-s', 'image')
    assert total == {'Total': 3.0}


def test_summary_get_grouped(server):
    summary = rows(server, 'summary', 'get', '-b', BEGIN, '-e', END, '-a',
                   '-g', 'tenant_id', 'res_type')
    by_key = {(r['Tenant ID'], r['Resource Type']): r['Rate']
              for r in summary}
    assert by_key == {(A, 'instance'): '24.0', (A, 'volume'): '6.0',
                      (B, 'instance'): '12.0', (B, 'image'): '3.0'}


def test_summary_get_one_tenant_one_service(server):
    summary = rows(server, 'summary', 'get', '-b', BEGIN, '-e', END,
                   '-t', A, '-s', 'instance')
    assert [(r['Tenant ID'], r['Resource Type'], r['Rate'])
            for r in summary] == [(A, 'instance', '24.0')]


def test_dataframes_get(server):
    frames = rows(server, 'dataframes', 'get', '-b', '2015-01-04T13:00:00',
                  '-e', '2015-01-04T14:00:00', '-p', A, '-r', 'volume')
    assert len(frames) == 1
    assert frames[0]['Project ID'] == A
    assert frames[0]['Resources'][0]['volume'] == '10'
    assert frames[0]['Resources'][0]['rate_value'] == '0.0250'


def test_info_config_get(server):
    config = cloudkitty(server, 'info', 'config', 'get')
    assert 'image.size' in config and 'radosgw.objects.size' in config


def test_info_metric_list_and_get(server):
    listed = rows(server, 'info', 'metric', 'list')
    assert len(listed) == 7
    assert 'instance' in {row['Metric'] for row in listed}
    metric = rows(server, 'info', 'metric', 'get', 'volume.size')
    assert metric[0]['Metric'] == 'volume.size'
    assert metric[0]['Unit'] == 'GiB'


def test_info_metric_list_with_a_list_form_entry(tmp_path):
    """metrics.yml's list form (one metric, two definitions): the client
    lists and gets each definition by its alt_name."""
    path = tmp_path / 'metrics.yml'
    path.write_text(fixtures.ListFormMetricsConfFixture.content)
    with live.running_server(COLLECT__METRICS_CONF=str(path)) as (url, _):
        listed = rows(url, 'info', 'metric', 'list')
        assert sorted((row['Metric'], row['Unit']) for row in listed) == [
            ('instance', 'instance'), ('vcpus', 'vcpu'),
            ('volume.size', 'GiB')]
        metric = rows(url, 'info', 'metric', 'get', 'vcpus')
        assert metric[0]['Metric'] == 'vcpus'


def test_collector_mapping_lifecycle(server):
    created = rows(server, 'collector-mapping', 'create', 'compute',
                   'gnocchi')
    assert created == [{'Service': 'compute', 'Collector': 'gnocchi'}]
    listed = rows(server, 'collector-mapping', 'list')
    assert {'Service': 'compute', 'Collector': 'gnocchi'} in listed
    assert rows(server, 'collector-mapping', 'list', '--collector',
                'other') == []
    got = rows(server, 'collector-mapping', 'get', 'compute')
    assert got == [{'Service': 'compute', 'Collector': 'gnocchi'}]
    cloudkitty(server, 'collector-mapping', 'delete', 'compute')
    assert rows(server, 'collector-mapping', 'list') == []


def test_collector_state_enable_disable(server):
    assert rows(server, 'collector', 'state', 'get', 'gnocchi') == [
        {'Collector': 'gnocchi', 'State': False}]
    cloudkitty(server, 'collector', 'enable', 'gnocchi')
    assert rows(server, 'collector', 'state', 'get', 'gnocchi')[0][
        'State'] is True
    cloudkitty(server, 'collector', 'disable', 'gnocchi')
    assert rows(server, 'collector', 'state', 'get', 'gnocchi')[0][
        'State'] is False
