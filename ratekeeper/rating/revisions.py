"""How every process learns that a module's rules changed.

A module's rules have one revision row, moved by every write. A process
keeps what it built from the rules (hashmap's compiled engine, the loaded
pyscripts) with the revision it was built at, and rebuilds when the row
moved: at once after a write made by this process, within POLL_SECONDS
after another process's (the row is read at most that often, not once per
batch).
"""
import itertools
import threading
import time

from ratekeeper import db

POLL_SECONDS = 1.0


class Revisions:
    """The revision row of one module (a model with ``id`` and
    ``revision``), and this process's count of its own writes."""

    def __init__(self, model):
        self.model = model
        self._writes = itertools.count(1)
        self.local_writes = 0

    def bump(self, session):
        """Count a write, in the session that makes it."""
        self.local_writes = next(self._writes)
        row = session.get(self.model, 1)
        if row is None:
            session.add(self.model(id=1, revision=1))
        else:
            row.revision += 1

    def current(self, conf):
        with db.transaction(conf) as session:
            return self.read(session)

    def read(self, session):
        row = session.get(self.model, 1)
        return row.revision if row else 0


class Cache:
    """What ``build(conf)`` makes of the rules, as (revision, value),
    rebuilt when the revision moved."""

    def __init__(self, revisions, conf, build):
        self.revisions = revisions
        self.conf = conf
        self.build = build
        self._built = None       # (revision, value)
        self._seen_writes = -1
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self):
        built, moment = self._built, time.monotonic()
        writes = self.revisions.local_writes
        if built is not None and self._seen_writes == writes \
                and moment - self._checked_at < POLL_SECONDS:
            return built[1]
        revision = self.revisions.current(self.conf)
        if built is None or built[0] != revision:
            with self._lock:
                if self._built is None or self._built[0] != revision:
                    self._built = self.build(self.conf)
                built = self._built
        # marked seen only once what is returned is current: a thread
        # arriving during a rebuild reads the revision itself instead of
        # taking the stale value
        self._seen_writes, self._checked_at = writes, moment
        return built[1]

    def clear(self):
        with self._lock:
            self._built = None
