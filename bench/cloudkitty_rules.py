#!/usr/bin/env python3
"""Run by CloudKitty 25's own venv python (bench/processor.py --cloudkitty):
serve CloudKitty's API in this process on a free port (wsgiref) and create
the reference rules with rules_setup.py through it, then exit.

usage: V/bin/python bench/cloudkitty_rules.py CLOUDKITTY_CONF
"""
import os
import socket
import sys
import threading
from wsgiref import simple_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


# CloudKitty's wheel ships no api_paste.ini: the noauth pipeline, minimal
PASTE = """[pipeline:cloudkitty+noauth]
pipeline = ck_api

[app:ck_api]
paste.app_factory = cloudkitty.api.app:app_factory
"""


def main():
    config = sys.argv[1]
    paste = os.path.join(os.path.dirname(config), 'api_paste.ini')
    with open(paste, 'w') as stream:
        stream.write(PASTE)
    with open(config, 'a') as stream:
        stream.write('\n[DEFAULT]\napi_paste_config = %s\n' % paste)
    # CloudKitty's WSGI module parses sys.argv; its hashmap controllers
    # read [keystone_authtoken], registered by importing auth_token
    sys.argv = [sys.argv[0], '--config-file', config]
    from keystonemiddleware import auth_token  # noqa: F401
    from cloudkitty.wsgi import api
    import rules_setup

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]

    class Quiet(simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = simple_server.make_server('127.0.0.1', port, api.application,
                                       handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rules_setup.setup(rules_setup.Api('http://127.0.0.1:%d' % port, {}))
    server.shutdown()


if __name__ == '__main__':
    main()
