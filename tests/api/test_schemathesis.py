"""schemathesis against a live server, from the server's own
/v2/openapi.json: no 5xx, and every answer conforms to the document
(status codes, content types, response schemas)."""
import os
import shutil
import subprocess

import pytest

from tests import live

CHECKS = ('not_a_server_error,status_code_conformance,'
          'content_type_conformance,response_schema_conformance')
MAX_EXAMPLES = os.environ.get('RATEKEEPER_SCHEMATHESIS_EXAMPLES', '25')


def _schemathesis():
    path = os.path.join(live.BIN, 'st')
    if not os.path.exists(path):
        path = shutil.which('st')
    if path is None:
        pytest.fail('schemathesis is not installed: pip install -e .[test]')
    return path


def test_no_server_error_and_no_schema_violation(tmp_path):
    with live.running_server() as (url, _env):
        result = subprocess.run(
            [_schemathesis(), 'run', url + '/v2/openapi.json',
             '--url', url, '--checks', CHECKS,
             '--max-examples', MAX_EXAMPLES, '--workers', '1',
             '--phases', 'examples,coverage,fuzzing',
             '--generation-deterministic', '--no-color'],
            capture_output=True, text=True, timeout=240,
            cwd=tmp_path)
    assert result.returncode == 0, (_failures(result.stdout)
                                    + result.stderr[-2000:])


def _failures(output):
    """The report's failure lines, without the (long) reproduction URLs."""
    return '\n'.join(line[:300] for line in output.splitlines()
                     if 'curl' not in line)[-8000:]
