"""Rules of /v1/collector (deprecated in CloudKitty, still served)."""
from ratekeeper.policies import base

LIST_MAPPINGS = 'ratekeeper:collector:list_mappings'
GET_MAPPING = 'ratekeeper:collector:get_mapping'
MANAGE_MAPPING = 'ratekeeper:collector:manage_mapping'
GET_STATE = 'ratekeeper:collector:get_state'
UPDATE_STATE = 'ratekeeper:collector:update_state'

rules = [
    base.documented(LIST_MAPPINGS, base.ADMIN,
                    'List the service to collector mappings.',
                    '/v1/collector/mappings', ['GET'],
                    deprecated_name='collector:list_mappings'),
    base.documented(GET_MAPPING, base.ADMIN,
                    'Get the collector mapping of a service.',
                    '/v1/collector/mappings/{service}', ['GET'],
                    deprecated_name='collector:get_mapping'),
    base.documented(MANAGE_MAPPING, base.ADMIN,
                    'Create or delete a service to collector mapping.',
                    '/v1/collector/mappings', ['POST', 'DELETE'],
                    deprecated_name='collector:manage_mapping'),
    base.documented(GET_STATE, base.ADMIN,
                    'Get whether a collector is enabled.',
                    '/v1/collector/states', ['GET'],
                    deprecated_name='collector:get_state'),
    base.documented(UPDATE_STATE, base.ADMIN,
                    'Enable or disable a collector.',
                    '/v1/collector/states', ['PUT'],
                    deprecated_name='collector:update_state'),
]


def list_rules():
    return rules
