"""hashmap: CloudKitty's rule-based pricing (services, fields, mappings,
thresholds, groups), priced by the vectorised engine."""
import threading

from ratekeeper import rating
from ratekeeper.rating.hashmap import engine
from ratekeeper.rating.hashmap import rules


class HashMap(rating.RatingModule):
    name = 'hashmap'
    description = 'HashMap rating module.'
    hot_config = True

    def __init__(self, conf):
        super().__init__(conf)
        self._engine = None
        self._lock = threading.Lock()

    def config_controller(self):
        from ratekeeper.rating.hashmap import controllers
        return controllers.HashMapConfigController()

    def current_engine(self):
        """The engine of the current rules: one cheap revision read per
        call, a recompile only when a rule changed (in any process)."""
        revision = rules.revision(self.conf)
        current = self._engine
        if current is not None and current.revision == revision:
            return current
        with self._lock:
            if self._engine is None or self._engine.revision != revision:
                snapshot = engine.Snapshot.from_rows(*rules.load_all(
                    self.conf))
                self._engine = engine.Engine(
                    snapshot, self.conf.collect.scope_key)
            return self._engine

    def process(self, batch, tenant_scoped=True):
        self.current_engine().price(batch, tenant_scoped)
        return batch

    def reload(self):
        with self._lock:
            self._engine = None
