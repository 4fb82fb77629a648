"""Every JSON sample of the v2 API reference passes the schema the code
checks that request or response with, at the microversion its name says:
a sample that drifts from the code fails here.

Names: ``v2/samples/<family>/<family>-<method>[-<what>][-2.N].json``; a
name ending in ``-request`` is a request body, any other a response.
"""
import glob
import os
import re

import orjson
import pytest
import voluptuous

from ratekeeper.api import microversion
from ratekeeper.api import versions as api_versions
from tests.functional import fixtures

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, 'doc', 'api-ref', 'source')
V2_SAMPLES = sorted(glob.glob(os.path.join(SOURCE, 'v2', 'samples', '*',
                                           '*.json')))
_NAME = re.compile(r'^(?P<path>[a-z_/-]+?)-(?P<method>get|post|put|patch|'
                   r'delete)(?P<rest>(-[a-z0-9]+)*?)(-(?P<version>\d+\.\d+))?'
                   r'\.json$')
# The route of a sample, when it is not /<family> (the family directory):
# (family, path part of the sample's name) -> Flask rule.
ROUTES = {
    ('rating', 'modules'): '/rating/modules',
    ('rating', 'module'): '/rating/modules/<module_id>',
    ('task', 'reprocesses'): '/task/reprocesses',
    ('task', 'scope_reprocesses'): '/task/reprocesses/<path_scope_id>',
}


@pytest.fixture(scope='module')
def v2_app():
    service = fixtures.ConfigFixture()
    service.start_fixture()
    try:
        from ratekeeper.api import v2
        yield v2.create_app(fixtures.STATE['conf'],
                            fixtures.STATE['storage'])
    finally:
        service.stop_fixture()


def _resource_for(app, route):
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        if rule.rule == route and hasattr(view, 'view_class'):
            return view.view_class
    raise AssertionError('no v2 resource at %s' % route)


def _implementation(resource, method, version):
    for low, high, function in microversion.implementations(
            getattr(resource, method)):
        if low <= version and (high is None or version <= high):
            return function
    raise AssertionError('%s.%s is not served at %s'
                         % (resource.__name__, method, version))


def _schema_for(app, sample_path):
    family = os.path.basename(os.path.dirname(sample_path))
    match = _NAME.match(os.path.basename(sample_path))
    assert match, 'sample name does not say its method: %s' % sample_path
    version = microversion.parse(match.group('version') or
                                 microversion.VERSIONS[0])
    route = ROUTES.get((family, match.group('path')), '/' + family)
    function = _implementation(_resource_for(app, route),
                               match.group('method'), version)
    kind = 'body' if match.group('rest').endswith('-request') else 'output'
    assert kind in function.schemas, (
        '%s has no %s schema for %s' % (function.__qualname__, kind,
                                        sample_path))
    return function.schemas[kind]


@pytest.mark.parametrize('sample', V2_SAMPLES,
                         ids=[os.path.relpath(s, SOURCE) for s in V2_SAMPLES])
def test_v2_sample_matches_the_live_schema(v2_app, sample):
    with open(sample, 'rb') as stream:
        document = orjson.loads(stream.read())
    schema = _schema_for(v2_app, sample)
    with v2_app.test_request_context('/'):  # schemas may read the config
        try:
            schema(document)
        except voluptuous.Invalid as exc:
            pytest.fail('%s drifted from the code: %s'
                        % (os.path.relpath(sample, SOURCE), exc))


def test_there_are_v2_samples():
    assert len(V2_SAMPLES) >= 5


def _same_shape(sample, live, where='$'):
    """Same keys, recursively, and the same type at every leaf."""
    assert type(sample) is type(live), '%s: %s is not %s' % (
        where, type(sample).__name__, type(live).__name__)
    if isinstance(live, dict):
        assert set(sample) == set(live), '%s: keys %s, code has %s' % (
            where, sorted(sample), sorted(live))
        for key in live:
            _same_shape(sample[key], live[key], '%s.%s' % (where, key))
    elif isinstance(live, list) and live and sample:
        for item in sample:
            _same_shape(item, live[0], where + '[]')


@pytest.mark.parametrize('name, build', [
    ('versions-get.json', lambda conf: api_versions.versions_document(
        conf, 'http://localhost/')),
    ('v2-get.json', lambda conf: {'version': api_versions.describe(
        conf, 'v2', 'http://localhost/')}),
])
def test_version_samples_have_the_live_shape(v2_app, name, build):
    with open(os.path.join(SOURCE, 'samples', 'versions', name), 'rb') as f:
        sample = orjson.loads(f.read())
    _same_shape(sample, build(fixtures.make_conf('/nonexistent')))
