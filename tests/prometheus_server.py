"""A real Prometheus (Debian's package) for tests: history written with
``promtool tsdb create-blocks-from openmetrics`` into a throwaway data
directory, served on a free 127.0.0.1 port, stopped by its PID."""
import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

from tests import live


def escape(value):
    return value.replace('\\', '\\\\').replace('"', '\\"').replace(
        '\n', '\\n')


def openmetrics(families):
    """OpenMetrics text of {metric: [(labels dict, [(timestamp, value)])]}
    (gauges)."""
    lines = []
    for metric, series in families.items():
        lines.append('# TYPE %s gauge' % metric)
        for labels, samples in series:
            text = ','.join('%s="%s"' % (k, escape(v))
                            for k, v in sorted(labels.items()))
            for timestamp, value in samples:
                lines.append('%s{%s} %s %d'
                             % (metric, text, value, timestamp))
    lines.append('# EOF')
    return '\n'.join(lines) + '\n'


def _wait_ready(url, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('prometheus exited with %s'
                               % process.returncode)
        try:
            with urllib.request.urlopen(url + '/-/ready', timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError('prometheus not ready within %ss' % timeout)


@contextlib.contextmanager
def running_prometheus(families):
    """Yield the API URL (…/api/v1) of a Prometheus holding ``families``."""
    if not shutil.which('prometheus') or not shutil.which('promtool'):
        pytest.skip('the Debian package prometheus is not installed '
                    '(make system-packages)')
    with tempfile.TemporaryDirectory(prefix='ratekeeper-prom-',
                                     dir=live.scratch()) as directory:
        source = directory + '/history.om'
        with open(source, 'w') as stream:
            stream.write(openmetrics(families))
        subprocess.run(['promtool', 'tsdb', 'create-blocks-from',
                        'openmetrics', source, directory + '/data'],
                       check=True, capture_output=True, timeout=300)
        with open(directory + '/config.yml', 'w') as stream:
            stream.write('global: {}\n')
        port = live.free_port()
        log = open(directory + '/prometheus.log', 'wb')
        process = subprocess.Popen(
            ['prometheus', '--config.file', directory + '/config.yml',
             '--storage.tsdb.path', directory + '/data',
             '--storage.tsdb.retention.time', '100y',
             '--web.listen-address', '127.0.0.1:%d' % port],
            stdout=log, stderr=subprocess.STDOUT)
        url = 'http://127.0.0.1:%d' % port
        try:
            _wait_ready(url, process)
            yield url + '/api/v1'
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
