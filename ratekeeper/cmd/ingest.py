"""ratekeeper-ingest: write CloudKitty dataframes into the configured storage.

Input: one JSON document per line, each the body of POST /v2/dataframes
({"dataframes": [...]}), from a file or ``-`` (stdin). Each line is one
batch: validated as a whole, then stored in one transaction, so a bad line
stops the run with its line number and nothing of it is stored (earlier
lines stay stored). A progress bar is drawn when stderr is a terminal; a
summary line (points, seconds, points/s) ends every run.

Batches go through ``hooks`` (callables taking and returning a PointBatch)
between validation and storage: that is where rating on ingest plugs in
(``main(hooks=...)``).
"""
import argparse
import contextlib
import dataclasses
import itertools
import os
import sys
import time

import orjson

from ratekeeper import conf as rk_conf
from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper import runtime
from ratekeeper import storage as rk_storage
from ratekeeper.storage import v2 as storage_v2

EXIT_BAD_INPUT = 1
EXIT_STORAGE_ERROR = 2


class BadLine(Exception):
    def __init__(self, number, reason):
        super().__init__('line %d: %s' % (number, reason))


@dataclasses.dataclass
class Summary:
    lines: int = 0
    points: int = 0
    seconds: float = 0.0

    def __str__(self):
        rate = self.points / self.seconds if self.seconds else 0.0
        return ('ingested %d points (%d lines) in %.3f s: %.0f points/s'
                % (self.points, self.lines, self.seconds, rate))


def parse_line(number, line):
    """The PointBatch of one input line; BadLine says what is wrong."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise BadLine(number, 'invalid JSON: %s' % exc) from None
    if not isinstance(document, dict) or 'dataframes' not in document:
        raise BadLine(number, 'expected an object with a "dataframes" list')
    try:
        return dataframe.parse_dataframes(document['dataframes'])
    except dataframe.InvalidDataframe as exc:
        raise BadLine(number, str(exc)) from None


def prepare(number, line, hooks):
    """A line made ready to store: (its size, its batch or None if blank)."""
    if not line.strip():
        return len(line), None
    batch = parse_line(number, line)
    for hook in hooks:
        try:
            batch = hook(batch)
        except errors.BadRequest as exc:  # a point rating cannot price
            raise BadLine(number, exc.message) from None
    return len(line), batch


def ingest(lines, storage, hooks=(), progress=None, summary=None):
    """Store every non-blank line of ``lines`` (bytes); the Summary.

    Stops at the first bad line (BadLine) or storage failure
    (StorageError); what came before stays stored and is counted in
    ``summary``. One thread: parsing the next line in a worker while the
    current one is stored measured 1.4 s instead of 0.84 s per 100k points
    on SQLite (the two fought over the GIL more than they overlapped; that
    was before runtime.tune_interpreter shortened the GIL handoffs).
    """
    summary = Summary() if summary is None else summary
    lines = iter(lines)
    first = next(lines, None)  # the clock starts when input does
    started = time.perf_counter()
    try:
        if first is not None:
            for number, line in enumerate(itertools.chain([first], lines), 1):
                size, batch = prepare(number, line, hooks)
                if batch is not None:
                    storage.push(batch)
                    summary.lines += 1
                    summary.points += len(batch)
                if progress is not None:
                    progress(size, summary)
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


@contextlib.contextmanager
def progress_bar(total_bytes):
    """A callback drawing progress on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich import progress as rich_progress  # only worth importing here
    columns = [rich_progress.TextColumn('{task.fields[points]} points'),
               rich_progress.BarColumn(),
               rich_progress.TransferSpeedColumn(),
               rich_progress.TimeElapsedColumn()]
    with rich_progress.Progress(*columns, transient=True,
                                console=_stderr_console()) as bar:
        task = bar.add_task('ingest', total=total_bytes, points=0)

        def advance(size, summary):
            bar.update(task, advance=size, points=summary.points)
        yield advance


def _stderr_console():
    from rich import console
    return console.Console(stderr=True)


@contextlib.contextmanager
def open_input(name):
    """(lines, size in bytes or None) of a file name or '-'."""
    if name == '-':
        yield sys.stdin.buffer, None
        return
    with open(name, 'rb') as stream:
        yield stream, os.fstat(stream.fileno()).st_size


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='ratekeeper-ingest',
        description='Store CloudKitty dataframes (one {"dataframes": [...]} '
                    'document per line) in the configured storage.')
    parser.add_argument('input', metavar='FILE|-',
                        help='the input file, or - for standard input')
    parser.add_argument('--config-file', action='append', default=[],
                        help='a configuration file (repeatable)')
    parser.add_argument('--rate', action='store_true',
                        help='price every point with the enabled rating '
                             'modules before storing it (sent prices are '
                             'replaced), as POST /v2/dataframes?rate=true')
    return parser.parse_args(argv)


def rating_hook(conf):
    """A hook pricing each batch with the enabled rating modules."""
    from ratekeeper import rating
    registry = rating.get_registry(conf)
    return registry.rate


def main(argv=None, hooks=()):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    conf = rk_conf.load([], config_files=args.config_file)
    if args.rate:
        hooks = tuple(hooks) + (rating_hook(conf),)
    try:
        storage = rk_storage.get_storage(conf)
    except storage_v2.StorageError as exc:
        print('ratekeeper-ingest: storage unavailable: %s' % exc,
              file=sys.stderr)
        return EXIT_STORAGE_ERROR
    runtime.tune_interpreter()
    summary = Summary()
    try:
        with open_input(args.input) as (lines, size), \
                progress_bar(size) as progress:
            ingest(lines, storage, hooks, progress, summary)
        return 0
    except OSError as exc:
        print('ratekeeper-ingest: %s' % exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except BadLine as exc:
        print('ratekeeper-ingest: %s; nothing of that line was stored'
              % exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except errors.APIError as exc:  # a point rating cannot price
        print('ratekeeper-ingest: %s; nothing of that line was stored'
              % exc.message, file=sys.stderr)
        return EXIT_BAD_INPUT
    except storage_v2.StorageError as exc:
        print('ratekeeper-ingest: storage failed: %s; nothing of line %d '
              'was stored' % (exc, summary.lines + 1), file=sys.stderr)
        return EXIT_STORAGE_ERROR
    finally:
        storage.close()
        print(summary)


if __name__ == '__main__':
    sys.exit(main())
