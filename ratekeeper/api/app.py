"""The one WSGI entry point: versions at /, v1 at /v1, v2 at /v2.

Outermost first: request id, JSON errors, body size limit, authentication
(keystone mode), request context, then the dispatcher.
"""
import logging

from keystonemiddleware import auth_token
from oslo_middleware import request_id
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ratekeeper import storage as rk_storage
from ratekeeper.api import errors as api_errors
from ratekeeper.api import middleware
from ratekeeper.api import root
from ratekeeper.api import v1
from ratekeeper.api import v2

LOG = logging.getLogger(__name__)
PUBLIC_ROUTES = ['/', '/v1', '/v2']


def build_app(conf, storage=None):
    """The whole API for ``conf``; ``storage`` defaults to the configured
    backend (tests pass their own)."""
    if storage is None:
        storage = rk_storage.get_storage(conf)
    mounts = {'/v1': v1.create_app(conf, storage)}
    if conf.storage.version >= 2:
        mounts['/v2'] = v2.create_app(conf, storage)
    else:
        LOG.warning('[storage] version = 1: /v2 is not served; it needs a '
                    'v2 storage backend.')
    app = DispatcherMiddleware(root.create_app(conf), mounts)
    app = middleware.ContextMiddleware(app, conf)
    if conf.auth_strategy == 'keystone':
        app = auth_token.AuthProtocol(
            app, {'oslo_config_config': conf,
                  'acl_public_routes': PUBLIC_ROUTES})
    app = middleware.BodySizeLimit(app, conf.api.max_request_body_size)
    app = api_errors.JSONErrorMiddleware(app)
    return request_id.RequestId(app)
