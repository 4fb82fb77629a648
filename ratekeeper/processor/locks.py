"""Locks that processors (threads, processes, hosts) share: tooz's, through
``[orchestrator] coordination_url``.

With the URL left empty there is no coordination backend: one processor
process alone, whose threads (scopes, reprocessing workers) still exclude
each other through in-process locks of the same names. tooz, and the
libraries it brings (5 to 13 MB of resident memory with its file or Redis
driver), is then not imported.
"""
import threading


def coordinator(conf, member):
    """A started coordinator for ``member`` (bytes)."""
    url = conf.orchestrator.coordination_url
    if not url:
        return _ThisProcess()
    from tooz import coordination
    started = coordination.get_coordinator(url, member)
    started.start(start_heart=True)
    return started


class _ThisProcess:
    """get_lock/stop as a tooz coordinator offers them, for the threads
    of this process only."""

    _locks = {}
    _guard = threading.Lock()

    def get_lock(self, name):
        with self._guard:
            return self._locks.setdefault(name, _Lock())

    def stop(self):
        pass


class _Lock:
    def __init__(self):
        self._lock = threading.Lock()

    def acquire(self, blocking=True):
        return self._lock.acquire(blocking)

    def release(self):
        self._lock.release()
