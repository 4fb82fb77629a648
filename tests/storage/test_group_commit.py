"""The group commit of ratekeeper.storage.v2.group_commit, over its real
sockets and threads, with a store of the test's own (a list the write
appends to): what is grouped, who is answered what, and a leader that
dies. The same over ClickHouse: tests/storage/test_clickhouse_group_commit.py.
"""
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import pytest

from ratekeeper.storage import v2 as storage_v2
from ratekeeper.storage.v2 import group_commit

FOLLOWER = '''
import sys
from ratekeeper.storage.v2 import group_commit

def write(payloads):
    raise AssertionError('a follower wrote %r' % payloads)

committer = group_commit.GroupCommit(sys.argv[1], write)
for line in sys.stdin:
    try:
        committer.submit(line.strip(), 1)
        print('stored', line.strip(), flush=True)
    except Exception as exc:
        print('failed', line.strip(), type(exc).__name__, flush=True)
'''


class Store:
    """Writes: each call's payloads, in order; a payload 'bad' fails its
    write, ``gate`` (cleared) holds every write until it is set."""

    def __init__(self):
        self.writes = []
        self.gate = threading.Event()
        self.gate.set()
        self.writing = threading.Event()
        self.unreachable = False

    def write(self, payloads):
        self.writing.set()
        self.gate.wait(30)
        if self.unreachable:
            raise storage_v2.Unreachable('down')
        if 'bad' in payloads:
            raise ValueError('bad payload')
        self.writes.append(list(payloads))

    def stored(self):
        return sorted(p for write in self.writes for p in write)


@pytest.fixture
def name():
    return 'test-' + secrets.token_hex(8)


@pytest.fixture
def store():
    return Store()


@pytest.fixture
def committer(name, store):
    """Makes GroupCommits of this test's name over ``store``; closes them
    all at the end (the first one made to push leads)."""
    made = []

    def make(**options):
        made.append(group_commit.GroupCommit(name, store.write, **options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def hold_a_write(store, leader):
    """The leader's write of 'first', held until ``store.gate`` is set:
    the submitting thread and its outcomes."""
    store.gate.clear()
    threads, outcomes = submit_in_threads(leader, ['first'])
    store.writing.wait(10)
    return threads, outcomes


def submit_in_threads(committer, payloads, outcomes=None):
    """Submit each payload from a thread of its own; their outcomes (into
    ``outcomes`` if given): 'stored' or the exception."""
    outcomes = {} if outcomes is None else outcomes

    def submit(payload):
        try:
            committer.submit(payload, 1)
            outcomes[payload] = 'stored'
        except Exception as exc:
            outcomes[payload] = exc

    threads = [threading.Thread(target=submit, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    return threads, outcomes


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.01)


def test_pushes_queued_during_a_write_are_written_together(
        store, committer):
    leader = committer()
    followers = [committer() for _ in range(3)]
    first, outcomes = hold_a_write(store, leader)
    more = []
    for index, follower in enumerate(followers):
        threads, _ = submit_in_threads(
            follower, ['f%d-%d' % (index, n) for n in range(2)], outcomes)
        more += threads
    time.sleep(0.3)  # the followers' pushes reach the leader's queue
    assert not outcomes  # none answered before its write returned
    store.gate.set()
    for thread in first + more:
        thread.join(30)
    assert set(outcomes.values()) == {'stored'}
    assert len(outcomes) == 7
    assert store.writes[0] == ['first']
    assert sorted(store.writes[1]) == sorted(
        'f%d-%d' % (i, n) for i in range(3) for n in range(2))


def test_a_failing_push_fails_alone_and_the_others_of_its_group_are_stored(
        store, committer):
    leader, follower = committer(), committer()
    first, outcomes = hold_a_write(store, leader)
    threads, _ = submit_in_threads(follower, ['a', 'bad', 'b'], outcomes)
    time.sleep(0.3)
    store.gate.set()
    for thread in first + threads:
        thread.join(30)
    assert isinstance(outcomes.pop('bad'), ValueError)
    assert set(outcomes.values()) == {'stored'}
    assert store.stored() == ['a', 'b', 'first']


def test_an_unreachable_store_fails_the_whole_group_at_once(
        store, committer):
    leader, follower = committer(), committer()
    leader.submit('first', 1)
    store.gate.clear()
    store.unreachable = True
    threads, outcomes = submit_in_threads(follower, ['a', 'b', 'c'])
    time.sleep(0.3)
    calls_before = len(store.writes)
    store.gate.set()
    for thread in threads:
        thread.join(30)
    assert all(isinstance(outcome, storage_v2.Unreachable)
               for outcome in outcomes.values())
    assert len(outcomes) == 3
    assert len(store.writes) == calls_before
    store.unreachable = False
    follower.submit('d', 1)  # the store back: pushes go on
    assert store.stored() == ['d', 'first']


def test_a_closed_leader_writes_what_it_took_and_another_process_leads(
        store, committer):
    leader, follower = committer(), committer()
    leader.submit('first', 1)
    follower.submit('second', 1)  # through the leader
    assert store.writes == [['first'], ['second']]
    leader.close()
    follower.submit('third', 1)  # the follower now leads
    assert store.stored() == ['first', 'second', 'third']


def test_another_process_leads_when_the_leader_is_killed(name, tmp_path):
    """The leader is a process of its own, killed while a follower waits
    for its answer: that push fails (it may or may not be stored), the
    next ones elect the follower's process, and nothing acknowledged was
    lost or written twice."""
    script = tmp_path / 'follower.py'
    script.write_text(FOLLOWER)
    # the leader: a process that only writes, into a file, one line per
    # payload; it holds its second write until the file 'go' exists
    leader_script = tmp_path / 'leader.py'
    leader_script.write_text('''
import os, sys, time
from ratekeeper.storage.v2 import group_commit
out, gate = sys.argv[2], sys.argv[3]
def write(payloads):
    if payloads != ['leader']:
        while not os.path.exists(gate):
            time.sleep(0.01)
    with open(out, 'a') as stream:
        stream.write(''.join(p + '\\n' for p in payloads))
committer = group_commit.GroupCommit(sys.argv[1], write)
committer.submit('leader', 1)
print('leading', flush=True)
time.sleep(600)
''')
    written = tmp_path / 'written'
    leader = subprocess.Popen(
        [sys.executable, str(leader_script), name, str(written),
         str(tmp_path / 'go')], stdout=subprocess.PIPE, text=True)
    follower = None
    try:
        assert leader.stdout.readline().strip() == 'leading'
        follower = subprocess.Popen(
            [sys.executable, str(script), name], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        (tmp_path / 'go').touch()
        follower.stdin.write('one\n')
        follower.stdin.flush()
        assert follower.stdout.readline().split() == ['stored', 'one']
        (tmp_path / 'go').unlink()
        follower.stdin.write('two\n')  # held by the leader's write
        follower.stdin.flush()
        wait_until(lambda: 'one' in written.read_text())
        time.sleep(0.3)
        os.kill(leader.pid, signal.SIGKILL)
        leader.wait()
        assert follower.stdout.readline().split() == [
            'failed', 'two', 'StorageError']
        # nobody leads now: the follower's process takes over, and its
        # write (which refuses) shows it is the one writing
        follower.stdin.write('three\n')
        follower.stdin.flush()
        assert follower.stdout.readline().split() == [
            'failed', 'three', 'AssertionError']
        assert written.read_text().split() == ['leader', 'one']
    finally:
        for process in (leader, follower):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_a_push_waits_a_little_for_the_others_that_push_lately(
        store, committer):
    """Two sources that both pushed lately: the first push of the next
    round is held (up to the linger) until the other's comes, and both
    go in one write."""
    leader, follower = committer(linger=0.5), committer(linger=0.5)
    leader.submit('a0', 1)
    follower.submit('b0', 1)
    threads, outcomes = submit_in_threads(leader, ['a1'])
    time.sleep(0.05)
    follower.submit('b1', 1)
    for thread in threads:
        thread.join(30)
    assert outcomes == {'a1': 'stored'}
    assert store.writes[-1] == ['a1', 'b1']


def test_a_push_does_not_wait_for_the_sources_its_last_write_answered(
        store, committer):
    """A source answered by the write just done pushes again only after
    a request of its own: the next push is written at once, not held
    for it (as for a source that pushed lately, which the linger waits
    for)."""
    # a linger under ACTIVE_SECONDS: both sources count as pushing lately
    leader, follower = committer(linger=0.9), committer(linger=0.9)
    b0_stored, a1_sent = threading.Event(), threading.Event()

    def follower_pushes():  # one thread: one source
        follower.submit('b0', 1)
        b0_stored.set()
        a1_sent.wait(10)
        time.sleep(0.5)
        follower.submit('b1', 1)

    leader.submit('a0', 1)
    thread = threading.Thread(target=follower_pushes)
    thread.start()
    assert b0_stored.wait(10)
    a1_sent.set()
    leader.submit('a1', 1)
    thread.join(30)
    assert store.writes == [['a0'], ['b0'], ['a1'], ['b1']]
