"""etc/ratekeeper.conf.sample and etc/policy.yaml.sample are generated from
the options and rules in code; regenerate them and fail if etc/ drifted.

When this fails after an option or rule changed: ``make samples``.
"""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

GENERATORS = {
    'ratekeeper.conf.sample': 'oslo-config-generator',
    'policy.yaml.sample': 'oslopolicy-sample-generator',
}


def _generate(tool, output):
    subprocess.run([os.path.join(BIN, tool), '--namespace', 'ratekeeper',
                    '--output-file', str(output)],
                   check=True, capture_output=True, cwd=ROOT)
    with open(output, encoding='utf-8') as stream:
        return stream.read()


@pytest.mark.parametrize('sample', sorted(GENERATORS))
def test_sample_matches_code(sample, tmp_path):
    generated = _generate(GENERATORS[sample], tmp_path / sample)
    with open(os.path.join(ROOT, 'etc', sample), encoding='utf-8') as stream:
        committed = stream.read()
    assert generated == committed, (
        'etc/%s is out of date with the code: run "make samples" and '
        'commit the result' % sample)


def test_samples_are_not_empty(tmp_path):
    """The generators found ratekeeper's namespace (a broken entry point
    gives an empty or header-only file, which would match itself)."""
    conf = _generate('oslo-config-generator', tmp_path / 'c')
    policies = _generate('oslopolicy-sample-generator', tmp_path / 'p')
    assert '#auth_strategy = keystone' in conf
    assert '[storage]' in conf
    assert '"ratekeeper:summary:get"' in policies
    assert '"context_is_admin": "role:admin"' in policies
