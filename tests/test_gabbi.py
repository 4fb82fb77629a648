"""Run every YAML file of gabbits/ against an in-process service.

One pytest test per file: a file's tests run in order (they may chain with
$RESPONSE and $LOCATION) inside its fixtures, and a file that does not even
load fails alone. (gabbi's own pytest plugin is not used: it takes any test
id with a colon, from any test module, for one of its own.)
"""
import glob
import os
import unittest
import uuid

import pytest
from gabbi import handlers
from gabbi import suitemaker
from gabbi import utils

from tests.functional import fixtures

GABBITS = os.path.join(os.path.dirname(__file__), '..', 'gabbits')
FILES = sorted(glob.glob(os.path.join(GABBITS, '*.yaml')))
# The API cannot tell the v2 backends apart: every file runs on each,
# but NAME.BACKEND.yaml, about one backend's own limits, runs on it alone.
BACKENDS = ['duckdb', 'clickhouse', 'influxdb']


def runs_on(path, backend):
    parts = os.path.basename(path).split('.')
    only = parts[-2] if len(parts) > 2 and parts[-2] in BACKENDS else None
    return only in (None, backend)


CASES = [(path, backend) for path in FILES for backend in BACKENDS
         if runs_on(path, backend)]


def file_suite(path):
    name = os.path.splitext(os.path.basename(path))[0]
    return suitemaker.test_suite_from_dict(
        unittest.TestLoader(), name, utils.load_yaml(yaml_file=path),
        GABBITS, str(uuid.uuid4()), None, fixtures, fixtures.setup_app,
        handlers=[handler() for handler in handlers.RESPONSE_HANDLERS],
        test_loader_name=__name__)


def describe(problems):
    return '\n\n'.join('%s\n%s' % (test.id(), trace)
                       for test, trace in problems)


@pytest.mark.parametrize(
    'path,backend', CASES,
    ids=['%s-%s' % (os.path.basename(p), b) for p, b in CASES])
def test_gabbi_file(path, backend):
    fixtures.BACKEND['name'] = backend
    result = unittest.TestResult()
    try:
        file_suite(path).run(result)
    finally:
        fixtures.BACKEND['name'] = 'duckdb'
    if result.skipped and not result.testsRun - len(result.skipped):
        pytest.skip(result.skipped[0][1])
    assert result.testsRun, 'no test in %s' % path
    assert not result.failures + result.errors, describe(
        result.failures + result.errors)
