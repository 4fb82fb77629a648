"""Rules of /v1/storage."""
from ratekeeper.policies import base

LIST_DATAFRAMES = 'ratekeeper:storage:list_dataframes'

rules = [
    base.documented(LIST_DATAFRAMES, base.PROJECT_READER_OR_ADMIN,
                    'List rated dataframes (v1 view). A non-admin sees only '
                    'its own project.', '/v1/storage/dataframes', ['GET'],
                    deprecated_name='storage:list_data_frames'),
]


def list_rules():
    return rules
