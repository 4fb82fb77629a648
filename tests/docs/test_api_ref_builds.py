"""The API reference builds with warnings as errors, documents every
published error code, and its samples are what the code answers today."""
import os
import subprocess
import sys

from ratekeeper import errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, 'doc', 'api-ref', 'source')


def _run(args, **kwargs):
    return subprocess.run([sys.executable] + args, cwd=ROOT, text=True,
                          capture_output=True, **kwargs)


def test_api_ref_builds_without_warnings(tmp_path):
    result = _run(['-m', 'sphinx', '-W', '-q', '-b', 'html', SOURCE,
                   str(tmp_path / 'html')])
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / 'html' / 'v2' / 'index.html').exists()


def _published_codes():
    return sorted(value for name, value in vars(errors).items()
                  if name.isupper() and isinstance(value, str)
                  and value.startswith('ratekeeper.'))


def test_every_error_code_is_documented():
    with open(os.path.join(SOURCE, 'errors.rst'), encoding='utf-8') as f:
        page = f.read()
    missing = [code for code in _published_codes()
               if '``%s``' % code not in page]
    assert not missing, ('add these codes to doc/api-ref/source/errors.rst: '
                         '%s' % ', '.join(missing))


def test_samples_are_current_responses():
    result = _run([os.path.join('tools', 'api_samples.py'), '--check'],
                  timeout=300)
    assert result.returncode == 0, (
        'api-ref samples differ from what the code answers; run '
        '"python tools/api_samples.py" and review the diff:\n'
        + result.stdout + result.stderr)
