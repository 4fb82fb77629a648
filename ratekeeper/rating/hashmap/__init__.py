"""hashmap: CloudKitty's rule-based pricing (services, fields, mappings,
thresholds, groups), priced by the vectorised engine."""
import decimal
import threading
import time

from ratekeeper import rating
from ratekeeper.rating.hashmap import engine
from ratekeeper.rating.hashmap import reference
from ratekeeper.rating.hashmap import database


POLL_SECONDS = 1.0


class HashMap(rating.RatingModule):
    name = 'hashmap'
    description = 'HashMap rating module.'
    hot_config = True

    def __init__(self, conf):
        super().__init__(conf)
        self._engine = None
        self._lock = threading.Lock()
        self._seen_writes = -1
        self._checked_at = 0.0

    def current_engine(self):
        """The engine of the current rules, recompiled when a rule changed:
        at once for a change made by this process, within
        POLL_SECONDS for one made by another (the revision row is read at
        most that often, not once per batch)."""
        current = self._engine
        now = time.monotonic()
        writes = database.local_writes
        if current is not None and self._seen_writes == writes \
                and now - self._checked_at < POLL_SECONDS:
            return current
        revision = database.revision(self.conf)
        if current is None or current.revision != revision:
            with self._lock:
                if self._engine is None or \
                        self._engine.revision != revision:
                    snapshot = engine.Snapshot.from_rows(
                        *database.load_all(self.conf))
                    self._engine = engine.Engine(
                        snapshot, self.conf.collect.scope_key)
                current = self._engine
        # marked seen only once the engine is current: a thread coming
        # meanwhile checks too, rather than taking the stale engine
        self._seen_writes, self._checked_at = writes, now
        return current

    def process(self, batch, tenant_scoped=True):
        self.current_engine().price(batch, tenant_scoped)
        return batch

    def quote(self, batch):
        """Priced in Decimal as CloudKitty does: a quote has a handful of
        points, and its answer shows every digit."""
        snapshot = self.current_engine().snapshot
        try:
            return reference.price_batch(snapshot, batch,
                                         tenant_scoped=False)
        except decimal.InvalidOperation:
            raise engine.UnpriceablePoint(
                'A resource cannot be priced: a field with thresholds has '
                'a value that is not a number.') from None

    def reload(self):
        with self._lock:
            self._engine = None
