"""The official ``cloudkitty`` CLI (python-cloudkittyclient, unchanged),
run from a process that has imported it once.

Starting the CLI costs about 0.6 s of CPU, 0.4 s of it importing the
client and openstacksdk; the suite runs it some hundreds of times. The
helper process imports ``cloudkittyclient.shell`` once and runs each
command in a fork of itself: the command starts from a clean copy of that
process, with its own argv, environment, stdout and stderr, and its exit
code is what the CLI's ``main()`` returned, as from the console script.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading

# Run by the helper process: read one JSON request a line, answer one a line
HELPER = r'''
import json
import os
import sys
import time

import importlib
import pkgutil

import cloudkittyclient
from cliff import command
from cloudkittyclient import shell
from keystoneauth1 import session  # noqa: F401 (imported for the forks)

# What the CLI's first command would import, and cliff's map of installed
# distributions (it reads every installed package's metadata), made once
# for all the forks
for module in pkgutil.walk_packages(cloudkittyclient.__path__,
                                    'cloudkittyclient.'):
    if '.tests' not in module.name:
        importlib.import_module(module.name)
getattr(command, '_get_distributions_by_modules', dict)()

requests = os.fdopen(0, 'r')
answers = os.fdopen(int(sys.argv[1]), 'w')


def run_child(request):
    os.environ.clear()
    os.environ.update(request['env'])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request['stdout']), (2, request['stderr'])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_TRUNC), fd)
    sys.argv = ['cloudkitty'] + request['args']
    try:
        code = shell.main(request['args'])
    except SystemExit as stop:
        code = stop.code
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write('%s\n' % code)
        sys.stderr.flush()
        code = 1
    os._exit(code)


def wait(pid, timeout):
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.002)


for line in requests:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        run_child(request)
    answers.write(json.dumps(
        {'returncode': wait(pid, request['timeout'])}) + '\n')
    answers.flush()
'''


class _Helper:
    def __init__(self):
        reader, writer = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, '-c', HELPER, str(writer)],
            stdin=subprocess.PIPE, pass_fds=(writer,), text=True)
        os.close(writer)
        self.answers = os.fdopen(reader, 'r')
        self.lock = threading.Lock()

    def run(self, args, env, timeout):
        with tempfile.TemporaryDirectory(prefix='cloudkitty-cli-') as folder:
            out, err = (os.path.join(folder, name) for name in ('out', 'err'))
            for path in (out, err):
                open(path, 'w').close()
            request = {'args': [str(arg) for arg in args], 'env': env,
                       'stdout': out, 'stderr': err, 'timeout': timeout}
            with self.lock:
                self.process.stdin.write(json.dumps(request) + '\n')
                self.process.stdin.flush()
                answer = self.answers.readline()
            if not answer:
                raise RuntimeError('the cloudkitty CLI helper process died')
            returncode = json.loads(answer)['returncode']
            if returncode is None:
                raise subprocess.TimeoutExpired(['cloudkitty', *args],
                                                timeout)
            with open(out) as stdout, open(err) as stderr:
                return subprocess.CompletedProcess(
                    ['cloudkitty', *args], returncode, stdout.read(),
                    stderr.read())


_helper = None
_helper_lock = threading.Lock()


def run(args, env=None, timeout=60):
    """The CLI's result for ``args`` (after ``cloudkitty``), as
    subprocess.run(..., capture_output=True, text=True) gives it."""
    global _helper
    with _helper_lock:
        if _helper is None or _helper.process.poll() is not None:
            _helper = _Helper()
    return _helper.run(args, dict(os.environ if env is None else env),
                       timeout)
