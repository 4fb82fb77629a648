"""ratekeeper-api: serve the API with gunicorn, ``[api] workers``
processes of ``[api] threads`` threads each.

The embedded DuckDB file can be opened read-write by one process only, so
on DuckDB the start refuses more than one worker; threads give the
concurrency there (DuckDB and the JSON parsing release the GIL for the
heavy parts). ClickHouse (or v1 SQL on a server database), which several
processes share, takes many workers.
"""
import logging
import sys

from gunicorn.app import base as gunicorn_base
from gunicorn import util as gunicorn_util
import orjson

from ratekeeper import conf as rk_conf
from ratekeeper import runtime
from ratekeeper import storage as rk_storage
from ratekeeper.api import app as rk_app
from ratekeeper.api import errors as api_errors
from ratekeeper.db import migration
from ratekeeper.processor import service as processor_service

LOG = logging.getLogger('ratekeeper.api')
# OpenStack's request line: client "request line" status: len: time: (s)
ACCESS_LOG_FORMAT = ('%(h)s "%(r)s" status: %(s)s len: %(B)s time: %(L)s '
                     'request_id: %({x-openstack-request-id}o)s')


def write_json_error(sock, status, reason, message):
    """gunicorn's answer to a request it cannot parse (a header too large,
    bad chunked framing, a bad request line) in the project's JSON error
    shape instead of an HTML page. The API version is unknown there, so
    v1's fault fields come too."""
    body = orjson.dumps(api_errors.v1_document(
        api_errors.status_fault(status, message or reason)))
    head = ('HTTP/1.1 %d %s\r\nConnection: close\r\n'
            'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
            % (status, reason, len(body)))
    gunicorn_util.write_nonblock(sock, head.encode('latin1') + body)


class Server(gunicorn_base.BaseApplication):
    """gunicorn, configured from ratekeeper's options. The app (and its
    storage connections) is built in the worker, after the fork."""

    def __init__(self, conf, options):
        self.conf = conf
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # gunicorn's workers look it up at each error
        gunicorn_util.write_error = write_json_error
        application = rk_app.build_serving_app(self.conf)
        runtime.tune_interpreter()
        return application


def main(argv=None):
    conf = rk_conf.load(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO,
        format='%(asctime)s %(levelname)s %(name)s %(message)s')
    behind = migration.behind_message(conf)
    if behind:
        LOG.error(behind)
        return 1
    try:
        rk_storage.check_workers(conf)
    except ValueError as exc:
        LOG.error('%s', exc)
        return 1
    if processor_service.embedded(conf):
        try:
            processor_service.check(conf)
        except processor_service.ConfigurationError as exc:
            LOG.error('cannot start the processor: %s', exc)
            return 1
    role = processor_service.api_role(conf)
    if role:
        LOG.info('%s', role)
    LOG.info('serving on http://%s:%d (auth_strategy=%s, storage v%d, '
             '%d workers)', conf.api.host, conf.api.port,
             conf.auth_strategy, conf.storage.version, conf.api.workers)
    Server(conf, {
        'bind': '%s:%d' % (conf.api.host, conf.api.port),
        'workers': conf.api.workers,
        'worker_class': 'gthread',
        'threads': conf.api.threads,
        'timeout': 300,
        'accesslog': '-' if conf.api.log_requests else None,
        'access_log_format': ACCESS_LOG_FORMAT,
        # X-Forwarded-* are trusted only through [oslo_middleware]
        # enable_proxy_headers_parsing (gunicorn trusts 127.0.0.1's)
        'forwarded_allow_ips': '',
        # request lines up to 1 MiB reach the app, which answers a long
        # URI with its own JSON 414 (gunicorn's would be an HTML page)
        'limit_request_line': 0,
        # gunicorn's control socket has one default path per user: several
        # servers on one host would take it from each other
        'control_socket_disable': True,
    }).run()


if __name__ == '__main__':
    sys.exit(main())
