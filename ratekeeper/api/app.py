"""The one WSGI entry point: versions at /, v1 at /v1, v2 at /v2.

Outermost first: proxy headers (X-Forwarded-Proto/Host, when
``[oslo_middleware] enable_proxy_headers_parsing``), request id, CORS,
JSON errors, load shedding, body size limit, version negotiation
(unversioned paths), authentication (keystone mode), request context, then
the dispatcher, each version app wrapped in its version headers.
"""
import atexit
import logging

from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from ratekeeper import conf as rk_conf
from ratekeeper import storage as rk_storage
from ratekeeper.api import errors as api_errors
from ratekeeper.api import health
from ratekeeper.api import middleware
from ratekeeper.api import root
from ratekeeper.api import v1
from ratekeeper.api import v2
from ratekeeper.processor import reprocess
from ratekeeper.processor import service as processor_service
from ratekeeper import ui

LOG = logging.getLogger(__name__)
PUBLIC_ROUTES = ['/', '/v1', '/v2', '/v2/openapi.json', '/healthcheck']
# static files of the cost page: every API call it makes carries the
# caller's own credentials
PUBLIC_PREFIXES = ['/ui/']
CORS_DEFAULTS = {
    'allow_headers': ['X-Auth-Token', 'X-Openstack-Request-Id', 'X-Roles',
                      'X-Project-Id', 'X-Tenant-Id', 'X-User-Id',
                      'X-Domain-Id', 'OpenStack-API-Version', 'If-Match',
                      'If-None-Match', 'Idempotency-Key'],
    'expose_headers': ['X-Auth-Token', 'X-Openstack-Request-Id',
                       'OpenStack-API-Version', 'Ratekeeper-API-Version',
                       'ETag', 'Link', 'Deprecation', 'Sunset',
                       'Retry-After'],
    'allow_methods': ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'],
}


def build_serving_app(conf):
    """The app of a serving process (ratekeeper-api's worker, a WSGI
    server's): its storage is closed when the process exits, which writes
    any staged points (else the next start would). With a collector
    configured and the embedded DuckDB storage, the process also runs the
    processor, in a thread, on the same storage; on the embedded v2
    storage, the reprocessing workers too, so that a reset or a
    reprocessing asked of /v2 is acted on at once. On a storage several
    processes share, ratekeeper-processor does both, never the API
    workers."""
    storage = rk_storage.get_storage(conf)
    processor = processor_service.start_thread(conf, storage)
    reprocessing = reprocess.start_in_background(conf, storage) \
        if processor_service.reprocesses_in_api(conf) else None

    def stop():
        if reprocessing is not None:
            reprocessing.set()
        if processor is not None:
            processor.stop()
        storage.close()
    atexit.register(stop)
    return build_app(conf, storage)


def build_app(conf, storage=None):
    """The whole API for ``conf``; ``storage`` defaults to the configured
    backend (tests pass their own)."""
    rk_conf.register_api_opts(conf)
    if storage is None:
        storage = rk_storage.get_storage(conf)
    mounts = {'/v1': middleware.VersionHeaders(v1.create_app(conf, storage),
                                               conf, 'v1'),
              '/healthcheck': health.HealthApp(conf)}
    if conf.storage.version >= 2:
        mounts['/v2'] = middleware.VersionHeaders(
            v2.create_app(conf, storage), conf, 'v2')
        mounts['/ui'] = ui.create_app()
    else:
        LOG.warning('[storage] version = 1: /v2 is not served; it needs a '
                    'v2 storage backend.')
    app = DispatcherMiddleware(root.create_app(conf), mounts)
    app = middleware.ContextMiddleware(app, conf)
    if conf.auth_strategy == 'keystone':
        app = middleware.KeystoneAuth(app, conf, PUBLIC_ROUTES,
                                      PUBLIC_PREFIXES)
    app = middleware.VersionNegotiation(app, conf)
    app = middleware.BodySizeLimit(app, conf.api.max_request_body_size)
    if conf.api.max_concurrent_requests:
        app = middleware.LoadShedder(app, conf.api.max_concurrent_requests)
    app = api_errors.JSONErrorMiddleware(app)
    if conf.cors.allowed_origin:
        # webob per request (~25 µs): only when an origin is allowed
        cors.set_defaults(**CORS_DEFAULTS)
        app = cors.CORS(app, conf)
    app = middleware.RequestId(app)
    if conf.oslo_middleware.enable_proxy_headers_parsing:
        # webob per request: only when a proxy is said to be in front
        app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    return app
