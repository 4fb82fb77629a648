"""Rules of the rating modules and their configuration (/v1/rating,
/v2/rating, /v1/rating/module_config/hashmap)."""
from ratekeeper.policies import base

LIST_MODULES = 'ratekeeper:rating:list_modules'
GET_MODULE = 'ratekeeper:rating:get_module'
UPDATE_MODULE = 'ratekeeper:rating:update_module'
QUOTE = 'ratekeeper:rating:quote'
RELOAD_MODULES = 'ratekeeper:rating:reload_modules'
MODULE_CONFIG = 'ratekeeper:rating:module_config'
HASHMAP_GET = 'ratekeeper:hashmap:get'
HASHMAP_CREATE = 'ratekeeper:hashmap:create'
HASHMAP_UPDATE = 'ratekeeper:hashmap:update'
HASHMAP_DELETE = 'ratekeeper:hashmap:delete'

HASHMAP = '/v1/rating/module_config/hashmap/{object}'
HASHMAP_RULES_BY_METHOD = {'GET': HASHMAP_GET, 'POST': HASHMAP_CREATE,
                           'PUT': HASHMAP_UPDATE, 'DELETE': HASHMAP_DELETE}

rules = [
    base.documented(LIST_MODULES, base.PROJECT_READER_OR_ADMIN,
                    'List the rating modules (readers may, to see what '
                    'prices their usage).',
                    '/v1/rating/modules', ['GET'],
                    deprecated_name='rating:list_modules'),
    base.documented(GET_MODULE, base.ADMIN, 'Get a rating module.',
                    '/v1/rating/modules/{module_id}', ['GET'],
                    deprecated_name='rating:get_module'),
    base.documented(UPDATE_MODULE, base.ADMIN,
                    'Enable or disable a rating module, or change its '
                    'priority.', '/v1/rating/modules/{module_id}', ['PUT'],
                    deprecated_name='rating:update_module'),
    base.documented(QUOTE, base.UNPROTECTED,
                    'Price resources with the enabled modules, without '
                    'storing anything.', '/v1/rating/quote', ['POST'],
                    deprecated_name='rating:quote'),
    base.documented(RELOAD_MODULES, base.ADMIN,
                    'Reload the rating modules and their rules.',
                    '/v1/rating/reload_modules', ['GET']),
    base.documented(MODULE_CONFIG, base.ADMIN,
                    "Use a rating module's configuration API (modules "
                    'without one answer 409).',
                    '/v1/rating/module_config/{module}', ['GET', 'POST',
                                                          'PUT', 'DELETE'],
                    deprecated_name='rating:module_config'),
    base.documented(HASHMAP_GET, base.ADMIN,
                    'Read hashmap services, fields, groups, mappings and '
                    'thresholds.', HASHMAP, ['GET']),
    base.documented(HASHMAP_CREATE, base.ADMIN,
                    'Create a hashmap service, field, group, mapping or '
                    'threshold.', HASHMAP, ['POST']),
    base.documented(HASHMAP_UPDATE, base.ADMIN,
                    'Update a hashmap mapping or threshold.', HASHMAP,
                    ['PUT']),
    base.documented(HASHMAP_DELETE, base.ADMIN,
                    'Delete a hashmap service, field, group, mapping or '
                    'threshold.', HASHMAP, ['DELETE']),
]


def list_rules():
    return rules
