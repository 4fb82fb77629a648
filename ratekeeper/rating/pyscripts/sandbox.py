"""The service's side of the pyscripts workers (see worker.py): a small
pool of confined processes, one request at a time each, killed when a
request outlives its time limit and replaced on the next request.

A failure of a script is a ScriptFailed (400) naming the script, so the
push or quote it was pricing is refused; the service itself never runs a
line of a script.
"""
import atexit
import queue
import struct
import subprocess
import sys
import threading

import orjson

from ratekeeper import errors
from ratekeeper import rating

HEADER = struct.Struct('>I')
GRACE_SECONDS = 1.0          # beyond the CPU limit, before SIGKILL
RECYCLE_CPU_SECONDS = 1800   # half the worker's lifetime CPU limit
READ_CHUNK = 1 << 20


class ScriptFailed(errors.BadRequest):
    code = errors.PYSCRIPTS_SCRIPT_FAILED


class SandboxBroken(Exception):
    """The worker died or answered nonsense."""


class Worker:
    def __init__(self, memory_mb):
        self.process = subprocess.Popen(
            [sys.executable, '-I', '-m', 'ratekeeper.rating.pyscripts.worker',
             str(memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env={}, cwd='/', close_fds=True,
            start_new_session=True)
        self.timed_out = False
        self.cpu = 0.0
        # an answer is never larger than what the worker may hold
        self.max_answer = memory_mb * 1024 * 1024

    def call(self, request, timeout):
        """The worker's answer; SandboxBroken when it died, was killed for
        the time limit (``timed_out``) or answered nonsense."""
        body = orjson.dumps(request)
        timer = threading.Timer(timeout, self._time_out)
        timer.start()
        try:
            self.process.stdin.write(HEADER.pack(len(body)) + body)
            self.process.stdin.flush()
            size, = HEADER.unpack(self._read(HEADER.size))
            if size > self.max_answer:
                raise SandboxBroken('answer too large')
            answer = orjson.loads(self._read(size))
        except (OSError, ValueError, struct.error) as exc:
            raise SandboxBroken(str(exc)) from None
        finally:
            timer.cancel()
        if not isinstance(answer, dict):
            raise SandboxBroken('answer is not an object')
        self.cpu = answer.get('cpu') or self.cpu
        return answer

    def _read(self, size):
        """``size`` bytes, read as they come (a forged length allocates
        nothing up front)."""
        chunks, missing = [], size
        while missing:
            chunk = self.process.stdout.read(min(missing, READ_CHUNK))
            if not chunk:
                raise SandboxBroken('the worker stopped')
            chunks.append(chunk)
            missing -= len(chunk)
        return b''.join(chunks)

    def _time_out(self):
        self.timed_out = True
        self.kill()

    def alive(self):
        return self.process.poll() is None and not self.timed_out

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class Pool:
    def __init__(self, conf):
        self.conf = conf
        self._idle = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(conf.pyscripts.workers)
        self._all = set()
        self._lock = threading.Lock()

    @property
    def limits(self):
        return self.conf.pyscripts

    def call(self, request, names, read=lambda answer: answer):
        """``read(answer)`` of the answer to ``request`` (sent with the
        per-request CPU limit); ``names`` (key -> script name) words the
        errors. Raises ScriptFailed.

        A worker that stopped before answering is replaced and the
        request sent once more to a fresh one: an idle worker may have
        died since its last answer (a script can end its process after
        writing one). A worker whose answer ``read`` refuses is not used
        again."""
        request = dict(request, cpu_seconds=self.limits.timeout)
        with self._slots:
            for attempt in (1, 2):
                worker = self._take()
                try:
                    answer = worker.call(
                        request, self.limits.timeout + GRACE_SECONDS)
                    result = read(answer)
                except SandboxBroken as exc:
                    self._discard(worker)
                    if worker.timed_out or attempt == 2:
                        raise self._broken(worker, exc, names) from None
                    continue
                except BaseException:
                    self._discard(worker)
                    raise
                if worker.cpu > RECYCLE_CPU_SECONDS or _spent(answer):
                    self._discard(worker)
                else:
                    self._idle.put(worker)
                return result

    def _take(self):
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                worker = Worker(self.limits.memory_limit)
                with self._lock:
                    self._all.add(worker)
                return worker
            if worker.alive():
                return worker
            self._discard(worker)

    def _discard(self, worker):
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def _broken(self, worker, exc, names):
        scripts = ', '.join(sorted(names.values())) or 'pyscripts'
        if worker.timed_out:
            return ScriptFailed(
                'PyScript %s stopped: it ran past the time limit (%s s).'
                % (scripts, self.limits.timeout))
        return ScriptFailed('PyScript %s stopped: its worker process died '
                            '(%s).' % (scripts, exc))

    def close(self):
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.kill()


def _spent(answer):
    """Whether the worker should serve no more: it ran out of memory or
    time (what a script left in memory goes with it), or failed outside
    any script."""
    return 'error' in answer and (answer.get('spent')
                                  or answer.get('script') is None)


get_pool = rating.one_per_conf(Pool)


@atexit.register
def _close_pools():
    for pool in list(get_pool.made.values()):
        pool.close()
