"""Rules of /v2/task (reprocessing tasks)."""
from ratekeeper.policies import base

SCHEDULE_REPROCESSING = 'ratekeeper:task:schedule_reprocessing'
GET_REPROCESSING = 'ratekeeper:task:get_reprocessing'

rules = [
    base.documented(SCHEDULE_REPROCESSING, base.ADMIN,
                    'Schedule the reprocessing of a time window for some '
                    'scopes.', '/v2/task/reprocesses', ['POST'],
                    deprecated_name='schedule:task_reprocesses'),
    base.documented(GET_REPROCESSING, base.PROJECT_READER_OR_ADMIN,
                    'List reprocessing tasks. A non-admin sees only the '
                    "tasks of its own project's scope.",
                    '/v2/task/reprocesses', ['GET'],
                    deprecated_name='schedule:get_task_reprocesses'),
]


def list_rules():
    return rules
