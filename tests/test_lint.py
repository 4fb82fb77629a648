"""The code keeps the project's style: flake8, as tox -e pep8 runs it."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_flake8_is_clean():
    result = subprocess.run(
        [sys.executable, '-m', 'flake8', 'ratekeeper', 'tests', 'bench',
         'tools', 'doc/api-ref/source/conf.py'],
        cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
