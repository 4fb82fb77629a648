"""WSGI entry point for gunicorn/uwsgi: ``ratekeeper.wsgi.api:application``.

The configuration file is named by the environment variable
RATEKEEPER_CONFIG_FILE, never read from the server's own command line.
With DuckDB storage run a single worker process (threads are fine): a
second one fails at start, saying that one process only may open the
file. ClickHouse or InfluxDB storage (or v1 SQL on a server database)
takes as many worker processes and hosts as you like; their workers
neither collect nor reprocess: run ratekeeper-processor beside them.
"""
import os

from ratekeeper import conf as rk_conf
from ratekeeper import runtime
from ratekeeper.api import app as rk_app


def init_application():
    config_file = os.environ.get('RATEKEEPER_CONFIG_FILE')
    conf = rk_conf.load([], config_files=[config_file] if config_file else [])
    application = rk_app.build_serving_app(conf)
    runtime.tune_interpreter()
    return application


application = init_application()
