"""Rules of the hashmap configuration API
(/v1/rating/module_config/hashmap), one per method; each route is also
behind ratekeeper:rating:module_config."""
from ratekeeper.policies import base

GET = 'ratekeeper:hashmap:get'
CREATE = 'ratekeeper:hashmap:create'
UPDATE = 'ratekeeper:hashmap:update'
DELETE = 'ratekeeper:hashmap:delete'

PATH = '/v1/rating/module_config/hashmap/{object}'

rules = [
    base.documented(GET, base.ADMIN,
                    'Read hashmap services, fields, groups, mappings and '
                    'thresholds.', PATH, ['GET']),
    base.documented(CREATE, base.ADMIN,
                    'Create a hashmap service, field, group, mapping or '
                    'threshold.', PATH, ['POST']),
    base.documented(UPDATE, base.ADMIN,
                    'Update a hashmap mapping or threshold.', PATH, ['PUT']),
    base.documented(DELETE, base.ADMIN,
                    'Delete a hashmap service, field, group, mapping or '
                    'threshold.', PATH, ['DELETE']),
]


def list_rules():
    return rules
