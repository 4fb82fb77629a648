"""The cost page at ``/ui/``: static files only.

The page is a client of the public v2 API, in the browser, with the
caller's own headers or token: it adds no endpoint and reads nothing the
API would not show the same caller. Its chart library is built from npm
into ``static/vendor`` by ``make ui``.
"""
import os

import flask

STATIC = os.path.join(os.path.dirname(__file__), 'static')
VENDOR_FILE = os.path.join(STATIC, 'vendor', 'chart.umd.min.js')
# connect-src is open: in keystone mode the page asks the Keystone the
# user names for a token.
SECURITY_HEADERS = {
    'Content-Security-Policy': (
        "default-src 'self'; connect-src *; img-src 'self' data: blob:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
}


def create_app():
    app = flask.Flask(__name__, static_folder=STATIC, static_url_path='')

    @app.route('/')
    def index():
        if not os.path.exists(VENDOR_FILE):
            return flask.Response(
                'The cost page is not built: run "make ui" (needs npm).\n',
                status=503, mimetype='text/plain')
        return app.send_static_file('index.html')

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        response.headers['Cache-Control'] = 'no-cache'
        return response

    return app
