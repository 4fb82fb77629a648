"""Descriptions from metrics.yml reach storage and come back (CloudKitty's
bug B9: its skip filter rebuilt each frame without them, so none was ever
stored). A real Prometheus, the processor with a skip expression that
runs, and every storage backend; the API shows them where it shows a
point: /v2/dataframes points and /v1/storage/dataframes resources."""
import contextlib
import json

import pytest

from tests import clickhouse
from tests import influx
from tests.processor import helpers

INSTANCE = 'Instance uptime: 1 per running hour, priced by flavor'
IMAGE = 'Image size, in MiB « Glance » 日本'
YML = r'''
metrics:
  instance_up:
    unit: instance
    alt_name: instance
    description: %s
    groupby: [id]
    metadata: [flavor_name]
    mutate: NUMBOOL
    skip_datapoints_expression: >-
      datapoint["vol"]["qty"] < 0
  image_bytes:
    - unit: MiB
      alt_name: image_mb
      description: %s
      factor: 1/1048576
      groupby: [id]
    - unit: image
      alt_name: image_count
      mutate: NUMBOOL
      groupby: [id]
''' % (json.dumps(INSTANCE), json.dumps(IMAGE))
EXPECTED = {'instance': INSTANCE, 'image_mb': IMAGE, 'image_count': None}


@contextlib.contextmanager
def storage_options(backend):
    if backend == 'duckdb':
        yield {}
    elif backend == 'v1-sqlite':
        yield {'storage': {'version': 1}}
    elif backend == 'clickhouse':
        name = clickhouse.database_name('descriptions')
        port = clickhouse.server().tcp_port
        try:
            yield {'storage': {'version': 2, 'backend': 'clickhouse'},
                   'storage_clickhouse': {
                       'url': 'clickhouse://127.0.0.1:%d/%s' % (port, name)}}
        finally:
            clickhouse.drop_database(port, name)
    else:
        name = influx.database_name('descriptions')
        try:
            yield {'storage': {'version': 2, 'backend': 'influxdb'},
                   'storage_influxdb': influx.server().options(name)}
        finally:
            influx.drop_database(name)


@pytest.fixture(scope='module',
                params=['duckdb', 'v1-sqlite', 'clickhouse', 'influxdb'])
def collected(request, prometheus_history, tmp_path_factory):
    url, begin = prometheus_history
    tmp_path = tmp_path_factory.mktemp('descriptions')
    with storage_options(request.param) as options:
        conf = helpers.processor_conf(tmp_path, url, begin, YML,
                                      fetcher_source={'sources': ['p-one']},
                                      **options)
        with helpers.service(conf) as (storage, client):
            with helpers.processor(conf, storage,
                                   begin + helpers.hours(6.2)) as processor:
                assert processor.run_pass() == 6
            yield storage, client, begin, request.param


def test_every_point_is_stored_with_its_metric_description(collected):
    storage, _client, begin, _backend = collected
    points = [p for batch in storage.stream(begin, begin + helpers.hours(6))
              for p in batch]
    by_type = {}
    for point in points:
        by_type.setdefault(point[2], set()).add(point[8])
    assert {t: {d} for t, d in EXPECTED.items()} == by_type
    assert 6 * 5 == len(points)  # 3 instances, 1 image, 1 image count
    # the skip expression ran on every point and kept them all
    totals = storage.total(begin, begin + helpers.hours(24),
                           groupby=['type'], metric_types=['instance'])
    assert [3 * 6] == [row['qty'] for row in totals['results']]


def test_v2_dataframes_show_the_description_of_each_point(collected):
    _storage, client, begin, backend = collected
    if backend == 'v1-sqlite':
        pytest.skip('no /v2 on a v1 storage, as in CloudKitty')
    for metric_type, description in EXPECTED.items():
        answer = client.get('/v2/dataframes', query_string={
            'begin': begin.isoformat(),
            'end': (begin + helpers.hours(6)).isoformat(),
            'filters': 'type:%s' % metric_type, 'limit': 1000})
        assert answer.status_code == 200, answer.get_data()
        points = [point for frame in answer.get_json()['dataframes']
                  for point in frame['usage'][metric_type]]
        assert len(points) == 6 * (3 if metric_type == 'instance' else 1)
        if description is None:  # CloudKitty's exact point shape
            assert not any('description' in point for point in points)
        else:
            assert {description} == {p['description'] for p in points}


def test_v1_storage_dataframes_show_it_beside_desc(collected):
    _storage, client, begin, _backend = collected
    answer = client.get('/v1/storage/dataframes', query_string={
        'begin': begin.isoformat(),
        'end': (begin + helpers.hours(6)).isoformat()})
    assert answer.status_code == 200, answer.get_data()
    resources = [resource for frame in answer.get_json()['dataframes']
                 for resource in frame['resources']]
    assert len(resources) == 6 * 5
    for resource in resources:
        assert {'rating', 'service', 'desc', 'volume'} <= set(resource)
        assert resource.get('description') == EXPECTED[resource['service']]
