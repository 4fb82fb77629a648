"""The legacy v1 API: pecan controllers, WSME types, CloudKitty's shapes."""
import pecan

from ratekeeper import errors
from ratekeeper.api import errors as api_errors
from ratekeeper.api.v1 import argspecs
from ratekeeper.api.v1 import hooks
from ratekeeper.api.v1.controllers import root


class NestedBodyGuard:
    """pecan reads a JSON body with the standard library while routing,
    before any controller runs; a body nested deeper than the interpreter's
    recursion limit raised RecursionError there, a 500."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except RecursionError:
            message = 'Request body is nested too deeply.'
            return api_errors.json_error(
                start_response, 400, message, errors.MALFORMED_JSON,
                environ.get(api_errors.REQUEST_ID_KEY),
                extra={'faultcode': 'Client', 'faultstring': message,
                       'debuginfo': None})


def create_app(conf, storage):
    argspecs.install()
    return NestedBodyGuard(pecan.make_app(
        root.V1Controller(),
        hooks=[hooks.ContextHook(conf, storage)],
        force_canonical=False,
        guess_content_type_from_ext=False,
        logging={},
    ))
