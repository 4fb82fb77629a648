"""Scope states through the processor's interface, on each SQL database."""
import datetime

import pytest

from ratekeeper import db
from ratekeeper.db import migration
from ratekeeper.processor import state as scope_state
from ratekeeper.storage import testing
from tests import databases

UTC = datetime.timezone.utc
JAN = datetime.datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def states(request, tmp_path):
    if request.param == 'sqlite':
        url = 'sqlite:///%s/state.sqlite' % tmp_path
        conf = testing.make_conf(str(tmp_path), database={'connection': url})
        migration.upgrade(conf)
        yield scope_state.ScopeStates(conf)
        db.dispose(conf)
        return
    with databases.temporary_database(request.param, 'state') as url:
        conf = testing.make_conf(str(tmp_path), database={'connection': url})
        migration.upgrade(conf)
        yield scope_state.ScopeStates(conf)
        db.dispose(conf)


def test_processor_tree_is_registered(states):
    assert migration.current(states.conf)['processor'] == 'processor_0001'


def test_create_get_and_list_in_a_stable_order(states):
    for scope in ('b', 'a', 'c'):
        states.create(scope, JAN, 'project_id', 'source', 'prometheus')
    states.create('a', JAN, 'project_id', 'keystone', 'prometheus',
                  active=False)
    listed = states.list()
    assert [(s.scope_id, s.fetcher) for s in listed] == [
        ('a', 'keystone'), ('a', 'source'), ('b', 'source'),
        ('c', 'source')]
    assert listed[1].last_processed_timestamp == JAN
    assert listed[1].last_processed_timestamp.tzinfo is not None
    assert [s.scope_id for s in states.list(active=True, offset=1,
                                            limit=2)] == ['b', 'c']
    assert [s.scope_id for s in states.list(scope_id=['a', 'c'],
                                            fetcher='source')] == ['a', 'c']
    assert states.count(active=False) == 1
    with pytest.raises(scope_state.TooManyScopes):
        states.get('a')
    assert states.get('a', fetcher='keystone').active is False
    assert states.get('nope') is None


def test_duplicate_create_is_refused(states):
    states.create('a', JAN, 'project_id', 'source', 'prometheus')
    with pytest.raises(scope_state.ScopeExists):
        states.create('a', JAN, 'project_id', 'source', 'prometheus')


def test_patch_moves_the_toggle_date_only_when_active_changes(states):
    created = states.create('a', JAN, 'project_id', 'source', 'prometheus')
    same = states.patch('a', active=True)
    assert same.scope_activation_toggle_date == \
        created.scope_activation_toggle_date
    patched = states.patch('a', active=False, collector='gnocchi')
    assert patched.active is False and patched.collector == 'gnocchi'
    with pytest.raises(scope_state.ScopeNotFound):
        states.patch('missing', active=True)


def test_processing_mark_and_advance(states):
    state = states.ensure('a', 'project_id', 'source', 'prometheus', JAN)
    assert states.ensure('a', 'project_id', 'source', 'prometheus',
                         JAN + datetime.timedelta(days=3)) == state
    hour = JAN + datetime.timedelta(hours=1)
    states.set_processing(state, hour)
    assert states.get('a').processing_timestamp == hour
    states.set_last_processed(state, hour)
    advanced = states.get('a')
    assert advanced.last_processed_timestamp == hour
    assert advanced.processing_timestamp is None
    assert states.reset(JAN, scope_id=['a']) == 1
    assert states.get('a').last_processed_timestamp == JAN
