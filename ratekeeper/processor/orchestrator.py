"""The processor loop: for each scope the fetcher lists, every period that
is due is collected, rated, stored and recorded in the scope's state.

- A period [T, T + period) is due once it has ended and ``wait_periods``
  more periods have passed: T + (1 + wait_periods) * period <= now. This
  holds for a new scope's first period too (CloudKitty rated an
  unfinished period there, and with wait_periods = 0 everywhere).
- Several processors (threads, processes, hosts) share the scopes through
  a tooz lock per scope (``[orchestrator] coordination_url``), taken
  without waiting: a scope another one holds is left to it.
- Storing is idempotent: the scope state is marked "period T in progress"
  in a commit before the push and advanced (mark cleared) in a commit
  after it. A processor that finds the mark, because one was killed
  between the two, deletes that scope-period from storage before rating
  it again, so nothing is ever counted twice or skipped.
- A v1 collector state (``/v1/collector/states``) set to disabled for
  the configured collector stops collection until it is enabled again.
"""
import concurrent.futures
import contextlib
import dataclasses
import datetime
import hashlib
import logging
import random
import threading
import time
import uuid

from ratekeeper import collector as rk_collector
from ratekeeper import db
from ratekeeper import fetcher as rk_fetcher
from ratekeeper import storage as rk_storage
from ratekeeper.db import models
from ratekeeper.processor import locks
from ratekeeper.processor import period as rk_period
from ratekeeper.processor import state as scope_state

LOG = logging.getLogger(__name__)
UTC = datetime.timezone.utc


def first_period_begin(conf, now=None):
    """Where a new scope starts: ``[collect] first_period``, else the
    first of the current month at 00:00 local time (CloudKitty's rule)."""
    if conf.collect.first_period:
        begin = datetime.datetime.fromisoformat(conf.collect.first_period)
        return begin.replace(tzinfo=begin.tzinfo or UTC).astimezone(UTC)
    local = (now or datetime.datetime.now(UTC)).astimezone()
    return local.replace(day=1, hour=0, minute=0, second=0,
                         microsecond=0).astimezone(UTC)


def lock_name(scope_id, collector, fetcher, scope_key):
    text = 'ratekeeper-%s-%s-%s-%s' % (scope_id, collector, fetcher,
                                       scope_key)
    return hashlib.sha256(text.encode('utf-8')).hexdigest().encode('ascii')


def collection_enabled(conf):
    """False when the v1 collector state of the configured collector was
    set to disabled (a collector never set is enabled)."""
    name = 'collector_' + conf.collect.collector
    with db.transaction(conf) as session:
        row = session.get(models.ModuleState, name)
    return row is None or bool(row.enabled)


class Processor:
    """One processor: its collector, fetcher, storage, locks and state."""

    def __init__(self, conf, storage=None, collector=None, fetcher=None,
                 clock=None):
        self.conf = conf
        self.clock = clock or (lambda: datetime.datetime.now(UTC))
        self.collector = collector or rk_collector.get_collector(conf)
        self.fetcher = fetcher or rk_fetcher.get_fetcher(conf)
        self.own_storage = storage is None
        self.storage = storage or rk_storage.get_storage(conf)
        self.states = scope_state.ScopeStates(conf)
        self.periods = rk_period.PeriodProcessor(conf, self.collector)
        self.period = self.periods.period
        self.scope_key = conf.collect.scope_key
        # its own generator: shuffling the scopes leaves the process's
        # global random state to the code that seeded it
        self.scope_order = random.Random()
        self.identity = dict(scope_key=self.scope_key,
                             fetcher=conf.fetcher.backend,
                             collector=conf.collect.collector)
        self.coordinator = locks.coordinator(
            conf, ('ratekeeper-processor-%s' % uuid.uuid4()).encode('ascii'))
        self.errors = {}            # scope id -> last error, while it lasts
        self.fetch_error = None
        self.stopped_by_error = None
        self._stop = threading.Event()
        workers = conf.orchestrator.max_workers
        self.workers = concurrent.futures.ThreadPoolExecutor(
            workers, thread_name_prefix='ratekeeper-scope') \
            if workers > 1 else None

    # -- one scope --------------------------------------------------------

    def _due(self, begin, now):
        return begin + self.period * (1 + self.conf.collect.wait_periods) \
            <= now

    def _state(self, scope_id):
        first = first_period_begin(self.conf, self.clock())
        return self.states.ensure(scope_id, last_processed=first - self.period,
                                  **self.identity)

    def _undo_interrupted(self, state):
        """Delete what a processor stopped while storing left after the
        marked period (nothing of this scope after its last processed
        period is stored otherwise), so it is stored again exactly once."""
        begin = state.processing_timestamp
        if begin is None:
            return
        LOG.warning('scope %s: periods from %s were being stored when a '
                    'processor stopped; storing them again', state.scope_id,
                    begin.isoformat())
        self.storage.delete(begin, None, {self.scope_key: [state.scope_id]})

    def store_periods(self, state, rated):
        """Rate and push collected periods, some at a time (at most about
        max_points_per_push points in memory), and advance the state,
        idempotently: the mark set before the first push covers every
        chunk, so a processor stopped between two pushes has all of them
        deleted and stored again."""
        marked = False
        for begins in self.periods.chunks(rated):
            batch = self.periods.rate(rated, begins)
            if len(batch):
                if not marked:
                    self.states.set_processing(state, rated.begins[0])
                    marked = True
                self.storage.push(batch)
        self.states.set_last_processed(state, rated.begins[-1])

    def _due_periods(self, state):
        """The next due periods of the scope, at most max_periods_per_push
        of them."""
        begins = []
        begin = state.last_processed_timestamp + self.period
        now = self.clock()
        while len(begins) < self.conf.orchestrator.max_periods_per_push \
                and self._due(begin, now):
            begins.append(begin)
            begin += self.period
        return begins

    def _record(self, scope_id, rated):
        if rated.failure is not None:
            self.errors[scope_id] = str(rated.failure)
        elif rated.failed_metrics:
            begin, failed = sorted(rated.failed_metrics.items())[-1]
            self.errors[scope_id] = 'period %s: metrics left out: %s' % (
                begin.isoformat(), failed)
        else:
            self.errors.pop(scope_id, None)

    def process_scope(self, scope_id):
        """Process every due period of a scope whose lock this processor
        holds; the number of periods stored. Raises PeriodFailed after
        storing the batches of periods before the one that failed."""
        state = self._state(scope_id)
        if not state.active:
            return 0
        self._undo_interrupted(state)
        done = 0
        while not self._stop.is_set():
            begins = self._due_periods(state)
            if not begins:
                break
            rated = self.periods.collect_periods(scope_id, begins)
            if rated.begins:
                self.store_periods(state, rated)
                state = dataclasses.replace(
                    state, last_processed_timestamp=rated.begins[-1])
                done += len(rated.begins)
            self._record(scope_id, rated)
            if rated.failure is not None:
                raise rated.failure
        return done

    @contextlib.contextmanager
    def scope_lock(self, scope_id, blocking=False):
        """Hold the scope's lock (yields False when another holds it)."""
        lock = self.coordinator.get_lock(lock_name(
            scope_id, self.identity['collector'], self.identity['fetcher'],
            self.scope_key))
        acquired = lock.acquire(blocking=blocking)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    def _try_scope(self, scope_id):
        if self._stop.is_set():
            return 0
        try:
            with self.scope_lock(scope_id) as acquired:
                if acquired:
                    return self.process_scope(scope_id)
        except rk_period.PeriodFailed as exc:
            LOG.warning('%s; retried on the next pass', exc)
        except Exception as exc:  # one scope never stops the others
            self.errors[scope_id] = '%s: %s' % (type(exc).__name__, exc)
            LOG.exception('Error processing scope %s, retried on the next '
                          'pass', scope_id)
        return 0

    # -- passes -----------------------------------------------------------

    def run_pass(self):
        """One pass over the scopes; the number of periods stored."""
        if not collection_enabled(self.conf):
            LOG.info('collector %s disabled: nothing collected',
                     self.conf.collect.collector)
            return 0
        try:
            scopes = self.fetcher.get_scopes()
            self.fetch_error = None
        except Exception as exc:  # the fetcher's source out of reach
            self.fetch_error = str(exc)
            LOG.error('cannot list the scopes: %s', exc)
            return 0
        self.scope_order.shuffle(scopes)
        if self.workers is None:
            return sum(self._try_scope(scope_id) for scope_id in scopes
                       if not self._stop.is_set())
        return sum(self.workers.map(self._try_scope, scopes))

    def run(self, passes=None):
        """Pass over the scopes until stopped (or ``passes`` times),
        waiting at most ``[orchestrator] poll_interval`` between passes."""
        count = 0
        while not self._stop.is_set():
            started = time.monotonic()
            stored = self.run_pass()
            LOG.info('pass over the scopes: %d period(s) stored in %.2fs',
                     stored, time.monotonic() - started)
            count += 1
            if passes is not None and count >= passes:
                break
            if not stored:
                self._stop.wait(self._idle_seconds())

    def _idle_seconds(self):
        """Until the next period becomes due, at most poll_interval."""
        now = self.clock()
        seconds = self.period.total_seconds()
        elapsed = now.timestamp() % seconds
        return max(0.05, min(self.conf.orchestrator.poll_interval,
                             seconds - elapsed + 1))

    def stop(self):
        self._stop.set()

    def close(self):
        self.stop()
        if self.workers is not None:
            self.workers.shutdown(wait=True, cancel_futures=True)
        self.periods.close()
        self.collector.close()
        self.fetcher.close()
        with contextlib.suppress(Exception):
            self.coordinator.stop()
        if self.own_storage:
            self.storage.close()
