"""What v1's plain pecan controllers share: the ones that answer JSON
themselves rather than through WSME (/v1/rating and every module
configuration API under /v1/rating/module_config).

CloudKitty's clients put ids in bodies of PUT and DELETE on collection paths
and send GET parameters as JSON bodies, and CloudKitty's exact 302/409
answers are simpler to give than to coax out of WSME. Errors keep WSME's
shape (faultcode, faultstring, debuginfo).
"""
import functools

import orjson
import pecan

from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper import policy
from ratekeeper.api import errors as api_errors
from ratekeeper.api import json as api_json

METHOD_NOT_ALLOWED = 'The method is not allowed for the requested URL.'


def _send(status, document=None, headers=None):
    response = pecan.response
    response.status = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 204:
        response.content_type = None
        return ''
    response.content_type = 'application/json'
    return api_json.dumps(document).decode()


def endpoint(method):
    """Expose ``method`` (returning (status, document[, headers])), with
    our exceptions turned into WSME-shaped JSON errors."""
    @pecan.expose(content_type='application/json')
    @functools.wraps(method)
    def wrapper(self, *parts, **params):
        try:
            return _send(*method(self, *[p for p in parts if p], **params))
        except errors.APIError as exc:
            fault = api_errors.describe(exc)
            return _send(fault.status, api_errors.v1_document(fault),
                         fault.headers)
    return wrapper


def request_body():
    """The JSON body of the request: {} when there is none; 400 for JSON
    that does not parse or is not an object."""
    data = pecan.request.body
    if not data or not data.strip():
        return {}
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise errors.BadRequest('Request body is not valid JSON.',
                                code=errors.MALFORMED_JSON)
    if not isinstance(document, dict):
        raise errors.BadRequest('Request body must be a JSON object.',
                                code=errors.MALFORMED_JSON)
    return document


def request_params(params):
    """Query parameters, completed by a JSON body (clients send GET and
    DELETE parameters in bodies too)."""
    merged = request_body()
    merged.update(params)
    return merged


def context():
    """The request context (read from the environment: it is needed while
    routing, before the pecan hooks have run)."""
    return pecan.request.environ[rk_context.ENVIRON_KEY]


def conf():
    return context().conf


def authorize(rule, target=None):
    policy.authorize(context(), rule, target if target is not None else {})


def method_not_allowed(allowed):
    return errors.APIError(METHOD_NOT_ALLOWED, status=405,
                           headers={'Allow': ', '.join(allowed)})


def require_method(*methods):
    if pecan.request.method not in methods:
        raise method_not_allowed(methods)
