"""DuckDB's staged writes: pushes are logged and batched, never lost."""
import os
import threading

import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import StorageError
from ratekeeper.storage.v2 import duckdb as storage_module
from ratekeeper.storage.v2 import staging

WINDOW = (testing.BEGIN, testing.BEGIN + 24 * testing.HOUR)


def open_storage(state_path, batch_points=20000):
    conf = testing.make_conf(str(state_path), storage={'version': 2},
                             storage_duckdb={
                                 'write_batch_points': batch_points})
    return rk_storage.get_storage(conf)


def push_hours(storage, hours, begin=testing.BEGIN):
    storage.push(dataframe.parse_dataframes(
        testing.hourly_frames(hours, begin)))


def crash(storage):
    """Stop as a killed process would: nothing staged is written."""
    storage._log.close()
    storage._db.close()
    storage._db = None


def rows_in_duckdb(storage):
    return storage._db.execute(
        'SELECT COUNT(*) FROM rated_points').fetchall()[0][0]


def test_pushes_wait_in_the_log_and_reads_see_them(tmp_path):
    storage = open_storage(tmp_path)
    push_hours(storage, 2)
    assert rows_in_duckdb(storage) == 0
    assert storage.retrieve(*WINDOW)['total'] == 10
    assert rows_in_duckdb(storage) == 10
    assert os.path.getsize(storage._log.path) == 0
    storage.close()


def test_a_full_batch_is_written_before_the_next_push_is_staged(tmp_path):
    storage = open_storage(tmp_path, batch_points=7)
    push_hours(storage, 1)  # 5 points staged
    push_hours(storage, 1, testing.BEGIN + testing.HOUR)  # 10 > 7
    assert rows_in_duckdb(storage) == 5
    assert storage._staged_points == 5
    storage.close()


def test_points_logged_before_a_crash_are_stored_at_the_next_start(tmp_path):
    storage = open_storage(tmp_path)
    push_hours(storage, 1)
    push_hours(storage, 2, testing.BEGIN + testing.HOUR)
    crash(storage)
    storage = open_storage(tmp_path)
    result = storage.total(*WINDOW)['results'][0]
    assert (result['qty'], result['rate']) == (51, 5.625)
    assert os.path.getsize(storage._log.path) == 0
    storage.close()


def test_a_push_cut_short_by_a_crash_ends_the_log(tmp_path):
    storage = open_storage(tmp_path)
    push_hours(storage, 2)
    crash(storage)
    with open(storage.path + '.staged', 'ab') as log:
        log.write(b'\xff\xff\xff\xff\x40\x00\x00')  # a torn write
    storage = open_storage(tmp_path)
    assert storage.retrieve(*WINDOW)['total'] == 10
    push_hours(storage, 1, testing.BEGIN + 2 * testing.HOUR)
    assert storage.retrieve(*WINDOW)['total'] == 15
    storage.close()


def test_points_already_in_duckdb_are_not_written_twice(tmp_path):
    # a crash after a batch's insert, before its log was cleared
    storage = open_storage(tmp_path)
    push_hours(storage, 2)
    with open(storage._log.path, 'rb') as log:
        logged = log.read()
    assert storage.retrieve(*WINDOW)['total'] == 10  # written, log cleared
    crash(storage)
    with open(storage.path + '.staged', 'wb') as log:
        log.write(logged)
    storage = open_storage(tmp_path)
    assert storage.retrieve(*WINDOW)['total'] == 10
    push_hours(storage, 1, testing.BEGIN + 2 * testing.HOUR)
    assert storage.retrieve(*WINDOW)['total'] == 15
    storage.close()


def test_a_push_that_cannot_be_logged_fails_and_leaves_nothing(
        tmp_path, monkeypatch):
    storage = open_storage(tmp_path)
    push_hours(storage, 1)

    def disk_full(self, table):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(staging.StagingLog, 'append', disk_full)
    with pytest.raises(StorageError, match='No space left'):
        push_hours(storage, 1, testing.BEGIN + testing.HOUR)
    monkeypatch.undo()
    assert storage.retrieve(*WINDOW)['total'] == 5
    storage.close()


def test_stopping_writes_what_is_staged(tmp_path):
    storage = open_storage(tmp_path)
    push_hours(storage, 3)
    storage.close()
    assert os.path.getsize(storage.path + '.staged') == 0
    storage = open_storage(tmp_path)
    assert rows_in_duckdb(storage) == 15
    storage.close()


def test_with_no_batch_each_push_is_written_at_once(tmp_path):
    storage = open_storage(tmp_path, batch_points=0)
    push_hours(storage, 1)
    assert rows_in_duckdb(storage) == 5
    assert not os.path.exists(storage.path + '.staged')
    storage.close()


def test_a_delete_writes_the_staged_points_first(tmp_path):
    storage = open_storage(tmp_path)
    push_hours(storage, 2)
    storage.delete(testing.BEGIN, testing.BEGIN + testing.HOUR)
    assert storage.retrieve(*WINDOW)['total'] == 5
    storage.close()


def test_a_failed_push_with_new_attributes_leaves_the_next_one_working(
        tmp_path, monkeypatch):
    for batch_points in (0, 20000):
        storage = open_storage(tmp_path / str(batch_points), batch_points)
        target = staging.StagingLog if batch_points else type(storage)
        method = 'append' if batch_points else '_insert'

        def broken(*args, **kwargs):
            raise StorageError('broken')

        monkeypatch.setattr(target, method, broken)
        with pytest.raises(StorageError):
            push_hours(storage, 1)  # its attributes are all new
        monkeypatch.undo()
        push_hours(storage, 1, testing.BEGIN + testing.HOUR)
        assert storage.retrieve(*WINDOW)['total'] == 5
        storage.close()


def sealed_segments(storage):
    return sorted(name for name in os.listdir(os.path.dirname(storage.path))
                  if name.startswith(os.path.basename(storage.path)
                                     + '.staged.'))


class BlockedInserts:
    """Holds every insert into DuckDB until released."""

    def __init__(self, monkeypatch, storage):
        self.started = threading.Event()
        self.release = threading.Event()
        insert = type(storage)._insert

        def blocked(storage_self, table):
            self.started.set()
            assert self.release.wait(30), 'never released'
            return insert(storage_self, table)

        monkeypatch.setattr(type(storage), '_insert', blocked)


def in_thread(function, *args):
    errors = []

    def run():
        try:
            function(*args)
        except Exception as exc:  # reported by the joining test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def filling_push_held(tmp_path, monkeypatch):
    """A storage whose first batch (5 points) is being inserted, held, by
    the push that filled it, running in a thread."""
    storage = open_storage(tmp_path, batch_points=7)
    push_hours(storage, 1)
    inserts = BlockedInserts(monkeypatch, storage)
    filling, errors = in_thread(
        push_hours, storage, 1, testing.BEGIN + testing.HOUR)
    assert inserts.started.wait(30)
    return storage, inserts, filling, errors


def test_pushes_go_on_while_a_full_batch_is_inserted(tmp_path, monkeypatch):
    storage, inserts, filling, errors = filling_push_held(
        tmp_path, monkeypatch)
    # the first batch is being inserted: another push is still staged
    pusher, push_errors = in_thread(
        push_hours, storage, 1, testing.BEGIN + 2 * testing.HOUR)
    pusher.join(30)
    assert not pusher.is_alive() and not push_errors
    assert filling.is_alive()  # its batch's insert is still held
    inserts.release.set()
    filling.join(30)
    assert not errors
    monkeypatch.undo()
    assert storage.retrieve(*WINDOW)['total'] == 15
    storage.close()


def test_a_read_waits_for_the_batch_being_inserted(tmp_path, monkeypatch):
    storage, inserts, filling, _ = filling_push_held(tmp_path, monkeypatch)
    totals = []
    reader, errors = in_thread(
        lambda: totals.append(storage.retrieve(*WINDOW)['total']))
    reader.join(0.2)
    assert reader.is_alive() and not totals
    inserts.release.set()
    reader.join(30)
    filling.join(30)
    assert totals == [10] and not errors
    assert sealed_segments(storage) == []
    storage.close()


def failing_inserts(monkeypatch, storage):
    def broken(storage_self, table):
        raise StorageError('disk I/O error')

    monkeypatch.setattr(type(storage), '_insert', broken)


def test_a_batch_that_cannot_be_inserted_stays_logged(tmp_path,
                                                      monkeypatch):
    storage = open_storage(tmp_path, batch_points=7)
    push_hours(storage, 1)
    failing_inserts(monkeypatch, storage)
    # filling the batch succeeds: its points are logged, to be inserted
    push_hours(storage, 1, testing.BEGIN + testing.HOUR)
    with pytest.raises(StorageError, match='disk I/O error'):
        storage.retrieve(*WINDOW)
    assert len(sealed_segments(storage)) == 2
    crash(storage)
    monkeypatch.undo()
    storage = open_storage(tmp_path, batch_points=7)
    result = storage.total(*WINDOW)['results'][0]
    assert (result['qty'], result['rate']) == (34, 3.75)
    assert sealed_segments(storage) == []
    storage.close()


def test_pushes_are_refused_when_inserts_keep_failing(tmp_path,
                                                      monkeypatch):
    storage = open_storage(tmp_path, batch_points=5)
    failing_inserts(monkeypatch, storage)
    hour = 0
    with pytest.raises(StorageError, match='disk I/O error'):
        while hour < 100:
            push_hours(storage, 1, testing.BEGIN + hour * testing.HOUR)
            hour += 1
    assert hour == 1 + storage_module.PENDING_BATCHES
    monkeypatch.undo()
    # the refused push left nothing; every accepted one is stored
    assert storage.retrieve(*WINDOW)['total'] == 5 * hour
    storage.close()


def test_concurrent_pushes_and_reads_lose_nothing(tmp_path):
    # small batches: many hand-overs, inserts racing pushes that add
    # columns and reads that group by keys not stored yet
    storage = open_storage(tmp_path, batch_points=40)
    window = (testing.BEGIN, testing.BEGIN + 1000 * testing.HOUR)
    failures = []

    def pusher(k):
        for i in range(30):
            begin = testing.BEGIN + (k * 30 + i) * testing.HOUR
            points = [testing.point(1, 0.5, 'p%d' % k, 'r',
                                    **{'k%d' % ((k + i) % 12): 'v'})
                      for _ in range(7)]
            storage.push(dataframe.parse_dataframes(
                [testing.frame(begin, {'cpu': points})]))

    def reader(k):
        for i in range(20):
            storage.total(*window, groupby=['type', 'k%d' % ((k + i) % 12)])
            storage.retrieve(*window, limit=5)

    threads = [in_thread(pusher, k) for k in range(4)] + \
        [in_thread(reader, k) for k in range(2)]
    for thread, errors in threads:
        thread.join(60)
        failures.extend(errors)
    assert not failures
    assert storage.retrieve(*window, limit=1)['total'] == 4 * 30 * 7
    storage.close()
    storage = open_storage(tmp_path, batch_points=40)
    assert storage.retrieve(*window, limit=1)['total'] == 4 * 30 * 7
    assert sealed_segments(storage) == []
    storage.close()
