"""Rules of the hashmap configuration API
(/v1/rating/module_config/hashmap), one per method; each route is also
behind ratekeeper:rating:module_config."""
from ratekeeper.policies import base

PATH = '/v1/rating/module_config/hashmap/{object}'
OBJECTS = 'service, field, group, mapping or threshold'
# method -> (rule, what it allows)
BY_METHOD = {
    'GET': ('ratekeeper:hashmap:get', 'Read hashmap services, fields, '
            'groups, mappings and thresholds.'),
    'POST': ('ratekeeper:hashmap:create', 'Create a hashmap %s.' % OBJECTS),
    'PUT': ('ratekeeper:hashmap:update',
            'Update a hashmap mapping or threshold.'),
    'DELETE': ('ratekeeper:hashmap:delete', 'Delete a hashmap %s.' % OBJECTS),
}
GET, CREATE, UPDATE, DELETE = (BY_METHOD[method][0] for method in
                               ('GET', 'POST', 'PUT', 'DELETE'))

rules = [base.documented(rule, base.ADMIN, description, PATH, [method])
         for method, (rule, description) in BY_METHOD.items()]


def list_rules():
    return rules
