"""The legacy v1 API: pecan controllers, WSME types, CloudKitty's shapes."""
import io
import re
import urllib.parse

import pecan

from ratekeeper import errors
from ratekeeper.api import conditional
from ratekeeper.api import errors as api_errors
from ratekeeper.api.v1 import argspecs
from ratekeeper.api.v1 import hooks
from ratekeeper.api.v1 import module_config
from ratekeeper.api.v1.controllers import root

# member resources with ETags under /v1/rating (v2 resources declare it:
# BaseResource.conditional), besides the module configuration APIs'
# conditional routes
RATING_CONDITIONAL_PATHS = ['modules/[^/]+']


def _fault(environ, start_response, message, code):
    """A 400; the error middleware adds v1's fault fields."""
    return api_errors.json_error(start_response, 400, message, code,
                                 environ.get(api_errors.REQUEST_ID_KEY))


def _is_utf8(environ):
    try:
        environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
        urllib.parse.unquote_to_bytes(
            environ.get('QUERY_STRING', '')).decode('utf-8')
    except UnicodeError:
        return False
    return True


def _body_is_utf8(environ):
    """Whether a JSON body decodes (read here; the apps read it again)."""
    if 'json' not in environ.get('CONTENT_TYPE', ''):
        return True
    length = environ.get('CONTENT_LENGTH') or '0'
    if not length.isdigit() or length == '0':
        return True
    body = environ['wsgi.input'].read(int(length))
    environ['wsgi.input'] = io.BytesIO(body)
    try:
        body.decode('utf-8')
    except UnicodeError:
        return False
    return True


class RequestGuard:
    """What pecan and webob fail on before any controller runs: a path,
    query or JSON body that is not UTF-8 (webob raised, pecan logged a
    traceback and answered a bare 400), and a JSON body nested deeper than
    the interpreter's recursion limit (pecan parses bodies with the
    standard library while routing: a RecursionError, a 500)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not _is_utf8(environ):
            return _fault(environ, start_response,
                          'The request path or query string is not valid '
                          'UTF-8.', errors.BAD_REQUEST)
        if not _body_is_utf8(environ):
            return _fault(environ, start_response,
                          'Request body is not valid UTF-8.',
                          errors.MALFORMED_JSON)
        try:
            return self.app(environ, start_response)
        except RecursionError:
            return _fault(environ, start_response,
                          'Request body is nested too deeply.',
                          errors.MALFORMED_JSON)


def conditional_paths():
    """The paths (relative to /v1) of the resources with ETags."""
    members = RATING_CONDITIONAL_PATHS + module_config.conditional_patterns()
    return re.compile(r'^/(?:rating|billing)/(?:%s)/?$' % '|'.join(members))


def _v1_fault(exc):
    return api_errors.v1_document(api_errors.describe(exc))


def create_app(conf, storage):
    argspecs.install()
    app = RequestGuard(pecan.make_app(
        root.V1Controller(),
        hooks=[hooks.ContextHook(conf, storage)],
        force_canonical=False,
        guess_content_type_from_ext=False,
        logging={},
    ))
    return conditional.ConditionalPaths(app, conditional_paths(), _v1_fault)
