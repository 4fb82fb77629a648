"""Every v2 endpoint (path and method) has its section in the API
reference: a route added without documentation fails here."""
import glob
import os
import re

import pytest

from ratekeeper.api import microversion
from ratekeeper.api.v1 import module_config
from tests.docs import test_samples

SOURCE = test_samples.SOURCE
_METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')
_REST_METHOD = re.compile(r'^\.\. rest_method:: (\S+) (\S+)\s*$', re.M)


def _documented(version):
    """(method, path) of the sections of <version>/*.inc, and of the
    top-level pages' sections on that version's paths."""
    documented = set()
    pages = (glob.glob(os.path.join(SOURCE, version, '*.inc')) +
             glob.glob(os.path.join(SOURCE, '*.rst')))
    for page in pages:
        with open(page, encoding='utf-8') as stream:
            documented.update(_REST_METHOD.findall(stream.read()))
    return {(method, path) for method, path in documented
            if path == '/' + version or path.startswith('/%s/' % version)}


def _v2_routes(app):
    """(method, /v2 path with {name} placeholders) of every resource."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == 'static':
            continue
        path = '/v2' + re.sub(r'<(?:[^:>]+:)?([^>]+)>', r'{\1}', rule.rule)
        for method in sorted(rule.methods & set(_METHODS)):
            yield method, path.rstrip('/') or '/v2'


@pytest.fixture(scope='module')
def v2_app():
    yield from test_samples.v2_app.__wrapped__()


def test_every_v2_endpoint_is_documented(v2_app):
    documented = _documented('v2')
    missing = sorted(set(_v2_routes(v2_app)) - documented)
    assert not missing, ('add a section (.. rest_method:: METHOD PATH) to '
                         'doc/api-ref/source/v2/<family>.inc for: %s'
                         % ', '.join('%s %s' % item for item in missing))


def test_documented_v2_endpoints_exist(v2_app):
    served = set(_v2_routes(v2_app))
    stale = sorted(_documented('v2') - served)
    assert not stale, 'documented but not served: %s' % ', '.join(
        '%s %s' % item for item in stale)


def _sample_routes():
    """(method, Flask rule, kind) of every v2 JSON sample."""
    found = set()
    for sample in test_samples.V2_SAMPLES:
        family = os.path.basename(os.path.dirname(sample))
        match = test_samples._NAME.match(os.path.basename(sample))
        if not match:
            continue
        route = test_samples.ROUTES.get((family, match.group('path')),
                                        '/' + family)
        kind = ('body' if match.group('rest').endswith('-request')
                else 'output')
        found.add((match.group('method').upper(), route, kind))
    return found


def _schemas_needing_samples(app):
    """(method, Flask rule, kind) of every v2 request body and response
    the code checks with a schema."""
    for rule in app.url_map.iter_rules():
        resource = getattr(app.view_functions.get(rule.endpoint),
                           'view_class', None)
        for method in sorted(rule.methods & set(_METHODS)):
            handler = getattr(resource, method.lower(), None)
            if handler is None:
                continue
            for _low, _high, function in \
                    microversion.implementations(handler):
                for kind in ('body', 'output'):
                    if kind in getattr(function, 'schemas', {}):
                        yield method, rule.rule, kind


def test_every_v2_schema_has_a_sample(v2_app):
    missing = sorted(set(_schemas_needing_samples(v2_app))
                     - _sample_routes())
    assert not missing, (
        'add a Sample to tools/api_samples.py (v2/samples/<family>/'
        '<name>-<method>[-request].json) for: %s' % ', '.join(
            '%s %s (%s)' % item for item in missing))


def _module_config_routes():
    """(method, path) of every route of every v1 module configuration
    API, from its route table."""
    for name, api in module_config.config_apis().items():
        for shape, method, _rule in api.routes.walk():
            yield method, '/v1/rating/module_config/%s/%s' % (name, shape)


def test_documented_v1_module_config_endpoints_exist():
    """The hashmap reference documents paths of its route table (the
    nested forms, such as services/{service_id}/fields, may go
    undocumented)."""
    documented = {(method, path) for method, path in _documented('v1')
                  if path.startswith('/v1/rating/module_config/')
                  and '{module_id}' not in path}
    assert len(documented) >= 20
    stale = sorted(documented - set(_module_config_routes()))
    assert not stale, 'documented but not routed: %s' % ', '.join(
        '%s %s' % item for item in stale)
