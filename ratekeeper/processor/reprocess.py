"""The reprocessing worker: acts on scope resets and reprocessing tasks.

**Resets** (PUT /v2/scope). Under the scope's lock (the one collection
takes, so no period is stored meanwhile), the rated data of the periods
after the timestamp is deleted, then the state is set to it: the period
that begins at the timestamp stays rated and the processor collects the
next ones again. (CloudKitty deleted from the timestamp on and set the
state to it, so the period at the timestamp was lost.)

**Reprocessing tasks** (POST /v2/task/reprocesses). A task is worked in
steps of up to ``[orchestrator] reprocessing_step_periods`` periods. A
step:

1. gets the window's new points: re-collected and rated by the
   processor's one-period function when a collector is configured, else
   the stored points of the scope re-rated with today's rules;
2. saves them in the task's row (one commit);
3. under the scope's lock, deletes the scope's points of exactly that
   window [begin, end) and pushes the new ones;
4. records the progress (one commit), which drops the saved points.

A crash after 2 finds the saved points on the next run and redoes 3 with
them (the delete removes whatever part of them was pushed), so nothing is
lost and nothing counted twice. Tasks are taken under a tooz lock of their
own, so several workers (threads, processes, hosts sharing
``[orchestrator] coordination_url``) never run one task at once.

Both run when a processor polls (every ``reprocessing_poll_interval``
seconds) and at once when the API of the same process asks (:func:`wake`).
"""
import datetime
import hashlib
import logging
import threading
import uuid

import orjson

from ratekeeper import collector as rk_collector
from ratekeeper import dataframe
from ratekeeper import rating
from ratekeeper.processor import locks
from ratekeeper.processor import orchestrator
from ratekeeper.processor import period as rk_period
from ratekeeper.processor import schedule
from ratekeeper.processor import state as scope_state

LOG = logging.getLogger(__name__)
_WAKE = threading.Event()
SCOPE_LOCK_WAIT = 60  # seconds to wait for a scope being collected
RETRY_SECONDS = 10  # between two attempts to start a worker


def wake():
    """Have this process's worker look for work now."""
    _WAKE.set()


def scope_lock_name(state):
    """The tooz lock of a scope state: the one collection takes."""
    return orchestrator.lock_name(state.scope_id, state.collector,
                                  state.fetcher, state.scope_key)


def task_lock_name(task):
    text = 'ratekeeper-reprocessing-id=%d-start=%s-end=%s' % (
        task.id, task.start.isoformat(), task.end.isoformat())
    return hashlib.sha256(text.encode('utf-8')).hexdigest().encode('ascii')


COLUMNS = ('begin', 'end', 'type', 'unit', 'qty', 'price', 'groupby',
           'metadata', 'description')


def _saved_text(batch):
    """A batch's columns as JSON text (datetimes as ISO 8601)."""
    columns = {column: getattr(batch, column) for column in COLUMNS}
    columns['description'] = batch.descriptions()
    return orjson.dumps(columns).decode('utf-8')


def _saved_batch(text):
    columns = orjson.loads(text)
    for column in ('begin', 'end'):
        columns[column] = [datetime.datetime.fromisoformat(moment)
                           for moment in columns[column]]
    return dataframe.PointBatch(**columns)


def _batch_of_rows(rows):
    """Stored points (storage.stream's tuples) as a PointBatch."""
    batch = dataframe.PointBatch()
    for column, values in zip(COLUMNS, zip(*rows)):
        setattr(batch, column, list(values))
    return batch


class StoredPoints:
    """New points of a window: the stored ones, re-rated."""

    def __init__(self, storage, registry):
        self.storage = storage
        self.registry = registry

    def rated(self, scope_id, scope_key, begin, end):
        rows = [point for chunk in self.storage.stream(
                    begin, end, filters={scope_key: [scope_id]})
                for point in chunk]
        if not rows:
            return dataframe.PointBatch()
        return self.registry.rate(_batch_of_rows(rows))

    def close(self):
        pass


class Collected:
    """New points of a window: collected again and rated, period by
    period, by the processor's one-period function."""

    def __init__(self, period_processor):
        self.periods = period_processor

    def rated(self, scope_id, scope_key, begin, end):
        batch = dataframe.PointBatch()
        moment = begin
        while moment < end:
            rated = self.periods.collect_and_rate(scope_id, moment).batch
            for column in COLUMNS[:-1]:
                getattr(batch, column).extend(getattr(rated, column))
            batch.description.extend(rated.descriptions())
            moment += self.periods.period
        return batch

    def close(self):
        self.periods.close()
        self.periods.collector.close()


def default_source(conf, storage):
    """Collected again when a collector is configured, else re-rated from
    the stored points."""
    if conf.collect.collector:
        return Collected(rk_period.PeriodProcessor(
            conf, rk_collector.get_collector(conf)))
    return StoredPoints(storage, rating.get_registry(conf))


class Reprocessor:
    """Works resets and reprocessing tasks for one configuration."""

    def __init__(self, conf, storage, source=None, member_id=None):
        self.conf = conf
        self.storage = storage
        self.period = datetime.timedelta(seconds=conf.collect.period)
        self.own_source = source is None
        self._source = source
        self.states = scope_state.ScopeStates(conf)
        self.schedule = schedule.Schedule(conf)
        self.resets = schedule.Resets(conf)
        member = member_id or 'reprocessor-%s' % uuid.uuid4().hex
        self.coordinator = locks.coordinator(conf, member.encode('utf-8'))

    @property
    def source(self):
        """Built at first use: a collector that cannot start (a bad
        option) fails the steps that need it, not the process."""
        if self._source is None:
            self._source = default_source(self.conf, self.storage)
        return self._source

    def close(self):
        self.coordinator.stop()
        if self.own_source and self._source is not None:
            self._source.close()

    # -- one pass ---------------------------------------------------------

    def run_once(self):
        """Act on every pending reset, then every unfinished task; the
        number of resets and tasks this worker completed. One that fails
        (its scope's collector down, a script raising) is logged and left
        for the next pass, after the others had their turn."""
        done = 0
        for reset in self.resets.pending():
            done += self._attempt(self._apply_reset, reset, 'reset')
        for task in self.schedule.unfinished():
            done += self._attempt(self._run_task, task, 'reprocessing')
        return done

    @staticmethod
    def _attempt(work, item, what):
        try:
            return work(item)
        except Exception:
            LOG.exception('%s of scope %s failed; retrying at the next '
                          'pass', what, item.scope_id)
            return 0

    def run_forever(self, stop):
        """Passes until ``stop`` (an Event) is set; a failing pass is
        logged and retried at the next one."""
        interval = self.conf.orchestrator.reprocessing_poll_interval
        while not stop.is_set():
            _WAKE.clear()
            try:
                self.run_once()
            except Exception:
                LOG.exception('reprocessing pass failed; retrying later')
            _WAKE.wait(interval)

    # -- resets -----------------------------------------------------------

    def _apply_reset(self, reset):
        lock = self.coordinator.get_lock(scope_lock_name(reset))
        if not lock.acquire(blocking=SCOPE_LOCK_WAIT):
            return 0
        try:
            self.storage.delete(
                begin=reset.last_processed_timestamp + self.period,
                filters={reset.scope_key or self.conf.collect.scope_key:
                         [reset.scope_id]})
            self.states.reset(reset.last_processed_timestamp,
                              scope_id=[reset.scope_id],
                              scope_key=reset.scope_key,
                              fetcher=reset.fetcher,
                              collector=reset.collector)
            self.resets.done(reset)
        finally:
            lock.release()
        LOG.info('scope %s reset to %s', reset.scope_id,
                 reset.last_processed_timestamp.isoformat())
        return 1

    # -- reprocessing ------------------------------------------------------

    def _run_task(self, task):
        lock = self.coordinator.get_lock(task_lock_name(task))
        if not lock.acquire(blocking=False):
            return 0  # another worker has it
        try:
            task = self.schedule.get(task.id)
            if task.finished:
                return 0  # another worker finished it meanwhile
            # the rules of the task's time, even changed by another
            # process an instant before it was asked
            rating.get_registry(self.conf).refresh()
            while not task.finished:
                task = self._step(task)
        finally:
            lock.release()
        LOG.info('reprocessing of scope %s [%s, %s] done', task.scope_id,
                 task.start.isoformat(), task.end.isoformat())
        return 1

    def _scope_state(self, scope_id):
        found = self.states.list(scope_id=[scope_id], limit=None)
        active = [state for state in found if state.active]
        return (active or found or [None])[0]

    def _window(self, task, state):
        """[begin, end) of the next step, or None when the scope's state
        no longer reaches it (a reset moved it back: the processor
        collects those periods again anyway)."""
        begin = task.start if task.current is None \
            else task.current + self.period
        last = task.end
        if state is not None:
            last = min(last, state.last_processed_timestamp)
        if begin > last:
            return None
        steps = self.conf.orchestrator.reprocessing_step_periods
        end = min(begin + steps * self.period, last + self.period)
        return begin, end

    def _step(self, task):
        state = self._scope_state(task.scope_id)
        scope_key = (state.scope_key if state and state.scope_key
                     else self.conf.collect.scope_key)
        if task.pending_points is not None:
            begin, end = task.pending_begin, task.pending_end
            batch = _saved_batch(task.pending_points)
        else:
            window = self._window(task, state)
            if window is None:
                self.schedule.advance(task, task.end)
                return self.schedule.get(task.id)
            begin, end = window
            batch = self.source.rated(task.scope_id, scope_key, begin, end)
            self.schedule.save_pending(task, begin, end, _saved_text(batch))
        self._replace(state, scope_key, task.scope_id, begin, end, batch)
        self.schedule.advance(task, end - self.period)
        return self.schedule.get(task.id)

    def _replace(self, state, scope_key, scope_id, begin, end, batch):
        """Delete the scope's points of [begin, end), push the new ones,
        under the scope's lock."""
        lock = None
        if state is not None:
            lock = self.coordinator.get_lock(scope_lock_name(state))
            if not lock.acquire(blocking=SCOPE_LOCK_WAIT):
                raise RuntimeError('scope %s stays locked' % scope_id)
        try:
            self.storage.delete(begin=begin, end=end,
                                filters={scope_key: [scope_id]})
            if len(batch):
                self.storage.push(batch)
        finally:
            if lock is not None:
                lock.release()


def start_in_background(conf, storage, source=None):
    """Run ``[orchestrator] max_workers_reprocessing`` workers as daemon
    threads of this process; returns the Event that stops them (None when
    there are none). A worker that cannot start (the coordination backend
    out of reach) says so and tries again, the process serving on."""
    count = conf.orchestrator.max_workers_reprocessing
    if not count:
        return None
    stop = threading.Event()
    for number in range(count):
        threading.Thread(target=_serve, args=(conf, storage, source, stop),
                         daemon=True,
                         name='ratekeeper-reprocessing-%d' % number).start()
    return stop


def _serve(conf, storage, source, stop):
    worker = None
    while worker is None and not stop.is_set():
        try:
            worker = Reprocessor(conf, storage, source=source)
        except Exception:
            LOG.exception('a reprocessing worker cannot start; trying again '
                          'in %ss', RETRY_SECONDS)
            stop.wait(RETRY_SECONDS)
    if worker is None:
        return
    try:
        worker.run_forever(stop)
    finally:
        worker.close()
