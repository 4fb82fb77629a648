"""Group commit across the processes of one host: pushes made at the same
moment by several API workers (and their threads) reach the store as one
write.

For a store whose cost is mostly per write, whatever its size (ClickHouse
makes a part per insert in every table a push reaches, each of dozens of
files, and merges them again later), four workers each inserting its own
2000 points pay that cost four times where one insert of 8000 points
would pay it once.

The first process to push leads: it binds a Linux abstract UNIX socket
named after the store, and a committer thread of its own writes what is
queued. The others follow: each of their threads keeps a connection to
the leader, sends its push and waits for the answer. The committer takes
every push queued while its previous write ran and, for up to ``linger``
seconds, waits for the pushes of the other sources that pushed in the
last ACTIVE_SECONDS (but not for those its previous write answered); it
writes them at once, and answers each one only once that write
returned: a push acknowledged is stored, as when it wrote alone. A write
of several pushes that fails for one of them (not because the store is
out of reach) is tried again one push at a time, so each gets its own
answer.

An abstract socket's name is free again the moment its process is gone:
when the leader dies, the next push finds nobody there and becomes the
leader. A push the leader had taken but not answered when it died may or
may not be stored: it fails as the store's own connection would have
(StorageError, the API's 503), to be retried (with an Idempotency-Key,
stored once). Only processes of the same user are served (SO_PEERCRED).
Where abstract sockets do not exist, every push writes alone.
"""
import errno
import logging
import os
import pickle
import queue
import socket
import struct
import threading
import time

from ratekeeper.storage import v2 as storage_v2

LOG = logging.getLogger(__name__)
FRAME_LENGTH = struct.Struct('!I')
PEER_CREDENTIALS = struct.Struct('3i')  # pid, uid, gid
# The leader's answer to a push it did not take (it is stopping): the
# follower sends it again, to the next leader
NOT_TAKEN = 'not taken'
ELECTION_ATTEMPTS = 3
STOP_TIMEOUT = 30
# A source (a follower's connection, a thread of the leader's process)
# that pushed within this many seconds is expected to push again soon
ACTIVE_SECONDS = 1.0


def send_frame(connection, data):
    # EPIPE, not SIGPIPE, if the other end is gone
    connection.sendall(FRAME_LENGTH.pack(len(data)) + data,
                       socket.MSG_NOSIGNAL)


def _receive_exactly(connection, size):
    buffer = bytearray(size)
    view, received = memoryview(buffer), 0
    while received < size:
        count = connection.recv_into(view[received:])
        if not count:
            raise EOFError('the connection closed')
        received += count
    return bytes(buffer)


def receive_frame(connection):
    size, = FRAME_LENGTH.unpack(_receive_exactly(connection,
                                                 FRAME_LENGTH.size))
    return _receive_exactly(connection, size)


def same_user(connection):
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, PEER_CREDENTIALS.size)
    return PEER_CREDENTIALS.unpack(credentials)[1] == os.getuid()


def answer_bytes(error):
    """A push's answer: None (stored) or its exception, as itself when it
    pickles, else as a StorageError of its text."""
    try:
        return pickle.dumps(error)
    except Exception:
        return pickle.dumps(storage_v2.StorageError(str(error)))


class _Push:
    __slots__ = ('payload', 'points', 'source', 'done', 'error')

    def __init__(self, payload, points, source):
        self.payload, self.points, self.source = payload, points, source
        self.done = threading.Event()
        self.error = None


class _Leader:
    """The listening socket, the committer thread and a thread per
    follower connection, in the process that bound the name."""

    def __init__(self, listener, write, max_points, linger):
        self._listener = listener
        self._write = write
        self._max_points = max_points
        self._linger = linger
        self._queue = queue.SimpleQueue()
        # when each source (a follower's connection, a thread of this
        # process) last pushed
        self._last_pushes = {}
        # the sources of the group written last: each had one push in it
        # and answers it before pushing again, so none is waited for
        self._just_written = frozenset()
        self._lock = threading.Lock()
        self._stopping = False
        self._committer = threading.Thread(
            target=self._commit_queued, name='group-commit', daemon=True)
        self._committer.start()
        threading.Thread(target=self._accept, name='group-commit-accept',
                         daemon=True).start()

    def commit(self, payload, points, source=None):
        """Queue a push and wait for its write; False if not taken."""
        push = _Push(payload, points, source or threading.get_ident())
        with self._lock:
            if self._stopping:
                return False
            self._last_pushes[push.source] = time.monotonic()
            self._queue.put(push)
        push.done.wait()
        if push.error is not None:
            raise push.error
        return True

    def stop(self):
        """Stop taking pushes; those queued are written first."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._queue.put(None)
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._committer.join(STOP_TIMEOUT)

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            if not same_user(connection):
                connection.close()
                continue
            threading.Thread(target=self._serve, args=(connection,),
                             name='group-commit-follower',
                             daemon=True).start()

    def _serve(self, connection):
        with connection:
            while True:
                try:
                    payload, points = pickle.loads(receive_frame(connection))
                except (OSError, EOFError, pickle.UnpicklingError):
                    return
                try:
                    taken = self.commit(payload, points, id(connection))
                    answer = None if taken else NOT_TAKEN
                except Exception as exc:
                    answer = exc
                try:
                    send_frame(connection, answer_bytes(answer))
                except OSError:
                    return
                if answer == NOT_TAKEN:
                    return

    def _commit_queued(self):
        while True:
            push = self._queue.get()
            if push is None:
                return
            pushes, last = self._gather(push)
            self._write_together(pushes)
            self._just_written = frozenset(push.source for push in pushes)
            if last:
                return

    def _gather(self, push):
        """``push`` and those to write with it: every push queued, and,
        for up to ``linger`` seconds, those of the other sources that
        pushed lately (their pushes are likely on their way: waiting a
        little for them makes one insert of several); whether the leader
        stops after them."""
        pushes, points = [push], push.points
        sources, expected = {push.source}, self._active_sources()
        deadline = time.monotonic() + self._linger
        while points < self._max_points:
            try:
                push = self._queue.get_nowait()
            except queue.Empty:
                wait = deadline - time.monotonic()
                if len(sources) >= expected or wait <= 0:
                    return pushes, False
                try:
                    push = self._queue.get(timeout=wait)
                except queue.Empty:
                    return pushes, False
            if push is None:
                return pushes, True
            pushes.append(push)
            points += push.points
            sources.add(push.source)
        return pushes, False

    def _active_sources(self):
        """How many sources pushed in the last ACTIVE_SECONDS, those of
        the group just written left out: waiting for them (they push
        again only once answered, after a request of their own) kept
        every group waiting the whole linger, the API workers idle
        meanwhile (4 workers: 18 ms a group, against 5 without them)."""
        since = time.monotonic() - ACTIVE_SECONDS
        with self._lock:
            for source, moment in list(self._last_pushes.items()):
                if moment < since:
                    del self._last_pushes[source]
            return len(self._last_pushes.keys() - self._just_written)

    def _write_together(self, pushes):
        try:
            self._write([push.payload for push in pushes])
        except storage_v2.Unreachable as exc:
            for push in pushes:
                push.error = exc
        except Exception as exc:
            if len(pushes) == 1:
                pushes[0].error = exc
            else:
                self._write_alone(pushes)
        for push in pushes:
            push.done.set()

    def _write_alone(self, pushes):
        for push in pushes:
            try:
                self._write([push.payload])
            except Exception as exc:
                push.error = exc


class GroupCommit:
    """``submit(payload, points)`` returns once ``write`` stored the
    payload, alone or with others' (``write`` takes a list of payloads
    and stores all of them or raises)."""

    def __init__(self, name, write, max_points=100000, linger=0.05):
        self.address = '\0ratekeeper-group-commit-' + name
        self._write = write
        self._max_points = max_points
        self._linger = linger
        self._lock = threading.Lock()
        self._leader = None
        self._pid = os.getpid()
        self._local = threading.local()
        self._available = True

    def submit(self, payload, points):
        self._forget_parent()
        for _ in range(ELECTION_ATTEMPTS):
            leader = self._leader
            if leader is not None:
                if leader.commit(payload, points):
                    return
                continue
            connection = self._follow()
            if connection is not None and \
                    self._send(connection, payload, points):
                return
            if not self._available:
                break
        self._write([payload])  # no leader to be found, nor to be

    def close(self):
        with self._lock:
            leader, self._leader = self._leader, None
        if leader is not None:
            leader.stop()
        self._disconnect()

    def _forget_parent(self):
        """A process forked from one that led or followed inherits none
        of it (its threads did not come along)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._leader = None
            self._local = threading.local()

    def _follow(self):
        """This thread's connection to the leader; None once this process
        became the leader (or cannot group)."""
        connection = getattr(self._local, 'connection', None)
        if connection is not None:
            return connection
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(self.address)
        except (ConnectionRefusedError, FileNotFoundError):
            connection.close()
            self._lead()
            return None
        except OSError as exc:
            connection.close()
            LOG.warning('pushes write alone (no group commit): %s', exc)
            self._available = False
            return None
        self._local.connection = connection
        return connection

    def _lead(self):
        with self._lock:
            if self._leader is not None:
                return
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                listener.bind(self.address)
                listener.listen(64)
            except OSError as exc:
                listener.close()
                if exc.errno != errno.EADDRINUSE:  # else: another leads
                    LOG.warning('pushes write alone (no group commit): %s',
                                exc)
                    self._available = False
                return
            self._leader = _Leader(listener, self._write, self._max_points,
                                   self._linger)

    def _send(self, connection, payload, points):
        """Whether the leader stored the push (raises what failed it);
        False when it did not take it, to be sent again."""
        try:
            send_frame(connection, pickle.dumps((payload, points),
                                                pickle.HIGHEST_PROTOCOL))
        except OSError:
            # the leader was gone before it read any of it
            self._disconnect()
            return False
        try:
            answer = pickle.loads(receive_frame(connection))
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self._disconnect()
            raise storage_v2.StorageError(
                'the process writing this push for others went away '
                'before it answered (%s): it may or may not be stored'
                % (exc or type(exc).__name__)) from exc
        if answer == NOT_TAKEN:
            self._disconnect()
            return False
        if answer is not None:
            raise answer
        return True

    def _disconnect(self):
        connection = getattr(self._local, 'connection', None)
        self._local.connection = None
        if connection is not None:
            connection.close()
