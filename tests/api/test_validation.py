"""The v2 validation helpers: query parameters and output checks."""
import copy

import pytest
import voluptuous

from ratekeeper.api.v2 import dataframes
from ratekeeper.api.v2 import validation as v

PAGE = {'total': 1, 'dataframes': [{
    'period': {'begin': '2015-01-04T00:00:00+00:00',
               'end': '2015-01-04T01:00:00+00:00'},
    'usage': {'instance': [{'vol': {'unit': 'u', 'qty': 1.0},
                            'rating': {'price': 2},
                            'groupby': {'project_id': 'p'},
                            'metadata': {}}]}}]}
PAGE_SCHEMA = voluptuous.Schema(dataframes.dataframes_get_response)


def test_a_good_page_passes():
    assert PAGE_SCHEMA(copy.deepcopy(PAGE)) == PAGE


@pytest.mark.parametrize('spoil', [
    lambda p: p['vol'].pop('unit'),
    lambda p: p['vol'].update(qty='1'),
    lambda p: p['rating'].update(price=None),
    lambda p: p['groupby'].update(size=3),
    lambda p: p['metadata'].update({3: 'x'}),
    lambda p: p.update(extra=True),
    lambda p: p.pop('metadata'),
])
def test_a_spoiled_point_is_caught_with_its_place(spoil):
    page = copy.deepcopy(PAGE)
    spoil(page['dataframes'][0]['usage']['instance'][0])
    with pytest.raises(voluptuous.Invalid) as caught:
        PAGE_SCHEMA(page)
    assert caught.value.path[:4] == ['dataframes', 0, 'usage', 'instance']


def test_single_query_param_wants_one_value():
    single = v.SingleQueryParam(int)
    assert single(['3']) == 3
    with pytest.raises(voluptuous.Invalid, match='length of value must be 1'):
        single(['1', '2'])


def test_multi_query_param_flattens_commas_and_repeats():
    assert v.MultiQueryParam(str)(['a,b', 'c']) == ['a', 'b', 'c']


def test_dict_query_param_multi_keeps_every_value():
    assert v.DictQueryParam(multi=True)(['a:1,a:2', 'b:3']) == {
        'a': ['1', '2'], 'b': ['3']}


# explicit ids: gabbi's pytest plugin takes any test id with a colon for
# one of its own
@pytest.mark.parametrize('token', ['a', 'a:', ':1', 'a:1:2'],
                         ids=['no-colon', 'no-value', 'no-key', 'two-colons'])
def test_dict_query_param_rejects_malformed_tokens(token):
    with pytest.raises(voluptuous.Invalid, match='invalid key:value'):
        v.DictQueryParam(multi=True)([token])


def test_dict_query_param_single_rejects_a_repeated_key():
    with pytest.raises(voluptuous.Invalid, match='already provided'):
        v.DictQueryParam(multi=False)(['a:1,a:2'])


def test_datetime_values_are_aware_utc():
    moment = v.datetime_value('2015-01-04T02:00:00+02:00')
    assert moment.isoformat() == '2015-01-04T00:00:00+00:00'
    assert v.datetime_value('20150104T000000Z').tzinfo is not None
    with pytest.raises(voluptuous.Invalid):
        v.datetime_value('yesterday')
