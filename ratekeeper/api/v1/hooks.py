"""Pecan hooks: put the context, configuration and storage on the request."""
from pecan import hooks

from ratekeeper import context as rk_context


class ContextHook(hooks.PecanHook):
    def __init__(self, conf, storage):
        self.conf = conf
        self.storage = storage

    def before(self, state):
        request = state.request
        request.context = request.environ[rk_context.ENVIRON_KEY]
        request.conf = self.conf
        request.storage_backend = self.storage
