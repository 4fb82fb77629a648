"""Rules of /v2/summary."""
from ratekeeper.policies import base

GET = 'ratekeeper:summary:get'

rules = [
    base.documented(GET, base.PROJECT_READER_OR_ADMIN,
                    'Get a rating summary. A non-admin sees only its own '
                    'project, whatever filters it sends.',
                    '/v2/summary', ['GET'],
                    deprecated_name='summary:get_summary'),
]


def list_rules():
    return rules
