"""ratekeeper-api refuses to serve a database whose schema is behind."""
import os
import subprocess
import sys

from tests import live


def test_a_schema_behind_stops_the_start_with_a_clear_message(tmp_path):
    env = live.server_env(str(tmp_path), live.free_port())
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ratekeeper-api')],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'ratekeeper-dbsync upgrade' in result.stderr
