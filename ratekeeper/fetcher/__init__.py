"""Fetchers: the scopes (projects) the processor collects.

A fetcher is a class registered under the entry point group
``ratekeeper.fetchers`` (CloudKitty's ``cloudkitty.fetchers`` is the
model), chosen by ``[fetcher] backend``: ``source`` (a list in the
configuration), ``prometheus`` (the values of a label), ``keystone``
(projects where the service user has the rating role).
"""
from stevedore import driver

NAMESPACE = 'ratekeeper.fetchers'


class FetcherError(Exception):
    """The scopes could not be listed (the source out of reach)."""


class InvalidConfiguration(Exception):
    """The fetcher cannot work with these options."""


class BaseFetcher:
    name = None

    def __init__(self, conf):
        self.conf = conf

    def get_scopes(self):
        """The scope ids, each once; raises FetcherError."""
        raise NotImplementedError

    def close(self):
        """Release connections."""


def get_fetcher(conf):
    name = conf.fetcher.backend
    try:
        plugin = driver.DriverManager(NAMESPACE, name).driver
    except Exception as exc:  # stevedore's NoMatches and the import's
        raise InvalidConfiguration(
            '[fetcher] backend = %s: no such fetcher (%s)'
            % (name, exc)) from None
    return plugin(conf)
