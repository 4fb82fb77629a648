"""/v1/rating (also served as /v1/billing): modules, quote, reload, and
each module's configuration API under module_config/<module>.

These are plain pecan controllers answering JSON themselves rather than
WSME methods: CloudKitty's clients put ids in bodies of PUT and DELETE on
collection paths and send GET parameters as JSON bodies, and CloudKitty's
exact 302/409 answers are simpler to give than to coax out of WSME.
Errors keep WSME's shape (faultcode, faultstring, debuginfo).
"""
import functools

import orjson
import pecan

from ratekeeper import context as rk_context
from ratekeeper import errors
from ratekeeper import policy
from ratekeeper import rating
from ratekeeper.api import booleans
from ratekeeper.api import errors as api_errors
from ratekeeper.api import json as api_json
from ratekeeper.policies import rating as policies


# -- JSON in and out, v1 style ---------------------------------------------

def fault_document(exc):
    """WSME's fault fields, plus the project's error fields (the error
    middleware completes them with the request id)."""
    return dict(api_errors.v1_fault_fields(exc.status, exc.message),
                message=exc.message, code=exc.code)


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
            return _send(exc.status, fault_document(exc), exc.headers)
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


def require_method(*methods):
    if pecan.request.method not in methods:
        raise errors.APIError('The method is not allowed for the requested '
                              'URL.', status=405,
                              headers={'Allow': ', '.join(methods)})


def registry():
    return rating.get_registry(conf())


# -- modules ----------------------------------------------------------------

def module_document(module, state, hot_config_key='hot-config'):
    enabled, priority = state
    return {'module_id': module.name, 'description': module.description,
            'enabled': enabled, hot_config_key: module.hot_config,
            'priority': priority}


def boolean_argument(value, name):
    """A boolean of a query or body (ratekeeper.api.booleans), or 400."""
    try:
        return booleans.parse(value)
    except booleans.NotABoolean:
        raise errors.InvalidInput(booleans.v1_message(name, value)) \
            from None


def _priority(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise errors.InvalidInput(
            "Invalid input for field/attribute priority. Value: '%s'. "
            "Wrong type. Expected 'int'" % str(value)[:64])
    try:
        number = int(value)
    except ValueError:
        raise errors.InvalidInput(
            "Invalid input for field/attribute priority. Value: '%s'. "
            "Wrong type. Expected 'int'" % str(value)[:64]) from None
    if not 0 <= number <= 2 ** 31 - 1:
        raise errors.InvalidInput('priority must be between 0 and %d.'
                                  % (2 ** 31 - 1))
    return number


class ModulesController:
    """/v1/rating/modules[/<module_id>]"""

    @endpoint
    def _default(self, *parts, **params):
        if not parts:
            return self._list()
        if len(parts) > 1:
            raise errors.NotFound('The resource could not be found.')
        if pecan.request.method == 'PUT':
            return self._update(parts[0])
        require_method('GET', 'PUT')
        return self._show(parts[0])

    def _list(self):
        require_method('GET')
        authorize(policies.LIST_MODULES,
                  {'project_id': context().project_id})
        states = registry().states()
        return 200, {'modules': [
            module_document(module, states[name])
            for name, module in registry().modules.items()]}

    def _show(self, module_id):
        authorize(policies.GET_MODULE)
        module = registry().get(module_id)
        return 200, module_document(module, registry().state(module_id))

    def _update(self, module_id):
        """CloudKitty answers 302 to its own URL; the client follows it
        with the same PUT, so this must be idempotent and cheap."""
        authorize(policies.UPDATE_MODULE)
        body = request_body()
        for name in ('module_id', 'description'):
            errors.text_field(body.get(name), name)
        if not body.get('module_id'):
            raise errors.InvalidInput(
                "Invalid input for field/attribute module_id. Value: "
                "'None'. Mandatory field missing.")
        registry().get(module_id)
        enabled = boolean_argument(body['enabled'], 'enabled') \
            if body.get('enabled') is not None else None
        priority = _priority(body['priority']) \
            if body.get('priority') is not None else None
        registry().update(module_id, enabled=enabled, priority=priority)
        return 302, None, {'Location': pecan.request.path_url}


# -- module_config ------------------------------------------------------------

class NotConfigurableController:
    @endpoint
    def _default(self, *parts, **params):
        raise errors.Conflict('Module is not configurable',
                              code=errors.MODULE_NOT_CONFIGURABLE)


class UnknownModuleController:
    @endpoint
    def _default(self, *parts, **params):
        raise errors.NotFound('Module not found.',
                              code=errors.UNKNOWN_MODULE)


class ModuleConfigController:
    """/v1/rating/module_config/<module>/...: the module's own API."""

    @pecan.expose()
    def _lookup(self, name, *remainder):
        try:
            module = registry().get(name)
        except errors.NotFound:
            return UnknownModuleController(), remainder
        controller = module.config_controller()
        if controller is None:
            return NotConfigurableController(), remainder
        return controller, remainder

    @endpoint
    def _default(self, *parts, **params):
        raise errors.NotFound('Module not found.', code=errors.UNKNOWN_MODULE)


# -- quote and reload ---------------------------------------------------------

class RatingController:
    """/v1/rating"""

    modules = ModulesController()
    module_config = ModuleConfigController()

    @endpoint
    def quote(self, *parts, **params):
        require_method('POST')
        authorize(policies.QUOTE)
        from ratekeeper.rating import quote as rating_quote
        total = rating_quote.price_resources(
            registry(), request_body().get('resources'))
        return 200, total

    @endpoint
    def reload_modules(self, *parts, **params):
        require_method('GET')
        authorize(policies.RELOAD_MODULES)
        registry().reload()
        return 204, None

    @endpoint
    def _default(self, *parts, **params):
        raise errors.NotFound('The resource could not be found.')
