"""/v1/rating/module_config/<module>/...: each rating module's own
configuration API.

A configuration API is a ``ConfigAPI``: the rating module's name and one
route table (``routes.route``: path shape, method -> handler, policy rule).
It is found through the entry point group ``ratekeeper.api.v1.module_config``
under the rating module's name, so the rating package never imports the API
and another package can add one. Its table drives dispatch, ``Allow``, the
ETag paths and the v1 policy walk test (tests/api/test_policy_enforcement).
Every route is also behind ``ratekeeper:rating:module_config``.

A new module configuration API (pyscripts: /v1/rating/module_config/
pyscripts/scripts[/<script_id>]) touches these files:

1. ``ratekeeper/api/v1/module_config/<module>.py``: handlers taking a
   ``routes.Call`` and returning ``(status, document[, headers])``, and
   ``API = module_config.ConfigAPI('<module>', [routes.route(...), ...])``
   (hashmap.py is the model; the field readers are in inputs.py);
2. ``ratekeeper/policies/<module>.py``: its rules (``list_rules()``);
3. ``pyproject.toml``: ``<module> = "ratekeeper.api.v1.module_config.
   <module>:API"`` under ``ratekeeper.api.v1.module_config``, and
   ``<module> = "ratekeeper.policies.<module>"`` under
   ``ratekeeper.policies``;

plus its tests (a gabbi file ``gabbits/v1-<module>*.yaml``), its API
reference page and ``make samples`` (etc/policy.yaml.sample).
"""
import functools
import importlib.metadata
import re

import pecan

from ratekeeper import errors
from ratekeeper import rating
from ratekeeper.api.v1 import json_controllers as jc
from ratekeeper.api.v1.module_config import routes

NAMESPACE = 'ratekeeper.api.v1.module_config'
PREFIX = 'module_config'


class ConfigAPI:
    """``module``: the rating module's entry point name; ``route_list``:
    its routes.route declarations."""

    def __init__(self, module, route_list):
        self.module = module
        self.routes = routes.RouteTable(route_list)
        self.controller = ConfigController(self)


class ConfigController:
    """Every path of one module configuration API."""

    def __init__(self, api):
        self.api = api

    @jc.endpoint
    def _default(self, *parts, **params):
        return self.api.routes.dispatch(pecan.request.method, list(parts),
                                        params)


@functools.cache
def config_apis():
    """{module name: ConfigAPI} of every installed configuration API (read
    once: it is looked up on every request)."""
    return {ep.name: ep.load()
            for ep in importlib.metadata.entry_points(group=NAMESPACE)}


def conditional_patterns():
    """Regular expressions of the member paths (relative to
    /v1/rating) whose resources have ETags."""
    return ['%s/%s/%s' % (PREFIX, re.escape(name), _shape_pattern(shape))
            for name, api in sorted(config_apis().items())
            for shape in api.routes.conditional_shapes()]


def _shape_pattern(shape):
    return '/'.join('[^/]+' if segment.startswith('{') else re.escape(
        segment) for segment in shape.split('/'))


class NotConfigurableController:
    @jc.endpoint
    def _default(self, *parts, **params):
        raise errors.Conflict('Module is not configurable',
                              code=errors.MODULE_NOT_CONFIGURABLE)


class UnknownModuleController:
    @jc.endpoint
    def _default(self, *parts, **params):
        raise errors.NotFound('Module not found.',
                              code=errors.UNKNOWN_MODULE)


class ModuleConfigController:
    """/v1/rating/module_config/<module>/...: the module's own API; 409
    for an installed module without one, 404 for an unknown module."""

    @pecan.expose()
    def _lookup(self, name, *remainder):
        try:
            rating.get_registry(jc.conf()).get(name)
        except errors.NotFound:
            return UnknownModuleController(), remainder
        api = config_apis().get(name)
        if api is None:
            return NotConfigurableController(), remainder
        return api.controller, remainder

    @jc.endpoint
    def _default(self, *parts, **params):
        raise errors.NotFound('Module not found.', code=errors.UNKNOWN_MODULE)
