"""The v1 API gives the same answers over v2 storage (DuckDB) and v1
storage (SQL on SQLite): one data set is loaded into both services and
every v1 report and the dataframes are compared."""
import datetime

import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import dataframe
from tests.functional import fixtures

WINDOW = {'begin': '2015-01-04T00:00:00', 'end': '2015-01-05T00:00:00'}
QUERIES = [
    ('/v1/report/tenants', WINDOW),
    ('/v1/report/total', dict(WINDOW, all_tenants='True')),
    ('/v1/report/total', dict(WINDOW, tenant_id=fixtures.PROJECT_A)),
    ('/v1/report/total', dict(WINDOW, tenant_id=fixtures.PROJECT_B,
                              service='image')),
    ('/v1/report/total', dict(WINDOW, all_tenants='True',
                              service='nothing')),
    ('/v1/report/summary', dict(WINDOW, all_tenants='True')),
    ('/v1/report/summary', dict(WINDOW, all_tenants='True',
                                groupby='tenant_id')),
    ('/v1/report/summary', dict(WINDOW, all_tenants='True',
                                groupby='res_type')),
    ('/v1/report/summary', dict(WINDOW, all_tenants='True',
                                groupby='res_type,tenant_id')),
    ('/v1/report/summary', dict(WINDOW, tenant_id=fixtures.PROJECT_A,
                                groupby='res_type', service='instance')),
    ('/v1/storage/dataframes', WINDOW),
    ('/v1/storage/dataframes', dict(WINDOW, tenant_id=fixtures.PROJECT_B)),
    ('/v1/storage/dataframes', dict(WINDOW, resource_type='volume')),
]


def _service(fixture_class):
    fixture = fixture_class()
    fixture.start_fixture()
    state = dict(fixtures.STATE)
    state['storage'].push(dataframe.parse_dataframes(fixtures.known_frames(
        datetime.datetime(2015, 1, 4, tzinfo=fixtures.UTC), 24)))
    fixtures.STATE.clear()
    return fixture, state


@pytest.fixture
def both_services():
    started = []
    try:
        for fixture_class in (fixtures.ConfigFixture,
                              fixtures.StorageV1Fixture):
            started.append(_service(fixture_class))
        yield [werkzeug_test.Client(state['app'])
               for _fixture, state in started]
    finally:
        for fixture, state in started:
            fixtures.STATE.update(state)
            fixture.stop_fixture()


def _sorted_frames(document):
    """Frames in a canonical order (ties within a period may differ)."""
    frames = document['dataframes']
    for frame in frames:
        frame['resources'].sort(key=lambda r: sorted(r['desc'].items()))
    return sorted(frames, key=lambda f: (f['begin'], f['resources'][0]
                                         ['service'], f['tenant_id']))


def _comparable(path, response):
    document = response.json
    if path.endswith('dataframes'):
        return _sorted_frames(document)
    if path.endswith('tenants'):
        return sorted(document)
    if path.endswith('total'):
        return float(document)
    return document


@pytest.mark.parametrize('path,query', QUERIES)
def test_v1_answers_do_not_depend_on_the_storage_version(both_services,
                                                         path, query):
    v2_storage, v1_storage = both_services
    answers = [client.get(path, query_string=query)
               for client in (v2_storage, v1_storage)]
    assert [a.status_code for a in answers] == [200, 200], \
        [a.get_data(as_text=True) for a in answers]
    assert _comparable(path, answers[0]) == _comparable(path, answers[1])


def test_the_comparison_sees_data(both_services):
    for client in both_services:
        total = client.get('/v1/report/total',
                           query_string=dict(WINDOW, all_tenants='True'))
        assert float(total.json) == 45.0
