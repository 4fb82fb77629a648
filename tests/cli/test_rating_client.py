"""The official client, unchanged, against a live server: every
`cloudkitty hashmap ...` and `cloudkitty module ...` command (in the
default v2 mode, and `module` in v1 mode, where PUTs are answered 302 and
the client repeats them)."""
import pytest

from tests import live
from tests.cli.test_v2_client import cloudkitty
from tests.cli.test_v2_client import rows

FUTURE = '3000-01-01T00:00:00'


@pytest.fixture(scope='module')
def server():
    with live.running_server() as (url, _env):
        yield url


def show(url, *args):
    """The one object a create/get/update command prints."""
    result = rows(url, *args)
    return result if isinstance(result, dict) else result[0]


@pytest.fixture(scope='module')
def rules(server):
    service = show(server, 'hashmap', 'service', 'create', 'instance')
    field = show(server, 'hashmap', 'field', 'create',
                 service['Service ID'], 'flavor_name')
    group = show(server, 'hashmap', 'group', 'create', 'compute')
    return {'service': service['Service ID'], 'field': field['Field ID'],
            'group': group['Group ID']}


def test_mapping_types(server):
    assert {r['Mapping types'] for r in rows(
        server, 'hashmap', 'mapping-types', 'list')} == {'flat', 'rate'}


def test_services(server, rules):
    listed = rows(server, 'hashmap', 'service', 'list')
    assert {'Name': 'instance', 'Service ID': rules['service']} in listed
    got = show(server, 'hashmap', 'service', 'get', rules['service'])
    assert got['Name'] == 'instance'
    other = show(server, 'hashmap', 'service', 'create', 'scratch')
    cloudkitty(server, 'hashmap', 'service', 'delete', other['Service ID'])
    assert 'scratch' not in {r['Name'] for r in rows(
        server, 'hashmap', 'service', 'list')}


def test_fields(server, rules):
    listed = rows(server, 'hashmap', 'field', 'list', rules['service'])
    assert [r['Field ID'] for r in listed] == [rules['field']]
    got = show(server, 'hashmap', 'field', 'get', rules['field'])
    assert got['Name'] == 'flavor_name'
    other = show(server, 'hashmap', 'field', 'create', rules['service'],
                 'scratch')
    cloudkitty(server, 'hashmap', 'field', 'delete', other['Field ID'])
    assert len(rows(server, 'hashmap', 'field', 'list',
                    rules['service'])) == 1


def test_groups(server, rules):
    assert 'compute' in {r['Name'] for r in rows(
        server, 'hashmap', 'group', 'list')}
    other = show(server, 'hashmap', 'group', 'create', 'scratch')
    cloudkitty(server, 'hashmap', 'group', 'delete', '--recursive',
               other['Group ID'])
    assert 'scratch' not in {r['Name'] for r in rows(
        server, 'hashmap', 'group', 'list')}


def test_mappings(server, rules):
    created = show(server, 'hashmap', 'mapping', 'create', '--field-id',
                   rules['field'], '--value', 'm1.large', '-g',
                   rules['group'], '-t', 'flat', '--start', FUTURE, '0.08')
    mapping_id = created['Mapping ID']
    assert created['Cost'] == '0.0800000000000000000000000000'
    got = show(server, 'hashmap', 'mapping', 'get', mapping_id)
    assert got['Value'] == 'm1.large'
    updated = show(server, 'hashmap', 'mapping', 'update', mapping_id,
                   '--cost', '0.09')
    assert updated['Cost'] == '0.0900000000000000000000000000'
    listed = rows(server, 'hashmap', 'mapping', 'list', '--field-id',
                  rules['field'])
    assert [m['Mapping ID'] for m in listed] == [mapping_id]
    in_group = rows(server, 'hashmap', 'group', 'mappings', 'get',
                    rules['group'])
    assert [m['Mapping ID'] for m in in_group] == [mapping_id]
    cloudkitty(server, 'hashmap', 'mapping', 'delete', mapping_id)
    assert rows(server, 'hashmap', 'mapping', 'list', '--field-id',
                rules['field']) == []


def test_thresholds(server, rules):
    created = show(server, 'hashmap', 'threshold', 'create', '-s',
                   rules['service'], '-g', rules['group'], '-t', 'rate',
                   '1024', '0.9')
    threshold_id = created['Threshold ID']
    assert created['Level'] == '1024.00000000'
    got = show(server, 'hashmap', 'threshold', 'get', threshold_id)
    assert got['Cost'] == '0.9000000000000000000000000000'
    updated = show(server, 'hashmap', 'threshold', 'update', threshold_id,
                   '--cost', '0.8')
    assert updated['Cost'] == '0.8000000000000000000000000000'
    listed = rows(server, 'hashmap', 'threshold', 'list', '-s',
                  rules['service'])
    assert [t['Threshold ID'] for t in listed] == [threshold_id]
    in_group = rows(server, 'hashmap', 'group', 'thresholds', 'get',
                    rules['group'])
    assert [t['Threshold ID'] for t in in_group] == [threshold_id]
    cloudkitty(server, 'hashmap', 'threshold', 'delete', threshold_id)
    assert rows(server, 'hashmap', 'threshold', 'list', '-s',
                rules['service']) == []


@pytest.mark.parametrize('version', ['1', '2'])
def test_modules(server, version):
    api = ('--os-rating-api-version', version)
    listed = rows(server, *api, 'module', 'list')
    assert {m['Module'] for m in listed} >= {'hashmap', 'noop'}
    assert show(server, *api, 'module', 'get', 'hashmap')['Module'] == \
        'hashmap'
    enabled = show(server, *api, 'module', 'enable', 'hashmap')
    assert enabled['Enabled'] is True
    prioritised = show(server, *api, 'module', 'set', 'priority',
                       'hashmap', '3')
    assert prioritised['Priority'] == 3
    disabled = show(server, *api, 'module', 'disable', 'hashmap')
    assert disabled['Enabled'] is False
