#!/usr/bin/env python3
"""What the protocol layer costs per request, in process.

Times the same requests through the whole WSGI stack (request id, CORS,
JSON errors, size limits, version negotiation, context, dispatcher,
version headers, microversion selection) and through the bare v2 Flask
app (with only the request context added, which the handlers need), and
prints the difference per request. Run from the repository root:

    .venv/bin/python bench/protocol_overhead.py [-n 5000]
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from werkzeug.test import EnvironBuilder  # noqa: E402

from ratekeeper import context as rk_context  # noqa: E402
from ratekeeper.api import app as rk_app  # noqa: E402
from ratekeeper.api import v2  # noqa: E402
from tests.functional import fixtures  # noqa: E402

CASES = [
    ('GET /v2/ (version document)', '/v2/', '/', {}),
    ('GET /v2/summary, no data', '/v2/summary', '/summary', {}),
    ('GET /v2/summary at 2.2', '/v2/summary', '/summary',
     {'OpenStack-API-Version': 'rating 2.2'}),
]


def _environ(path, headers, script_name=''):
    builder = EnvironBuilder(path=path, headers=headers)
    environ = builder.get_environ()
    environ['SCRIPT_NAME'] = script_name
    return environ


def _time(app, environ, count, conf=None):
    def start_response(status, headers, exc_info=None):
        return lambda data: None
    begin = time.perf_counter()
    for _ in range(count):
        env = dict(environ)
        if conf is not None:
            env[rk_context.ENVIRON_KEY] = rk_context.admin_context(conf)
        result = app(env, start_response)
        b''.join(result)
        if hasattr(result, 'close'):
            result.close()
    return (time.perf_counter() - begin) / count * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-n', type=int, default=5000)
    count = parser.parse_args().n
    with tempfile.TemporaryDirectory() as state:
        conf = fixtures.make_conf(state)
        conf.set_override('response_validation', 'ignore', 'api')
        from ratekeeper import storage as rk_storage
        from ratekeeper.db import migration
        migration.upgrade(conf)
        storage = rk_storage.get_storage(conf)
        whole = rk_app.build_app(conf, storage)
        bare = v2.create_app(conf, storage)
        print('%-32s %10s %10s %10s' % ('request', 'stack µs', 'bare µs',
                                        'protocol µs'))
        for name, full_path, bare_path, headers in CASES:
            _time(whole, _environ(full_path, headers), 200)  # warm up
            stack = _time(whole, _environ(full_path, headers), count)
            alone = _time(bare, _environ(bare_path, headers, '/v2'), count,
                          conf)
            print('%-32s %10.1f %10.1f %10.1f' % (name, stack, alone,
                                                  stack - alone))
        storage.close()


if __name__ == '__main__':
    main()
