"""Rules of the pyscripts configuration API
(/v1/rating/module_config/pyscripts/scripts), one per method; each route
is also behind ratekeeper:rating:module_config (CloudKitty's only rule
there, rating:module_config)."""
from ratekeeper.policies import base

GET = 'ratekeeper:pyscripts:get'
CREATE = 'ratekeeper:pyscripts:create'
UPDATE = 'ratekeeper:pyscripts:update'
DELETE = 'ratekeeper:pyscripts:delete'

PATH = '/v1/rating/module_config/pyscripts/scripts/{script_id}'

rules = [
    base.documented(GET, base.ADMIN, 'List pyscripts or read one.', PATH,
                    ['GET']),
    base.documented(CREATE, base.ADMIN, 'Create a pyscript.',
                    '/v1/rating/module_config/pyscripts/scripts', ['POST']),
    base.documented(UPDATE, base.ADMIN,
                    "Update a pyscript (a running one's end only).", PATH,
                    ['PUT']),
    base.documented(DELETE, base.ADMIN, 'Delete a pyscript.', PATH,
                    ['DELETE']),
]


def list_rules():
    return rules
