"""Group commit on ClickHouse: pushes of several processes made while an
insert runs go as one insert (one part per table, not one per push),
each stored once; a leader killed under load loses nothing acknowledged
and stores nothing twice, and the others go on."""
import collections
import datetime
import os
import signal
import subprocess
import sys
import threading

import clickhouse_driver
import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import clickhouse as ch_storage
from tests import clickhouse
from tests.storage import clickhouse_pusher

ROOT = os.path.join(os.path.dirname(__file__), '..', '..')


@pytest.fixture
def database():
    server = clickhouse.server()
    name = clickhouse.database_name('group')
    yield server, name
    clickhouse.drop_database(server.tcp_port, name)


def storage_of(server, name, state_path):
    return rk_storage.get_storage(testing.make_conf(
        state_path, storage={'backend': 'clickhouse'},
        storage_clickhouse={'url': server.url(name),
                            'group_commit': True}))


class Pusher:
    """A clickhouse_pusher process."""

    def __init__(self, server, database, name, state_path):
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'tests.storage.clickhouse_pusher',
             server.url(database), name, state_path], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == 'ready'

    def send(self, label, count):
        self.process.stdin.write('%s %d\n' % (label, count))
        self.process.stdin.flush()

    def answer(self):
        return self.process.stdout.readline().split()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def points_per_id(server, database):
    client = clickhouse_driver.Client('127.0.0.1', port=server.tcp_port)
    try:
        return dict(client.execute(
            "SELECT groupby_values[indexOf(groupby_keys, 'id')] AS id, "
            'count() FROM `%s`.rated_points GROUP BY id' % database))
    finally:
        client.disconnect()


def inserted_parts(server, database):
    """Parts the inserts made in the points table (merged ones too)."""
    client = clickhouse_driver.Client('127.0.0.1', port=server.tcp_port)
    try:
        return client.execute(
            'SELECT count() FROM system.parts WHERE database = %(db)s AND '
            "table = 'rated_points' AND level = 0", {'db': database})[0][0]
    finally:
        client.disconnect()


def test_pushes_made_during_an_insert_go_as_one_insert(database, tmp_path):
    server, name = database
    storage = storage_of(server, name, str(tmp_path))
    pushers = [Pusher(server, name, 'p%d' % n, str(tmp_path))
               for n in range(3)]
    try:
        # this process leads: its big push holds the committer while the
        # three others push
        big = threading.Thread(target=storage.push, args=(
            clickhouse_pusher.batch('big', 'x', 150000),))
        big.start()
        while storage._group_commit._leader is None:
            pass
        for pusher in pushers:
            pusher.send('a', 100)
        answers = [pusher.answer() for pusher in pushers]
        big.join()
        assert answers == [['stored', 'a']] * 3
        assert inserted_parts(server, name) == 2
        counts = points_per_id(server, name)
        assert len(counts) == 150300 and set(counts.values()) == {1}
        totals = storage.total(None, None, groupby=['project_id'])
        assert {row['project_id']: row['qty']
                for row in totals['results']} == {
            'big': 150000.0, 'p0': 100.0, 'p1': 100.0, 'p2': 100.0}
    finally:
        for pusher in pushers:
            pusher.stop()
        storage.close()


def test_a_leader_killed_under_load_loses_nothing_acknowledged(
        database, tmp_path):
    server, name = database
    leader = Pusher(server, name, 'leader', str(tmp_path))
    followers = [Pusher(server, name, 'f%d' % n, str(tmp_path))
                 for n in range(2)]
    answers = collections.defaultdict(list)
    try:
        leader.send('0', 50)
        assert leader.answer() == ['stored', '0']
        for push in range(40):
            for follower in followers:
                follower.send(str(push), 2000)
            if push == 10:  # while the leader writes the followers' pushes
                os.kill(leader.process.pid, signal.SIGKILL)
            for follower in followers:
                answers[follower].append(follower.answer())
        counts = points_per_id(server, name)
        assert set(counts.values()) == {1}  # nothing twice
        for index, follower in enumerate(followers):
            stored = [answer[1] for answer in answers[follower]
                      if answer[0] == 'stored']
            failed = [answer for answer in answers[follower]
                      if answer[0] != 'stored']
            assert all(answer[2] == 'StorageError' for answer in failed)
            assert len(failed) <= 1  # at most the push the leader held
            for label in stored:
                assert all(counts.get('f%d-%s-%d' % (index, label, i)) == 1
                           for i in range(2000))
        # after the kill every push was answered by a leader that lived
        assert all(answer[0] == 'stored' for follower in followers
                   for answer in answers[follower][11:])
    finally:
        for pusher in [leader] + followers:
            pusher.stop()


def test_a_group_of_every_kind_of_push_reads_back_as_sent(
        database, tmp_path, monkeypatch):
    """The pushes a leader writes together (as they were encoded where
    they were made): with and without descriptions, and one whose texts
    hold the attribute separator (another ingest table), make one insert
    per ingest table and read back exactly as each was sent."""
    server, name = database
    storage = storage_of(server, name, str(tmp_path))
    held = []
    monkeypatch.setattr(storage._group_commit, 'submit',
                        lambda payload, points: held.append(payload))
    separator = ch_storage.ATTRIBUTE_SEPARATOR
    begin = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    described = testing.point(1, 0.5, 'p1', 'a', flavor='x')
    described['description'] = 'one vCPU'
    plain = testing.point(2, 0.25, 'p1', 'b')
    joined = testing.point(3, 1.0, 'p' + separator + '2', 'c',
                           **{'k' + separator: separator})
    sent = [described, plain, joined]
    try:
        for point in sent:
            storage.push(dataframe.parse_dataframes(
                [testing.frame(begin, {'instance': [point]})]))
        assert [table for table, _, _ in held] == [
            ch_storage.INGEST, ch_storage.INGEST, ch_storage.INGEST_ARRAYS]
        storage._insert_encoded(held)
        assert inserted_parts(server, name) == 2
        stored = [point for frame in storage.retrieve(
            begin, begin + testing.HOUR, limit=10)['dataframes']
            for point in frame['usage']['instance']]
        assert sorted(stored, key=lambda p: p['vol']['qty']) == sent
        assert storage.total(None, None)['results'][0]['rate'] == 1.75
    finally:
        storage.close()
