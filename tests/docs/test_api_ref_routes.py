"""Every v2 endpoint (path and method) has its section in the API
reference: a route added without documentation fails here."""
import glob
import os
import re

import pytest

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
