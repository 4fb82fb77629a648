"""hashmap: CloudKitty's rule-based pricing (services, fields, mappings,
thresholds, groups), priced by the vectorised engine."""
import decimal

from ratekeeper import rating
from ratekeeper.rating import revisions
from ratekeeper.rating.hashmap import database
from ratekeeper.rating.hashmap import engine
from ratekeeper.rating.hashmap import reference


class HashMap(rating.RatingModule):
    name = 'hashmap'
    description = 'HashMap rating module.'
    hot_config = True

    def __init__(self, conf):
        super().__init__(conf)
        self._engines = revisions.Cache(database.REVISIONS, conf, self._build)

    def _build(self, conf):
        snapshot = engine.Snapshot.from_rows(*database.load_all(conf))
        return snapshot.revision, engine.Engine(snapshot,
                                                conf.collect.scope_key)

    def current_engine(self):
        """The engine of the current rules (see rating.revisions)."""
        return self._engines.get()

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
        self._engines.clear()
