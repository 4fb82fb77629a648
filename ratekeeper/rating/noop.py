"""noop: prices nothing; exists so that a pipeline can run with no rules."""
from ratekeeper import rating


class Noop(rating.RatingModule):
    name = 'noop'
    description = 'Dummy test module.'
    hot_config = False
    default_enabled = True

    def always_enabled(self):
        return True

    def process(self, batch, tenant_scoped=True):
        return batch

    def quote(self, batch):
        return []
