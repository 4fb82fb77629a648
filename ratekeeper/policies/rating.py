"""Rules of the rating modules (/v1/rating, /v2/rating), and the gate of
every module configuration API (/v1/rating/module_config/<module>)."""
from ratekeeper.policies import base

LIST_MODULES = 'ratekeeper:rating:list_modules'
GET_MODULE = 'ratekeeper:rating:get_module'
UPDATE_MODULE = 'ratekeeper:rating:update_module'
QUOTE = 'ratekeeper:rating:quote'
RELOAD_MODULES = 'ratekeeper:rating:reload_modules'
MODULE_CONFIG = 'ratekeeper:rating:module_config'

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
                    "Use a rating module's configuration API: checked on "
                    "every route, before the module's own rule (modules "
                    'without one answer 409).',
                    '/v1/rating/module_config/{module}', ['GET', 'POST',
                                                          'PUT', 'DELETE'],
                    deprecated_name='rating:module_config'),
]


def list_rules():
    return rules
