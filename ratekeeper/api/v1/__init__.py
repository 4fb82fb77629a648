"""The legacy v1 API: pecan controllers, WSME types, CloudKitty's shapes."""
import pecan

from ratekeeper.api.v1 import argspecs
from ratekeeper.api.v1 import hooks
from ratekeeper.api.v1.controllers import root


def create_app(conf, storage):
    argspecs.install()
    return pecan.make_app(
        root.V1Controller(),
        hooks=[hooks.ContextHook(conf, storage)],
        force_canonical=False,
        guess_content_type_from_ext=False,
        logging={},
    )
