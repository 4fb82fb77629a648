#!/usr/bin/env python3
"""The machine's floor: what the shared generator reaches against servers
that do (almost) nothing, to read the ingest figures against.

Serves one of these WSGI apps with gunicorn as ratekeeper-api serves
(one worker, gthread, 8 threads) and runs `usagegen.py load --unrated
--rate` (100k points, 1000 per request, 2 threads) against it:

  null        reads the body, answers 204
  parse-only  also parses it with orjson (no checks, rating or storage)

    .venv/bin/python bench/floor.py [--rounds 3]

The client and the server share the machine's two cores, so these are
the ceilings any ingest figure here lives under.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

import orjson

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests import live  # noqa: E402

USAGEGEN = os.path.join(HERE, 'usagegen.py')


def _read_body(environ):
    length = int(environ.get('CONTENT_LENGTH') or 0)
    return environ['wsgi.input'].read(length)


def null(environ, start_response):
    _read_body(environ)
    start_response('204 No Content', [])
    return [b'']


def parse_only(environ, start_response):
    orjson.loads(_read_body(environ))
    start_response('204 No Content', [])
    return [b'']


APPS = {'null': 'null', 'parse-only': 'parse_only'}


def _load(app_name, n):
    port = live.free_port()
    server = subprocess.Popen(
        [os.path.join(live.BIN, 'gunicorn'), '--chdir', HERE, '-w', '1',
         '-k', 'gthread', '--threads', '8', '-b', '127.0.0.1:%d' % port,
         'floor:' + app_name],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d' % port
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + '/', timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        output = subprocess.run(
            [sys.executable, USAGEGEN, 'load', '--url', url, '-n', str(n),
             '--threads', '2', '--unrated', '--rate'],
            check=True, capture_output=True, text=True).stdout
        return json.loads(output[output.index('{'):])['points_per_s']
    finally:
        server.terminate()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('-n', type=int, default=100000)
    args = parser.parse_args()
    for _ in range(args.rounds):
        print(json.dumps({name: _load(app, args.n)
                          for name, app in APPS.items()}))


if __name__ == '__main__':
    main()
