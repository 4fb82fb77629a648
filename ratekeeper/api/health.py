"""/healthcheck: oslo.middleware's healthcheck app, as CloudKitty's paste
pipeline mounts it, with a backend reporting the processor.

Everyone gets the short answer (200 while healthy, 503 when the
processor of this process stopped); an administrator gets oslo's
detailed one, whose details list, per scope, how far behind the
processor is and its last error.
"""
from oslo_middleware import healthcheck
from oslo_middleware.healthcheck import opts as healthcheck_opts
from oslo_middleware.healthcheck import pluginbase

from ratekeeper import context as rk_context
from ratekeeper.processor import health as processor_health
from ratekeeper.processor import service as processor_service

BACKEND = 'ratekeeper_processor'


class ProcessorCheck(pluginbase.HealthcheckBaseExtension):
    """The oslo.middleware.healthcheck backend (entry point
    ``ratekeeper_processor``)."""

    def healthcheck(self, server_port):
        conf = self.oslo_conf
        healthy, reason, details = processor_health.report(
            conf, processor_service.running(conf))
        return pluginbase.HealthcheckResult(healthy, reason, details)


def _healthcheck(conf, detailed):
    conf.register_opts(healthcheck_opts.HEALTHCHECK_OPTS, 'healthcheck')
    conf.set_override('backends', [BACKEND], 'healthcheck')
    conf.set_override('detailed', detailed, 'healthcheck')
    try:
        return healthcheck.Healthcheck(None, conf)
    finally:
        conf.clear_override('detailed', 'healthcheck')


class HealthApp:
    def __init__(self, conf):
        self.short = _healthcheck(conf, False)
        self.detailed = _healthcheck(conf, True)

    def __call__(self, environ, start_response):
        context = environ.get(rk_context.ENVIRON_KEY)
        admin = context is not None and context.is_admin
        app = self.detailed if admin else self.short
        return app(environ, start_response)
