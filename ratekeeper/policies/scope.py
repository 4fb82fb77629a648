"""Rules of /v2/scope (scope states)."""
from ratekeeper.policies import base

GET_STATE = 'ratekeeper:scope:get_state'
RESET_STATE = 'ratekeeper:scope:reset_state'
PATCH_STATE = 'ratekeeper:scope:patch_state'
POST_STATE = 'ratekeeper:scope:post_state'

rules = [
    base.documented(GET_STATE, base.PROJECT_READER_OR_ADMIN,
                    'List scope states. A non-admin sees only the state of '
                    'its own project, whatever filters it sends.',
                    '/v2/scope', ['GET'],
                    deprecated_name='scope:get_state'),
    base.documented(RESET_STATE, base.ADMIN,
                    'Reset scopes to a timestamp: their rated data after '
                    'it is deleted and collected again.',
                    '/v2/scope', ['PUT'],
                    deprecated_name='scope:reset_state'),
    base.documented(PATCH_STATE, base.ADMIN,
                    "Change a scope's active flag, scope key, fetcher or "
                    'collector.', '/v2/scope', ['PATCH'],
                    deprecated_name='scope:patch_state'),
    base.documented(POST_STATE, base.ADMIN, 'Create a scope state.',
                    '/v2/scope', ['POST'],
                    deprecated_name='scope:post_state'),
]


def list_rules():
    return rules
