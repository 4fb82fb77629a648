"""/v1/rating (also served as /v1/billing): modules, quote, reload, and
each module's configuration API under module_config/<module> (see
api/v1/module_config). Plain pecan controllers answering JSON themselves
(api/v1/json_controllers).
"""
import pecan

from ratekeeper import errors
from ratekeeper import rating
from ratekeeper.api.v1 import json_controllers as jc
from ratekeeper.api.v1 import module_config as config_apis
from ratekeeper.policies import rating as policies


def registry():
    return rating.get_registry(jc.conf())


# -- modules ----------------------------------------------------------------

def module_document(module, state, hot_config_key='hot-config'):
    enabled, priority = state
    return {'module_id': module.name, 'description': module.description,
            'enabled': enabled, hot_config_key: module.hot_config,
            'priority': priority}


def _boolean(value, name):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    raise errors.InvalidInput(
        "Invalid input for field/attribute %s. Value: '%s'. Wrong type. "
        "Expected 'bool', got '%s'" % (name, str(value)[:64],
                                       type(value).__name__))


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

    @jc.endpoint
    def _default(self, *parts, **params):
        if not parts:
            return self._list()
        if len(parts) > 1:
            raise errors.NotFound('The resource could not be found.')
        if pecan.request.method == 'PUT':
            return self._update(parts[0])
        jc.require_method('GET', 'PUT')
        return self._show(parts[0])

    def _list(self):
        jc.require_method('GET')
        jc.authorize(policies.LIST_MODULES,
                     {'project_id': jc.context().project_id})
        states = registry().states()
        return 200, {'modules': [
            module_document(module, states[name])
            for name, module in registry().modules.items()]}

    def _show(self, module_id):
        jc.authorize(policies.GET_MODULE)
        module = registry().get(module_id)
        return 200, module_document(module, registry().state(module_id))

    def _update(self, module_id):
        """CloudKitty answers 302 to its own URL; the client follows it
        with the same PUT, so this must be idempotent and cheap."""
        jc.authorize(policies.UPDATE_MODULE)
        body = jc.request_body()
        if not body.get('module_id'):
            raise errors.InvalidInput(
                "Invalid input for field/attribute module_id. Value: "
                "'None'. Mandatory field missing.")
        registry().get(module_id)
        enabled = _boolean(body['enabled'], 'enabled') \
            if body.get('enabled') is not None else None
        priority = _priority(body['priority']) \
            if body.get('priority') is not None else None
        registry().update(module_id, enabled=enabled, priority=priority)
        return 302, None, {'Location': pecan.request.path_url}


# -- quote and reload ---------------------------------------------------------

class RatingController:
    """/v1/rating"""

    modules = ModulesController()
    module_config = config_apis.ModuleConfigController()

    @jc.endpoint
    def quote(self, *parts, **params):
        jc.require_method('POST')
        jc.authorize(policies.QUOTE)
        from ratekeeper.rating import quote as rating_quote
        total = rating_quote.price_resources(
            registry(), jc.request_body().get('resources'))
        return 200, total

    @jc.endpoint
    def reload_modules(self, *parts, **params):
        jc.require_method('GET')
        jc.authorize(policies.RELOAD_MODULES)
        registry().reload()
        return 204, None

    @jc.endpoint
    def _default(self, *parts, **params):
        raise errors.NotFound('The resource could not be found.')
