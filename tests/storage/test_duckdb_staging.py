"""DuckDB's staged writes: pushes are logged and batched, never lost."""
import os

import pytest

from ratekeeper import dataframe
from ratekeeper import storage as rk_storage
from ratekeeper.storage import testing
from ratekeeper.storage.v2 import StorageError
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
