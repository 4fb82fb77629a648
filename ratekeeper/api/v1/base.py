"""What every v1 controller shares: exposure, errors, periods.

``wsexpose`` is wsmeext.pecan's decorator with one addition: the project's
exceptions (errors.APIError, a StorageError) reach the client with their
own status in WSME's fault shape, instead of WSME's generic 500.
"""
import datetime
import functools
import inspect

import orjson
import pecan
from pecan import rest
import webob
from webob import exc as webob_exc
from wsme import exc as wsme_exc
from wsme.rest import args as wsme_rest_args
import wsmeext.pecan as wsme_pecan

from ratekeeper import errors
from ratekeeper.api import errors as api_errors
from ratekeeper.api import periods
from ratekeeper.storage import v2 as storage_v2

UTC = datetime.timezone.utc
ROUTABLE_METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')


class V1Fault(wsme_exc.ClientSideError):
    """An error in WSME's shape with any status, 4xx or 5xx."""

    def __init__(self, message, status):
        faultcode = 'Client' if status < 500 else 'Server'
        super().__init__(message, status_code=status, faultcode=faultcode)


def fault_of(exception):
    """The api.errors.Fault of an exception met while serving v1 (WSME's
    client errors included)."""
    if isinstance(exception, wsme_exc.ClientSideError):
        return api_errors.status_fault(exception.code, exception.faultstring)
    return api_errors.describe(exception)


def as_fault(exception):
    """The V1Fault an exception of ours becomes, or None."""
    if isinstance(exception, (errors.APIError, storage_v2.StorageError)):
        fault = api_errors.describe(exception)
        return V1Fault(fault.message, fault.status)
    return None


def translate_errors(function):
    """Raise our exceptions as V1Faults, keeping ``function``'s signature
    (WSME and pecan read it to bind the request's arguments)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (errors.APIError, storage_v2.StorageError) as exc:
            raise as_fault(exc) from exc
    wrapper.__signature__ = inspect.signature(function)
    wrapper._wsme_original_func = function
    return wrapper


def _check_json(body):
    """400 for a body that is not strict JSON: WSME's parser takes lone
    surrogates ("\\ud800") that no database or encoder will."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise V1Fault('Request body is not valid JSON: %s' % exc, 400) \
            from None


def _client_errors_as_400(get_args):
    """WSME's argument parsing lets through what it meets in a malformed
    request (a list where an object belongs, a number for a date, JSON
    nested too deep) as exceptions that it answers with a 500: they are
    the client's, so they become 400s."""
    @functools.wraps(get_args)
    def checked(funcdef, args, kwargs, params, form, body, mimetype):
        if body and 'json' in (mimetype or ''):
            _check_json(body)
        try:
            return get_args(funcdef, args, kwargs, params, form, body,
                            mimetype)
        except wsme_exc.ClientSideError:
            raise
        except RecursionError:
            raise V1Fault('Request body is nested too deeply.', 400) \
                from None
        except (LookupError, OverflowError, TypeError, ValueError,
                AttributeError) as exc:
            raise V1Fault('Invalid input: %s' % str(exc)[:200], 400) \
                from None
    checked.wraps_wsme_get_args = True
    return checked


if not getattr(wsme_rest_args.get_args, 'wraps_wsme_get_args', False):
    # wsmeext.pecan looks the function up at each call
    wsme_rest_args.get_args = _client_errors_as_400(wsme_rest_args.get_args)


def wsexpose(*args, **kwargs):
    """wsmeext.pecan.wsexpose, with the project's errors translated."""
    expose = wsme_pecan.wsexpose(*args, **kwargs)

    def decorate(function):
        exposed = expose(translate_errors(function))
        # functools.wraps copied our __signature__ onto WSME's
        # (*args, **kwargs) callable: drop it so that pecan routes exactly
        # as it does for a plain wsexpose (CloudKitty's collector routing
        # relies on those varargs).
        exposed.__dict__.pop('__signature__', None)
        return exposed
    return decorate


def abort(status, message):
    """Stop the request with a WSME-shaped error."""
    raise V1Fault(message, status)


def utc(moment):
    """A WSME datetime (naive means UTC) as aware UTC; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # beyond year 9999, offset >= 24 h
        raise V1Fault('Invalid date: out of range.', 400) from None


def naive(moment):
    """How v1 prints datetimes: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def period(begin, end):
    """The asked period in aware UTC, the current month filling the gaps.

    A reversed or empty period is returned as is: v1 answers it with
    nothing rather than an error, as CloudKitty does.
    """
    return (utc(begin) or periods.month_start(),
            utc(end) or periods.next_month_start())


def request_context():
    return pecan.request.context


def request_conf():
    return pecan.request.conf


def request_storage():
    return pecan.request.storage_backend


def _routes(controller, args, method):
    """Whether pecan finds a handler for ``method`` on ``args``."""
    probe = webob.Request.blank('/', method=method)
    probe.pecan = {'routing_args': []}
    try:
        rest.RestController._route(controller, list(args), probe)
    except webob_exc.HTTPException:
        return False
    return True


class RoutingRoot(rest.RestController):
    """A root controller whose routing failures tell the truth: pecan
    answers 405 with an empty Allow for a path it cannot route at all;
    here that is a 404, and a real 405 lists the methods that route."""

    @pecan.expose()
    def _route(self, args, request=None):
        try:
            return super()._route(args, request)
        except webob_exc.HTTPMethodNotAllowed:
            allowed = [method for method in ROUTABLE_METHODS
                       if _routes(self, args, method)]
        if not allowed:
            raise _routing_fault(webob_exc.HTTPNotFound,
                                 'The resource could not be found.')
        raise _routing_fault(
            webob_exc.HTTPMethodNotAllowed,
            'The method %s is not allowed here.' % pecan.request.method,
            Allow=', '.join(allowed))


def _routing_fault(exception_class, message, **headers):
    """A routing error in v1's error shape."""
    body = orjson.dumps(api_errors.v1_document(api_errors.status_fault(
        exception_class.code, message)))
    return exception_class(body=body, content_type='application/json',
                           charset=None, headers=headers)
