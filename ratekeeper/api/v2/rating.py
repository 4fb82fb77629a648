# /v2/rating/modules: list, show and update the rating modules.
import flask
import voluptuous as vo

from ratekeeper import errors
from ratekeeper import rating
from ratekeeper.api.v2 import base
from ratekeeper.api.v2 import validation as v
from ratekeeper.policies import rating as policies

module_update_body = {
    vo.Optional('enabled'): v.boolean_value,
    vo.Optional('priority'): vo.All(v.strict_int,
                                    vo.Range(min=0, max=2 ** 31 - 1)),
}

module_response = {
    vo.Required('module_id'): str,
    vo.Required('description'): str,
    vo.Required('enabled'): bool,
    vo.Required('hot_config'): bool,
    vo.Required('priority'): int,
}
modules_response = {vo.Required('modules'): [module_response]}


def _registry():
    return rating.get_registry(base.conf())


def _module_document(module, state):
    enabled, priority = state
    return {'module_id': module.name, 'description': module.description,
            'enabled': enabled, 'hot_config': module.hot_config,
            'priority': priority}


def _module(module_id):
    try:
        return _registry().get(module_id)
    except errors.NotFound:
        raise errors.NotFound("Module '%s' not found" % module_id[:255],
                              code=errors.UNKNOWN_MODULE) from None


class RatingModules(base.BaseResource):
    relation = 'rating_modules'

    @base.enforce(policies.LIST_MODULES)
    @v.query_schema({})
    @v.output_schema(modules_response)
    def get(self):
        """Every installed module with its state."""
        states = _registry().states()
        return {'modules': [_module_document(module, states[name])
                            for name, module in _registry().modules.items()]}


class RatingModule(base.BaseResource):
    relation = 'rating_module'
    conditional = True  # ETag, If-Match (412), If-None-Match (304)

    @base.enforce(policies.GET_MODULE, target=base.no_target)
    @v.query_schema({})
    @v.output_schema(module_response)
    def get(self, module_id):
        module = _module(module_id)
        return _module_document(module, _registry().state(module.name))

    @base.enforce(policies.UPDATE_MODULE, target=base.no_target)
    @v.query_schema({})
    @v.body_schema(module_update_body)
    def put(self, module_id, enabled=None, priority=None):
        """Enable, disable or reorder a module; 204."""
        module = _module(module_id)
        _registry().update(module.name, enabled=enabled, priority=priority)
        return None, 204

    patch = put


blueprint = flask.Blueprint('rating', __name__, url_prefix='/rating')
api = base.Api(blueprint)
api.add_resource(RatingModules, '/modules')
api.add_resource(RatingModule, '/modules/<module_id>')
