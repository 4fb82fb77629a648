"""A write-ahead log of Arrow tables, for stores whose cost per write is
high whatever its size: pushes are logged (one Arrow IPC stream each,
fsynced) and kept in memory, then written to the store in one batch; after
a crash the log gives back every logged push.

The log is a file of pushes being gathered (``<path>``) and sealed
segments (``<path>.<n>``), batches handed over to be written: a sealed
segment is discarded once its batch is stored.
"""
import os

import pyarrow as pa


def _read_pushes(path):
    """The tables of every complete push in a log file. A push whose write
    was cut short (a crash before its fsync, so never acknowledged) ends
    the file."""
    tables = []
    try:
        stream = open(path, 'rb')
    except FileNotFoundError:
        return tables
    with stream:
        while True:
            try:
                tables.append(pa.ipc.open_stream(stream).read_all())
            except (pa.ArrowInvalid, EOFError, OSError):
                return tables


class StagingLog:
    def __init__(self, path):
        self.path = path
        self._file = None
        self._next_segment = 0

    def read(self):
        """The tables of every logged push, oldest first: sealed segments
        in order, then the pushes being gathered."""
        tables = []
        for segment in self._sealed_segments():
            tables.extend(_read_pushes(segment))
        tables.extend(_read_pushes(self.path))
        return tables

    def _segment_numbers(self):
        """Numbers of the sealed segments on disk, in order."""
        directory, name = os.path.split(os.path.abspath(self.path))
        numbers = []
        for entry in os.listdir(directory):
            head, _, number = entry.rpartition('.')
            if head == name and number.isdigit():
                numbers.append(int(number))
        return sorted(numbers)

    def _sealed_segments(self):
        return ['%s.%d' % (self.path, n) for n in self._segment_numbers()]

    def open(self):
        self._file = open(self.path, 'ab')
        self._next_segment = max(self._segment_numbers(), default=-1) + 1

    def append(self, table):
        """Log ``table`` durably; on failure the log is as it was."""
        start = self._file.tell()
        try:
            with pa.ipc.new_stream(self._file, table.schema) as writer:
                writer.write_table(table)
            self._file.flush()
            os.fsync(self._file.fileno())
        except BaseException:
            self._file.truncate(start)
            self._file.seek(start)
            raise

    def seal(self):
        """Hand over the pushes gathered so far: they become a sealed
        segment, whose path is returned, and gathering starts afresh."""
        segment = '%s.%d' % (self.path, self._next_segment)
        os.rename(self.path, segment)
        try:
            gathering = open(self.path, 'ab')
        except OSError:
            os.rename(segment, self.path)
            raise
        self._file.close()
        self._file = gathering
        self._next_segment += 1
        return segment

    @staticmethod
    def discard(segment):
        """Forget a sealed segment (its pushes are stored now). One that
        cannot be removed does no harm: the store skips pushes it holds
        when the log is written back."""
        try:
            os.unlink(segment)
        except OSError:
            pass

    def clear(self):
        """Forget every push (they are stored elsewhere now)."""
        for segment in self._sealed_segments():
            self.discard(segment)
        self._file.truncate(0)
        self._file.seek(0)
        os.fsync(self._file.fileno())

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
