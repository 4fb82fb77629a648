"""Descriptions in CloudKitty's InfluxDB layout: the field
``description``, where CloudKitty 25's storage writes a point's own, read
back here; attribute keys of that name keep their values."""
import influxdb
import pytest

from ratekeeper import dataframe
from ratekeeper.storage import testing
from tests import influx


@pytest.fixture
def storage(tmp_path):
    with influx.storage(tmp_path, 'descriptions') as opened:
        yield opened


def points(storage):
    return [p for batch in storage.stream(None, None) for p in batch]


def test_a_point_written_as_cloudkitty_writes_it_reads_its_description(
        storage):
    """The fields and tags of CloudKitty 25's InfluxStorage.append_point
    for a point with a description."""
    client = influxdb.InfluxDBClient(
        '127.0.0.1', influx.server().port, database=storage.options.database)
    client.write_points([{
        'measurement': 'dataframes',
        'tags': {'project_id': 'p1', 'id': 'vm', 'type': 'instance'},
        'fields': {'flavor_name': 'm1.small', 'qty': 1.0, 'price': 0.5,
                   'unit': 'instance', 'description': 'Instance uptime',
                   'groupby': 'project_id|id', 'metadata': 'flavor_name',
                   '__ck_collect_period': 3600},
        'time': testing.BEGIN.isoformat()}])
    client.close()
    [point] = points(storage)
    assert ({'project_id': 'p1', 'id': 'vm'}, {'flavor_name': 'm1.small'},
            'Instance uptime') == point[6:]


def test_attribute_keys_named_description_keep_their_values(storage):
    tagged = testing.point(1, 1, 'p1', 'vm')
    tagged['groupby']['description'] = 'a tag'
    tagged['description'] = 'the metric'
    listed = testing.point(1, 1, 'p2', 'vm', description='a metadata value')
    listed['description'] = 'the metric'
    storage.push(dataframe.parse_dataframes([testing.frame(
        testing.BEGIN, {'instance': [tagged, listed]})]))
    first, second = points(storage)
    assert ('a tag', 'the metric') == (first[6]['description'], first[8])
    # the metadata key wins: the point's own description is not stored
    assert ({'description': 'a metadata value'}, None) == second[7:]
