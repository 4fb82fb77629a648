"""A real ratekeeper-api process for tests that need a live server (the
python-cloudkittyclient CLI, benchmarks-like checks)."""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.dirname(sys.executable)


def scratch():
    """The parent of the throwaway data directories of the servers tests
    and benchmarks start (ClickHouse, InfluxDB, Prometheus, ratekeeper).

    It carries ext4's "top of directory hierarchy" flag (chattr +T), so
    its children are spread over the disk's block groups as directories
    at the root are. On an ext4 without a journal (these VMs') creating a
    file passes over, one buffer look-up each, every inode of its group
    deleted in the last minutes: after a suite's
    throwaway directories were removed, a file under /tmp cost ~0.6 ms of
    system CPU instead of ~0.02 ms (measured with perf, 2026-12-05), and
    a ClickHouse insert writes dozens of files.
    """
    path = os.path.join(tempfile.gettempdir(), 'ratekeeper-scratch')
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        try:
            subprocess.run(['chattr', '+T', path], check=False,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        except OSError:
            pass  # no chattr: a plain parent, only slower on such a disk
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def server_env(state_path, port, **options):
    """Environment for a noauth server; options: {'GROUP__OPT': value}."""
    env = dict(os.environ)
    env.update({'OS_DEFAULT__AUTH_STRATEGY': 'noauth',
                'OS_DEFAULT__STATE_PATH': state_path,
                'OS_API__HOST': '127.0.0.1',
                'OS_API__PORT': str(port),
                'OS_API__RESPONSE_VALIDATION': 'error'})
    env.update({'OS_' + key: str(value) for key, value in options.items()})
    return env


def wait_until_up(url, process, timeout=30, what='ratekeeper-api'):
    """Poll `url` until it answers; fail if `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('%s exited with %s'
                               % (what, process.returncode))
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('%s did not answer within %ss' % (what, timeout))


def stop(process):
    """End a server we started, by its own PID."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@contextlib.contextmanager
def _state_directory(state_path):
    if state_path is not None:
        yield state_path
        return
    with tempfile.TemporaryDirectory(prefix='ratekeeper-live-',
                                     dir=scratch()) as state:
        yield state


@contextlib.contextmanager
def running_server(state_path=None, port=None, **options):
    """Yield (base URL, env) of a server on ``port`` or a free one, on a
    fresh state directory unless ``state_path`` names one."""
    with _state_directory(state_path) as state:
        port = port or free_port()
        env = server_env(state, port, **options)
        subprocess.run([os.path.join(BIN, 'ratekeeper-dbsync'), 'upgrade'],
                       env=env, check=True, capture_output=True)
        log = open(os.path.join(state, 'api.log'), 'wb')
        process = subprocess.Popen([os.path.join(BIN, 'ratekeeper-api')],
                                   env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        url = 'http://127.0.0.1:%d' % port
        try:
            wait_until_up(url + '/', process)
            yield url, env
        finally:
            stop(process)
            log.close()
