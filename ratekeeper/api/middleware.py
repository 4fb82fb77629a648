"""WSGI middleware around the dispatcher: request id, load, size limit,
version negotiation, auth, context, per-version headers."""
import io
import logging
import re
import threading

from oslo_context import context as oslo_context

from ratekeeper import conf as rk_conf
from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper.api import errors as api_errors
from ratekeeper.api import versions as api_versions

LOG = logging.getLogger(__name__)


class BodySizeLimit:
    """413 for a body over ``[api] max_request_body_size`` (declared, or
    sent in chunks without a length: read here up to the limit), 414 for a
    URI over MAX_URI_LENGTH, 415 for a compressed body (no app reads one).
    """

    def __init__(self, app, max_size):
        self.app = app
        self.max_size = max_size

    MAX_URI_LENGTH = 16384  # the server itself takes request lines to 1 MiB

    def __call__(self, environ, start_response):
        if len(environ.get('PATH_INFO', '')) + len(
                environ.get('QUERY_STRING', '')) > self.MAX_URI_LENGTH:
            return api_errors.json_error(
                start_response, 414,
                'Request URI too long: the limit is %d characters.'
                % self.MAX_URI_LENGTH, errors.URI_TOO_LONG,
                environ.get(api_errors.REQUEST_ID_KEY))
        encoding = environ.get('HTTP_CONTENT_ENCODING', '').strip().lower()
        if encoding not in ('', 'identity'):
            return api_errors.json_error(
                start_response, 415,
                'Content-Encoding %s is not supported: send the body '
                'uncompressed.' % encoding[:32],
                errors.UNSUPPORTED_MEDIA_TYPE,
                environ.get(api_errors.REQUEST_ID_KEY))
        length = environ.get('CONTENT_LENGTH')
        if not length and self._chunked(environ):
            try:
                length = self._read_chunked(environ)
            except Exception as exc:  # the server's parser: bad framing
                return api_errors.json_error(
                    start_response, 400,
                    'Malformed chunked request body: %s'
                    % (str(exc)[:200] or type(exc).__name__),
                    errors.BAD_REQUEST,
                    environ.get(api_errors.REQUEST_ID_KEY))
        if length and length.isdigit() and int(length) > self.max_size:
            return api_errors.json_error(
                start_response, 413,
                'Request body too large: the limit is %d bytes.'
                % self.max_size, errors.PAYLOAD_TOO_LARGE,
                environ.get(api_errors.REQUEST_ID_KEY))
        return self.app(environ, start_response)

    @staticmethod
    def _chunked(environ):
        return 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()

    def _read_chunked(self, environ):
        """Read a chunked body (one byte past the limit at most) so that
        the apps see it with its length; returns that length."""
        body = environ['wsgi.input'].read(self.max_size + 1)
        environ['wsgi.input'] = io.BytesIO(body)
        environ['CONTENT_LENGTH'] = str(len(body))
        return environ['CONTENT_LENGTH']


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
    trailing slash) answer without a token, as CloudKitty's do, and so do
    the paths under ``public_prefixes`` (the cost page's static files).
    """

    def __init__(self, app, conf, public_routes, public_prefixes=()):
        self.app = app
        self.public_routes = frozenset(public_routes)
        self.public_prefixes = tuple(public_prefixes)
        rk_conf.register_keystone_opts(conf)
        from keystoneauth1 import exceptions as ks_exceptions
        from keystonemiddleware import auth_token  # see register_keystone_opts
        self.keystone_errors = ks_exceptions.ClientException
        self.protected = auth_token.AuthProtocol(
            app, {'oslo_config_config': conf})

    def __call__(self, environ, start_response):
        path = (environ.get('SCRIPT_NAME', '')
                + environ.get('PATH_INFO', '')).rstrip('/') or '/'
        if path in self.public_routes or (path + '/').startswith(
                self.public_prefixes):
            return self.app(environ, start_response)
        try:
            return self.protected(environ, start_response)
        except self.keystone_errors as exc:
            # auth_token names Keystone in the 401 it refuses a request
            # with: without [keystone_authtoken] www_authenticate_uri it
            # asks its auth plugin, which may be missing or out of reach.
            # The caller still gets its 401, without the address.
            LOG.error('cannot name Keystone in a 401: %s (set '
                      '[keystone_authtoken] www_authenticate_uri)', exc)
            return api_errors.json_error(
                start_response, 401,
                'The request needs a valid token of the identity service.',
                errors.UNAUTHORIZED,
                environ.get(api_errors.REQUEST_ID_KEY))


class RequestId:
    """``X-Openstack-Request-Id`` on every response: a valid one sent by
    the caller is kept (and echoed), else a new ``req-<uuid>``.

    (oslo.middleware's RequestId always makes a new one and keeps the
    caller's as the global id only; this keeps both.)
    """

    HEADER = 'x-openstack-request-id'
    _VALID = re.compile(r'^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-'
                        r'[a-f0-9]{4}-[a-f0-9]{12}$')

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        sent = environ.get('HTTP_X_OPENSTACK_REQUEST_ID', '')
        if self._VALID.match(sent):
            req_id = sent
            environ['openstack.global_request_id'] = sent
        else:
            req_id = oslo_context.generate_request_id()
        environ[api_errors.REQUEST_ID_KEY] = req_id

        def start(status, headers, exc_info=None):
            if not any(k.lower() == self.HEADER for k, _ in headers):
                headers = list(headers) + [(self.HEADER, req_id)]
            return start_response(status, headers, exc_info)
        return self.app(environ, start)


class LoadShedder:
    """503 with Retry-After, at once, when ``limit`` requests are already
    being served: a saturated server says so instead of queueing callers
    until they time out."""

    def __init__(self, app, limit, retry_after=1):
        self.app = app
        self.slots = threading.BoundedSemaphore(limit)
        self.retry_after = str(retry_after)

    def __call__(self, environ, start_response):
        if not self.slots.acquire(blocking=False):
            return api_errors.json_error(
                start_response, 503,
                'The server is overloaded; retry in a moment.',
                errors.OVERLOADED, environ.get(api_errors.REQUEST_ID_KEY),
                headers=[('Retry-After', self.retry_after)])
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        return _ReleasingIterable(result, self.slots.release)


class _ReleasingIterable:
    """The app's response, releasing a slot once fully sent (or closed)."""

    def __init__(self, result, release):
        self.result = result
        self.release = release
        self.released = False

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, 'close'):
                self.result.close()
        finally:
            if not self.released:
                self.released = True
                self.release()


class VersionNegotiation:
    """Route by media type.

    An unversioned path (``/report/total``) goes to the version named by
    ``Accept: application/vnd.ratekeeper.vN+json``, or to the CURRENT
    version without one. A versioned path whose Accept names another
    version gets 406. ``/healthcheck`` belongs to no version, and ``/ui``
    (the cost page) is no API: both pass as they are.
    """

    OWN_ROOTS = ('v1', 'v2', 'healthcheck', 'ui')

    _MEDIA_TYPE = re.compile(r'application/vnd\.ratekeeper\.(v\d+)\+json')

    def __init__(self, app, conf):
        self.app = app
        self.served = frozenset(api_versions.served(conf))
        self.current = api_versions.current(conf)

    def _asked(self, environ):
        """The versions Accept names; the version apps then see plain
        JSON asked for (pecan would refuse a media type it does not
        produce)."""
        accept = environ.get('HTTP_ACCEPT', '')
        if 'vnd.ratekeeper' not in accept:
            return None
        environ['HTTP_ACCEPT'] = self._MEDIA_TYPE.sub('application/json',
                                                      accept)
        return set(self._MEDIA_TYPE.findall(accept))

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path in ('', '/'):
            return self.app(environ, start_response)
        asked = self._asked(environ)
        segment = path[1:].split('/', 1)[0]
        if segment in self.OWN_ROOTS:
            if asked and segment in ('v1', 'v2') and segment not in asked:
                return self._refuse(environ, start_response, path, asked)
            return self.app(environ, start_response)
        wanted = self.current
        if asked:
            usable = sorted(asked & self.served)
            if not usable:
                return self._refuse(environ, start_response, path, asked)
            wanted = usable[-1]
        environ['PATH_INFO'] = '/' + wanted + path
        return self.app(environ, start_response)

    def _refuse(self, environ, start_response, path, asked):
        return api_errors.json_error(
            start_response, 406,
            'Accept asks for API %s, which cannot serve %s (served: %s).'
            % (', '.join(sorted(asked)), path[:128],
               ', '.join(sorted(self.served))),
            errors.MEDIA_TYPE_CONFLICT,
            environ.get(api_errors.REQUEST_ID_KEY))


class VersionHeaders:
    """Name the version on every response of a mounted version app
    (``Ratekeeper-API-Version``); a DEPRECATED version adds
    ``Deprecation``, a successor-version ``Link`` and, when configured,
    ``Sunset``."""

    HEADER = 'Ratekeeper-API-Version'

    def __init__(self, app, conf, version_id):
        self.app = app
        self.version_id = version_id
        self.headers = [(self.HEADER, version_id)]
        self.successor = None
        if api_versions.status(conf, version_id) == 'DEPRECATED':
            self.headers.append(('Deprecation', 'true'))
            sunset = getattr(conf.api_versions, '%s_sunset' % version_id)
            if sunset:
                self.headers.append(('Sunset', sunset))
            self.successor = api_versions.successor(conf, version_id)

    def _extra(self, environ):
        if not self.successor:
            return self.headers
        prefix = environ.get('SCRIPT_NAME', '')[:-len(self.version_id) - 1]
        return self.headers + [
            ('Link', '<%s/%s>; rel="successor-version"'
             % (prefix, self.successor))]

    def __call__(self, environ, start_response):
        if not environ.get('PATH_INFO'):
            environ['PATH_INFO'] = '/'  # /v2 is /v2/ for every method
        environ[api_errors.API_VERSION_KEY] = self.version_id
        extra = self._extra(environ)

        def start(status, headers, exc_info=None):
            return start_response(status, list(headers) + extra, exc_info)
        return self.app(environ, start)
