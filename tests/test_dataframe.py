"""Parsing CloudKitty dataframes into a PointBatch."""
import pytest

from ratekeeper import dataframe


def frame(*points, begin='2015-01-04T00:00:00Z', end='2015-01-04T01:00:00Z'):
    return {'period': {'begin': begin, 'end': end},
            'usage': {'instance': list(points)}}


def point(**overrides):
    base = {'vol': {'unit': 'u', 'qty': 1}, 'rating': {'price': 0.5},
            'groupby': {'project_id': 'p'}, 'metadata': {'flavor': 'm1'}}
    base.update(overrides)
    return base


def test_a_batch_is_columns():
    batch = dataframe.parse_dataframes([frame(point(), point())])
    assert len(batch) == 2
    assert batch.qty == [1, 1] and batch.price == [0.5, 0.5]
    assert batch.type == ['instance', 'instance']
    assert batch.begin[0].isoformat() == '2015-01-04T00:00:00+00:00'
    assert batch.groupby_keys == {'project_id'}
    assert batch.metadata_keys == {'flavor'}


def test_descriptions_are_a_column_filled_only_when_one_is_sent():
    plain = dataframe.parse_dataframes([frame(point(), point())])
    assert plain.description == []
    assert plain.descriptions() == [None, None]
    batch = dataframe.parse_dataframes([
        frame(point(), point()),
        {'period': {'begin': '2015-01-04T01:00:00Z',
                    'end': '2015-01-04T02:00:00Z'},
         'usage': {'image': [point(description=None)],
                   'volume': [point(description='Volume size'), point()]}},
    ])
    assert batch.type == ['instance'] * 2 + ['image'] + ['volume'] * 2
    assert batch.description == [None, None, None, 'Volume size', None]


@pytest.mark.parametrize('description, reason', [
    (1, 'description must be a string'),
    (['a'], 'description must be a string'),
    ('x' * (dataframe.MAX_DESCRIPTION_LENGTH + 1), 'longer than 4096'),
])
def test_a_bad_description_is_refused_with_its_path(description, reason):
    with pytest.raises(dataframe.InvalidDataframe, match=reason) as caught:
        dataframe.parse_dataframes([frame(point(), point(
            description=description))])
    assert caught.value.path == 'dataframes[0].usage.instance[1].description'


def test_numbers_sent_as_strings_are_numbers():
    batch = dataframe.parse_dataframes([frame(point(
        vol={'unit': 'u', 'qty': '2.5'}, rating={'price': '0.1'}))])
    assert batch.qty == [2.5] and batch.price == [0.1]


def test_a_point_without_rating_costs_nothing_and_is_listed():
    unrated = point()
    del unrated['rating']
    batch = dataframe.parse_dataframes([frame(point(), unrated),
                                        frame(unrated)])
    assert batch.price == [0.5, 0, 0]
    assert batch.unrated == [1, 2]


@pytest.mark.parametrize('bad, where', [
    (point(vol={'unit': 'u'}), 'vol'),
    (point(vol={'unit': 3, 'qty': 1}), 'vol.unit'),
    (point(vol={'unit': 'u', 'qty': 'x'}), 'vol.qty'),
    (point(vol={'unit': 'u', 'qty': True}), 'vol.qty'),
    (point(rating={'price': [1]}), 'rating.price'),
    (point(rating='free'), 'rating'),
    (point(groupby=['p']), 'groupby'),
    ('a point', 'usage.instance[1]'),
])
def test_a_bad_point_is_named(bad, where):
    with pytest.raises(dataframe.InvalidDataframe) as caught:
        dataframe.parse_dataframes([frame(point(), bad)])
    assert where in caught.value.path


@pytest.mark.parametrize('value', ['nan', 'inf', '-Infinity', 10 ** 400])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(dataframe.InvalidDataframe, match='finite'):
        dataframe.parse_dataframes([frame(point(
            vol={'unit': 'u', 'qty': value}))])


@pytest.mark.parametrize('value', [1e15, -1e15, 10 ** 20, '1e30'])
def test_numbers_beyond_the_storable_range_are_refused(value):
    with pytest.raises(dataframe.InvalidDataframe, match='out of range'):
        dataframe.parse_dataframes([frame(point(
            rating={'price': value}))])


def test_numbers_just_inside_the_range_are_kept():
    batch = dataframe.parse_dataframes([frame(point(
        vol={'unit': 'u', 'qty': 999999999999999}))])
    assert batch.qty == [999999999999999]


def test_keys_longer_than_the_limit_are_refused():
    with pytest.raises(dataframe.InvalidDataframe, match='keys'):
        dataframe.parse_dataframes([frame(point(
            metadata={'k' * 300: 'v'}))])


def test_values_are_stored_as_text():
    assert dataframe.text_column(['a', 3, True, None, {'x': 1}]) == [
        'a', '3', 'True', None, '{"x":1}']


def test_frames_come_back_in_order_with_sorted_types():
    rows = [(b, e, t, 'u', 1.0, 0.0, {}, {}, None) for b, e, t in [
        ('b1', 'e1', 'volume'), ('b1', 'e1', 'image'), ('b2', 'e2', 'image')]]
    rows = [(_Moment(r[0]), _Moment(r[1])) + r[2:] for r in rows]
    frames = dataframe.frames_from_rows(rows)
    assert [f['period']['begin'] for f in frames] == ['b1', 'b2']
    assert list(frames[0]['usage']) == ['image', 'volume']


class _Moment(str):
    def isoformat(self):
        return str(self)
