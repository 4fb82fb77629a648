"""A write-ahead log of Arrow tables, for stores whose cost per write is
high whatever its size: pushes are logged (one Arrow IPC stream each,
fsynced) and kept in memory, then written to the store in one batch; after
a crash the log gives back every logged push.
"""
import os

import pyarrow as pa


class StagingLog:
    def __init__(self, path):
        self.path = path
        self._file = None

    def read(self):
        """The tables of every complete push in the log. A push whose write
        was cut short (a crash before its fsync, so never acknowledged)
        ends the log."""
        tables = []
        try:
            stream = open(self.path, 'rb')
        except FileNotFoundError:
            return tables
        with stream:
            while True:
                try:
                    tables.append(pa.ipc.open_stream(stream).read_all())
                except (pa.ArrowInvalid, EOFError, OSError):
                    return tables

    def open(self):
        self._file = open(self.path, 'ab')

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

    def clear(self):
        """Forget every push (they are stored elsewhere now)."""
        self._file.truncate(0)
        self._file.seek(0)
        os.fsync(self._file.fileno())

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
