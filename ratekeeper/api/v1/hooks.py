"""Pecan hooks: put the context, configuration and storage on the request."""
import pecan
from pecan import hooks

from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper.api import errors as api_errors
from ratekeeper.api import json as api_json


class ContextHook(hooks.PecanHook):
    def __init__(self, conf, storage):
        self.conf = conf
        self.storage = storage

    def before(self, state):
        request = state.request
        request.context = request.environ[rk_context.ENVIRON_KEY]
        request.conf = self.conf
        request.storage_backend = self.storage
        if '\x00' in request.query_string or '%00' in request.query_string \
                or (request.body and api_json.contains_nul(request.body)):
            pecan.abort(400, json_body=api_errors.v1_document(
                api_errors.Fault(400, api_json.NUL_MESSAGE,
                                 errors.INVALID_INPUT)))
