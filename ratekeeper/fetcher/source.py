"""The ``source`` fetcher: the scopes listed in ``[fetcher_source]
sources``."""
from ratekeeper import fetcher


class SourceFetcher(fetcher.BaseFetcher):
    name = 'source'

    def get_scopes(self):
        return list(dict.fromkeys(self.conf.fetcher_source.sources))
