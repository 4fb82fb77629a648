"""Tags InfluxDB's line protocol cannot carry (a line break, a backslash
at the end) are refused before anything is written: InfluxDB itself
would store the batch's other points and refuse those (a partial write),
and the push would have answered 503 with half the batch stored.
Keys the layout cannot give back are refused the same way; a field that
shares a tag's name leaves every point readable."""
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


def test_a_field_named_as_a_tag_leaves_every_point_readable(storage):
    """A plain SELECT * names every point's tag ``id`` ``id_1`` once one
    point has a field ``id``: the other projects' points must still read
    back whole (they read type None and an empty id, and the dataframes
    page answered 500)."""
    plain = testing.point(1, 0.5, 'p1', 'vm1')
    shadowing = testing.point(2, 1.5, 'p2', 'vm2', type='evil', id='mid')
    storage.push(dataframe.parse_dataframes(
        [testing.frame(testing.BEGIN, {'instance': [plain],
                                       'image': [shadowing]})]))
    points = {p[6]['project_id']: p for p in stored(storage)}
    assert points['p1'][2] == 'instance'
    assert points['p1'][6] == {'project_id': 'p1', 'id': 'vm1'}
    assert points['p1'][7] == {}
    assert points['p2'][2] == 'image'
    assert points['p2'][6] == {'project_id': 'p2', 'id': 'vm2'}
    assert points['p2'][7] == {'type': 'evil', 'id': 'mid'}
    storage.conf.set_override('auth_strategy', 'noauth')
    client = werkzeug_test.Client(rk_app.build_app(storage.conf, storage))
    page = client.get('/v2/dataframes?begin=2015-12-31T00:00:00Z'
                      '&end=2016-01-02T00:00:00Z&filters=project_id:p1')
    assert page.status_code == 200, page.get_data()
    usage = page.json['dataframes'][0]['usage']
    assert list(usage) == ['instance']
    assert usage['instance'][0]['groupby'] == {'project_id': 'p1',
                                               'id': 'vm1'}


@pytest.mark.parametrize('groupby,metadata', [
    *(({}, {key: 'v'}) for key in ('qty', 'price', 'unit', 'groupby',
                                   'metadata', 'rk_push', 'rk_seq', 'time')),
    ({'type': 'v'}, {}), ({'time': 'v'}, {}),
    ({'a|b': 'v'}, {}), ({}, {'a|b': 'v'})])
def test_keys_the_layout_cannot_give_back_are_refused(storage, groupby,
                                                      metadata):
    """Stored, they came back as something else: a metadata ``qty`` as
    the point's qty, a groupby ``type`` as its metric type, ``time`` as
    its time (InfluxDB drops such a field and refuses such a tag), and a
    key holding ``|`` as two keys (the layout joins key lists with it)."""
    good = testing.point(1, 1, 'p1', 'vm1')
    bad = testing.point(1, 1, 'p1', 'vm2')
    bad['groupby'].update(groupby)
    bad['metadata'].update(metadata)
    with pytest.raises(errors.InvalidInput):
        storage.push(dataframe.parse_dataframes(
            [testing.frame(testing.BEGIN, {'instance': [good, bad]})]))
    assert stored(storage) == []
    # the same keys as the other kind of attribute are stored as sent
    bad['groupby'], bad['metadata'] = (
        {'project_id': 'p1', 'id': 'vm2', **{
            k: v for k, v in metadata.items() if '|' not in k
            and k != 'time'}},
        {k: v for k, v in groupby.items()
         if '|' not in k and k not in ('time', 'type')})
    storage.push(dataframe.parse_dataframes(
        [testing.frame(testing.BEGIN, {'instance': [good, bad]})]))
    points = {p[6]['id']: p for p in stored(storage)}
    assert points['vm2'][6] == bad['groupby']
    assert points['vm2'][7] == bad['metadata']


def test_metadata_comes_back_as_sent(storage):
    """Field keys holding a backslash came back as another key (the
    client library doubled it), and a line break in a value as ``\\n``."""
    metadata = {'a\\b': 'x\\y', 'line': 'one\ntwo', 'crlf': 'a\r\nb',
                'quoted': 'say "hi"', 'a b': 'c d', 'a,b': 'e', 'a=b': 'f',
                'slash': '\\', 'text': '\u00e9\u65e5'}
    point = testing.point(1, 1, 'p1', 'vm1', **metadata)
    storage.push(dataframe.parse_dataframes(
        [testing.frame(testing.BEGIN, {'instance': [point]})]))
    [stored_point] = stored(storage)
    assert stored_point[7] == metadata
    for key, value in metadata.items():
        assert storage.total(None, None, filters={key: [value]})[
            'total'] == 1, key


@pytest.mark.parametrize('key', ['a\\', '\\', 'a\nb', 'a\\,b', 'a\\ b',
                                 'a\\=b'])
def test_a_metadata_key_line_protocol_cannot_carry_stores_nothing(
        storage, key):
    """A field key cannot hold a backslash before a separator (InfluxDB
    reads it as an escaped backslash, then the separator): stored, such
    a key ended the field early or swallowed the next one."""
    good = testing.point(1, 1, 'p1', 'vm1')
    bad = testing.point(1, 1, 'p1', 'vm2', **{key: 'v'})
    with pytest.raises(errors.InvalidInput):
        storage.push(dataframe.parse_dataframes(
            [testing.frame(testing.BEGIN, {'instance': [good, bad]})]))
    assert stored(storage) == []
