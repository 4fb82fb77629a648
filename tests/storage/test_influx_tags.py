"""Tags InfluxDB's line protocol cannot carry (a line break, a backslash
at the end) are refused before anything is written: InfluxDB itself
would store the batch's other points and refuse those (a partial write),
and the push would have answered 503 with half the batch stored."""
import orjson
import pytest
from werkzeug import test as werkzeug_test

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.api import app as rk_app
from ratekeeper.storage import testing
from tests import influx


@pytest.fixture
def storage(tmp_path):
    with influx.storage(tmp_path, 'tags') as opened:
        opened.init()
        yield opened


def stored(storage):
    return [p for batch in storage.stream(None, None) for p in batch]


def frames(bad_text, where):
    good = testing.point(1, 1, 'p1', 'vm1')
    bad = testing.point(1, 1, 'p1', 'vm2')
    usage = {'instance': [good]}
    if where == 'value':
        bad['groupby']['project_id'] = bad_text
    elif where == 'key':
        bad['groupby'][bad_text] = 'v'
    if where == 'type':
        usage[bad_text] = [bad]
    else:
        usage['instance'].append(bad)
    return [testing.frame(testing.BEGIN, usage)]


@pytest.mark.parametrize('where', ['value', 'key', 'type'])
@pytest.mark.parametrize('bad_text', ['a\\', '\\', 'a\\\\', 'a\nb'])
def test_a_push_with_an_unstorable_tag_stores_nothing(storage, where,
                                                      bad_text):
    with pytest.raises(errors.InvalidInput):
        storage.push(dataframe.parse_dataframes(frames(bad_text, where)))
    assert stored(storage) == []
    # what line protocol carries is kept as sent
    storage.push(dataframe.parse_dataframes(frames('a\\b \\,=\r', where)))
    assert len(stored(storage)) == 2


def test_the_api_answers_400_and_stores_nothing(storage):
    storage.conf.set_override('auth_strategy', 'noauth')
    client = werkzeug_test.Client(rk_app.build_app(storage.conf, storage))
    response = client.post(
        '/v2/dataframes', headers={'Content-Type': 'application/json'},
        data=orjson.dumps({'dataframes': frames('a\\', 'value')}))
    assert response.status_code == 400, response.get_data()
    assert response.json['code'] == 'ratekeeper.invalid_input'
    assert 'ending with a backslash' in response.json['message']
    assert stored(storage) == []
