"""The reprocessing schedule and pending resets on each SQL database."""
import datetime

import pytest

from ratekeeper import db
from ratekeeper.db import migration
from ratekeeper.processor import schedule
from ratekeeper.processor import state as scope_state
from ratekeeper.storage import testing
from tests import databases

UTC = datetime.timezone.utc
OCT = datetime.datetime(2026, 10, 1, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture(params=['sqlite', 'postgresql', 'mariadb'])
def conf(request, tmp_path):
    if request.param == 'sqlite':
        url = 'sqlite:///%s/schedule.sqlite' % tmp_path
        conf = testing.make_conf(str(tmp_path), database={'connection': url})
        migration.upgrade(conf)
        yield conf
        db.dispose(conf)
        return
    with databases.temporary_database(request.param, 'schedule') as url:
        conf = testing.make_conf(str(tmp_path), database={'connection': url})
        migration.upgrade(conf)
        yield conf
        db.dispose(conf)


def test_tasks_progress_and_keep_a_large_step(conf):
    tasks = schedule.Schedule(conf)
    tasks.add(['a', 'b'], OCT, OCT + 5 * HOUR, 'why ' * 4000)
    first, second = tasks.unfinished()
    assert (first.scope_id, first.start, first.end, first.current) == (
        'a', OCT, OCT + 5 * HOUR, None)
    points = '[' + ','.join(['"%s"' % ('x' * 100)] * 20000) + ']'  # 2 MB
    tasks.save_pending(first, OCT, OCT + 3 * HOUR, points)
    saved = tasks.get(first.id)
    assert saved.pending_points == points
    assert (saved.pending_begin, saved.pending_end) == (OCT, OCT + 3 * HOUR)
    tasks.advance(saved, OCT + 5 * HOUR)
    done = tasks.get(first.id)
    assert done.finished and done.pending_points is None
    assert [t.scope_id for t in tasks.unfinished()] == ['b']
    assert [t.scope_id for t in tasks.list(order='asc')] == ['a', 'b']
    assert [t.scope_id for t in tasks.list(['b'])] == ['b']
    assert tasks.count() == 2


def test_resets_wait_until_done(conf):
    states = scope_state.ScopeStates(conf)
    state = states.create('a', OCT, 'project_id', 'source', 'prometheus')
    resets = schedule.Resets(conf)
    resets.request([state], OCT - HOUR)
    [pending] = resets.pending()
    assert (pending.scope_id, pending.fetcher,
            pending.last_processed_timestamp) == ('a', 'source', OCT - HOUR)
    resets.done(pending)
    assert resets.pending() == []
