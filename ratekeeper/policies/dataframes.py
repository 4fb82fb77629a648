"""Rules of /v2/dataframes."""
from ratekeeper.policies import base

ADD = 'ratekeeper:dataframes:add'
GET = 'ratekeeper:dataframes:get'

rules = [
    base.documented(ADD, base.ADMIN, 'Push rated dataframes.',
                    '/v2/dataframes', ['POST'],
                    deprecated_name='dataframes:add'),
    base.documented(GET, base.PROJECT_READER_OR_ADMIN,
                    'List stored dataframes. A non-admin sees only its own '
                    'project.', '/v2/dataframes', ['GET'],
                    deprecated_name='dataframes:get'),
]


def list_rules():
    return rules
