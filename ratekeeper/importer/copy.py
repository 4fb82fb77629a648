"""The resumable copy of rated points from a source into a storage, and the
comparison of totals that ends it.

Resuming: sources yield points in order of period begin, so once a batch
is stored every point beginning before the batch's last begin is stored.
That moment is kept in a checkpoint file (written atomically) after each
batch. A run that finds an unfinished checkpoint first deletes what the
target holds from that moment to the end of the window (the part of a
batch an interruption may have left), then reads the source again from
there: nothing is missing, nothing is counted twice.

A run without a checkpoint refuses a target that already holds points in
the window (it would double them).
"""
import dataclasses
import datetime
import hashlib
import json
import os
import sys

from ratekeeper.importer import ImportRefused
from ratekeeper.importer import sources

DEFAULT_BATCH = 10000
# Sums are compared to this relative precision: the storages sum doubles
# or 12-decimal numbers, CloudKitty's SQL sums doubles or NUMERIC(15, 5).
RELATIVE_TOLERANCE = 1e-9


class Checkpoint:
    """Progress of one copy (source, target, window) in a JSON file."""

    def __init__(self, directory, source, target, begin, end):
        key = json.dumps([source, target, begin.isoformat(),
                          end.isoformat()])
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.path = os.path.join(directory, 'import-%s.json' % digest)
        self.key = key
        self.state = self._read()

    def _read(self):
        try:
            with open(self.path, encoding='utf-8') as stream:
                return json.load(stream)
        except FileNotFoundError:
            return None

    @property
    def position(self):
        """Every point beginning before this moment is stored; None when
        no run started."""
        if self.state is None:
            return None
        return datetime.datetime.fromisoformat(self.state['stored_before'])

    @property
    def finished(self):
        return bool(self.state and self.state['finished'])

    def save(self, stored_before, finished=False):
        self.state = {'key': self.key, 'finished': finished,
                      'stored_before': stored_before.isoformat()}
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        temporary = self.path + '.tmp'
        with open(temporary, 'w', encoding='utf-8') as stream:
            json.dump(self.state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, self.path)


@dataclasses.dataclass
class Outcome:
    points: int = 0
    resumed_from: datetime.datetime = None
    already_done: bool = False


def _has_points(storage, begin, end):
    return storage.retrieve(begin, end, limit=1)['total'] > 0


def check_target(storage, checkpoint, begin, end):
    """Refuse a fresh copy into a target holding points in the window."""
    if checkpoint.position is None and _has_points(storage, begin, end):
        raise ImportRefused(
            'the target storage already holds rated data between %s and %s:'
            ' importing would count it twice (delete it, or choose another'
            ' window with --begin/--end)' % (begin.isoformat(),
                                             end.isoformat()))


def progress_bar(total, description):
    """A tqdm bar on stderr, drawn only when it is a terminal."""
    from tqdm import tqdm
    return tqdm(total=total, desc=description, unit=' points',
                unit_scale=True, disable=not sys.stderr.isatty(),
                file=sys.stderr)


def copy(source, storage, checkpoint, begin, end, total_points=None,
         batch_size=DEFAULT_BATCH):
    """Copy the source's points of [begin, end) into ``storage``."""
    outcome = Outcome()
    if checkpoint.finished:
        outcome.already_done = True
        return outcome
    start = checkpoint.position or begin
    if checkpoint.position is not None:
        outcome.resumed_from = start
        storage.delete(start, end)
    else:
        checkpoint.save(begin)
    with progress_bar(total_points, 'copy') as bar:
        for batch in source.batches(start, end, batch_size):
            storage.push(batch)
            checkpoint.save(batch.begin[-1])
            outcome.points += len(batch)
            bar.update(len(batch))
    checkpoint.save(end, finished=True)
    return outcome


def _close(left, right):
    return abs(left - right) <= RELATIVE_TOLERANCE * max(
        1.0, abs(left), abs(right))


@dataclasses.dataclass
class Comparison:
    rows: list  # (month, scope, type, source qty, target qty,
    #              source price, target price, equal)

    @property
    def differences(self):
        return [row for row in self.rows if not row[-1]]

    def table(self):
        header = ('month', 'scope', 'type', 'source qty', 'target qty',
                  'source price', 'target price', '')
        lines = [header] + [
            (month, scope, kind, _number(sq), _number(tq), _number(sp),
             _number(tp), 'ok' if equal else 'DIFFERENT')
            for month, scope, kind, sq, tq, sp, tp, equal in self.rows]
        widths = [max(len(line[i]) for line in lines)
                  for i in range(len(header))]
        return '\n'.join('  '.join(cell.ljust(width) for cell, width
                                   in zip(line, widths)).rstrip()
                         for line in lines)


def _number(value):
    return '%.10g' % value


def compare(source_totals, target_totals):
    rows = []
    for key in sorted(set(source_totals) | set(target_totals)):
        sq, sp = source_totals.get(key, (0.0, 0.0))
        tq, tp = target_totals.get(key, (0.0, 0.0))
        rows.append(key + (sq, tq, sp, tp, _close(sq, tq) and _close(sp, tp)))
    return Comparison(rows)


def target_totals(storage, conf, begin, end):
    return sources.storage_totals(storage, begin, end,
                                  conf.collect.scope_key)
