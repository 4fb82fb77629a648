"""WSGI middleware around the dispatcher: size limit, auth, context."""
from keystonemiddleware import auth_token

from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper.api import errors as api_errors


class BodySizeLimit:
    """413 for a declared body over ``[api] max_request_body_size``.

    (Bodies sent without a length are bounded by each app: Flask's
    MAX_CONTENT_LENGTH for v2.)
    """

    def __init__(self, app, max_size):
        self.app = app
        self.max_size = max_size

    def __call__(self, environ, start_response):
        length = environ.get('CONTENT_LENGTH')
        if length and length.isdigit() and int(length) > self.max_size:
            return api_errors.json_error(
                start_response, 413,
                'Request body too large: the limit is %d bytes.'
                % self.max_size, errors.PAYLOAD_TOO_LARGE,
                environ.get(api_errors.REQUEST_ID_KEY))
        return self.app(environ, start_response)


class ContextMiddleware:
    """Attach the RequestContext every app and policy check reads."""

    def __init__(self, app, conf):
        self.app = app
        self.conf = conf
        self.build = (rk_context.from_keystone_environ
                      if conf.auth_strategy == 'keystone'
                      else rk_context.from_noauth_environ)

    def __call__(self, environ, start_response):
        environ[rk_context.ENVIRON_KEY] = self.build(self.conf, environ)
        return self.app(environ, start_response)


class KeystoneAuth:
    """keystonemiddleware's auth_token on every path but the public ones.

    The version documents (``/``, ``/v1``, ``/v2``, with or without a
    trailing slash) answer without a token, as CloudKitty's do.
    """

    def __init__(self, app, conf, public_routes):
        self.app = app
        self.public_routes = frozenset(public_routes)
        self.protected = auth_token.AuthProtocol(
            app, {'oslo_config_config': conf})

    def __call__(self, environ, start_response):
        path = (environ.get('SCRIPT_NAME', '')
                + environ.get('PATH_INFO', '')).rstrip('/') or '/'
        if path in self.public_routes:
            return self.app(environ, start_response)
        return self.protected(environ, start_response)
