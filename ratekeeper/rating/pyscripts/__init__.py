"""pyscripts: prices computed by operators' Python scripts, CloudKitty's
PyScripts module, run in confined worker processes (see worker.py).

A script sees what CloudKitty gives it: a global ``data``, the mutable dict
form of one dataframe, ``{"period": {"begin", "end"}, "usage": {type:
[{"vol": {"unit", "qty"}, "rating": {"price"}, "groupby", "metadata"}]}}``
with Decimal quantities and prices, already priced by the modules of
higher priority; it changes prices in place (or rebinds ``data``). As in
CloudKitty's processor, a frame is one period of one scope, and the scripts
that run on it are those active at the period's begin.

Here a whole batch goes to a worker in one request, frame after frame, so
the cost per point is a few microseconds, not a process round trip.
"""
import datetime
import decimal
import functools
import math

from ratekeeper import dataframe
from ratekeeper import rating
from ratekeeper.rating import revisions
from ratekeeper.rating import validity
from ratekeeper.rating.pyscripts import sandbox
from ratekeeper.rating.pyscripts import scripts

POINTS_PER_REQUEST = 10000


class LoadedScript:
    __slots__ = ('script_id', 'name', 'checksum', 'data', 'start', 'end',
                 'deleted')

    def __init__(self, script_id, name, checksum, data, start, end):
        self.script_id, self.name, self.checksum = script_id, name, checksum
        self.data, self.start, self.end = data, start, end
        self.deleted = None


def _load_scripts(conf):
    revision, rows = scripts.load_live(conf)
    return revision, [LoadedScript(*row) for row in rows]


class PyScripts(rating.RatingModule):
    name = 'pyscripts'
    description = 'PyScripts rating module.'
    hot_config = True

    def __init__(self, conf):
        super().__init__(conf)
        self._scripts = revisions.Cache(scripts.REVISIONS, conf,
                                        _load_scripts)

    def current_scripts(self):
        """The live scripts (see rating.revisions)."""
        return self._scripts.get()

    def reload(self):
        self._scripts.clear()

    # -- pricing --------------------------------------------------------------

    def process(self, batch, tenant_scoped=True):
        results = self._run(batch, batch.price)
        if results is not None:
            prices = list(batch.price)
            for index, price, changes in results:
                prices[index] = _float_price(price, index)
                if changes:
                    _apply_changes(batch, index, changes)
            batch.price = prices
        return batch

    def quote(self, batch):
        return []

    def quote_into(self, batch, prices):
        results = self._run(batch, prices)
        if results is None:
            return prices
        prices = list(prices)
        for index, price, _changes in results:
            prices[index] = _decimal_price(price, index)
        return prices

    def _run(self, batch, prices):
        """[(point index, price text, changes or None)] of the points some
        script ran on; None when no script is active for any."""
        live = self.current_scripts()
        if not live or not len(batch):
            return None
        frames, placements, used = self._frames(batch, prices, live)
        if not frames:
            return None
        names = {s.script_id: s.name for s in live if s.script_id in used}
        sources = [[s.script_id, s.name, s.data] for s in live
                   if s.script_id in used]
        pool = sandbox.get_pool(self.conf)
        results = []
        for start, stop in _chunks(frames):
            results += pool.call(
                {'op': 'run', 'frames': frames[start:stop],
                 'scripts': sources}, names,
                functools.partial(_results, placements=placements[start:stop],
                                  names=names))
        return results

    def _frames(self, batch, prices, live):
        """The batch cut as CloudKitty's processor cuts data: one frame per
        (period, scope); points of types in sorted order."""
        frames, placements, used = [], [], set()
        qtys, prices = _texts(batch.qty), _texts(prices)
        units, groupbys, metadatas = batch.unit, batch.groupby, \
            batch.metadata
        for (begin, end, _scope), by_type in self._grouped(batch).items():
            moment = _naive(begin)
            active = [s.script_id for s in live
                      if validity.is_active(s, moment)]
            if not active:
                continue
            used.update(active)
            frames.append({
                'begin': begin.isoformat(), 'end': end.isoformat(),
                'scripts': active,
                'usage': {type_: [[units[i], qtys[i], prices[i],
                                   groupbys[i], metadatas[i]]
                                  for i in indexes]
                          for type_, indexes in by_type.items()}})
            placements.append(by_type)
        return frames, placements, used

    def _grouped(self, batch):
        """{(begin, end, scope): {type: [point indexes]}}."""
        scope_key = self.conf.collect.scope_key
        metadatas = batch.metadata
        grouped = {}
        for index, (begin, end, type_, groupby) in enumerate(zip(
                batch.begin, batch.end, batch.type, batch.groupby)):
            scope = groupby.get(scope_key)
            if scope is None:
                scope = metadatas[index].get(scope_key)
            if type(scope) is not str:
                scope = _hashable(scope)
            by_type = grouped.get((begin, end, scope))
            if by_type is None:
                by_type = grouped[(begin, end, scope)] = {}
            indexes = by_type.get(type_)
            if indexes is None:
                by_type[type_] = [index]
            else:
                indexes.append(index)
        return grouped


def _chunks(frames):
    """(start, stop) of runs of whole frames of about
    POINTS_PER_REQUEST points: what a worker holds at once stays well
    within its memory limit, whatever the batch."""
    start, points = 0, 0
    for index, frame in enumerate(frames):
        points += sum(len(p) for p in frame['usage'].values())
        if points >= POINTS_PER_REQUEST:
            yield start, index + 1
            start, points = index + 1, 0
    if start < len(frames):
        yield start, len(frames)


def _texts(numbers):
    """Quantities or prices as the text of the exact value CloudKitty's
    Decimal(str(float)) reads."""
    return [repr(n) if type(n) is float else str(n) for n in numbers]


def _hashable(value):
    return value if isinstance(value, (str, int, float, type(None))) \
        else repr(value)


def _naive(moment):
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def _failure(answer, names):
    name = names.get(answer.get('script')) or ', '.join(sorted(
        names.values()))
    return sandbox.ScriptFailed('PyScript %s (%s) failed: %s' % (
        name, answer.get('script') or 'worker', answer['error']))


def _results(answer, placements, names):
    """[(index, price text, changes or None)] from the worker's answer,
    which is read as untrusted input: a script that reached fd 1 could
    have written it."""
    if answer.get('error'):
        raise _failure(answer, names)
    try:
        frames = answer['frames']
        if len(frames) != len(placements):
            raise ValueError('wrong number of frames')
        results = []
        for frame, by_type in zip(frames, placements):
            for type_, indexes in by_type.items():
                points = frame[type_]
                if len(points) != len(indexes):
                    raise ValueError('wrong number of points')
                results.extend(_point_answer(index, point)
                               for index, point in zip(indexes, points))
        return results
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise sandbox.ScriptFailed(
            'PyScript %s: the worker answered nonsense (%s).'
            % (', '.join(sorted(names.values())), exc)) from None


def _point_answer(index, point):
    price = point[0]
    if type(price) is not str:
        raise ValueError('a price is not text')
    if len(point) == 1:
        return index, price, None
    changes = point[1]
    if type(changes['unit']) is not str or type(changes['qty']) is not str \
            or type(changes['groupby']) is not dict \
            or type(changes['metadata']) is not dict:
        raise ValueError('a changed point is malformed')
    return index, price, changes


def _decimal_price(text, index):
    try:
        price = decimal.Decimal(text)
    except decimal.InvalidOperation:
        price = decimal.Decimal('NaN')
    if not price.is_finite() or price.copy_abs() >= dataframe.MAX_MAGNITUDE:
        raise rating.PriceOutOfRange('A pyscript priced point %d %s.'
                                     % (index, text[:64]))
    return price


def _float_price(text, index):
    try:
        price = float(text)
    except ValueError:
        price = math.nan
    if not math.isfinite(price):
        raise rating.PriceOutOfRange('A pyscript priced point %d %s.'
                                     % (index, text[:64]))
    return price


def _apply_changes(batch, index, changes):
    """A script changed a point's unit, quantity or attributes: keep that,
    as CloudKitty stores what the script left."""
    try:
        qty = float(changes['qty'])
        dataframe.check_numbers([qty], 'qty')
    except ValueError as exc:
        raise sandbox.ScriptFailed('A pyscript set the quantity of point %d '
                                   'to %s: %s.' % (index, changes['qty'][:64],
                                                   exc)) from None
    batch.unit[index] = str(changes['unit'])
    batch.qty[index] = decimal.Decimal(changes['qty']) \
        if isinstance(batch.qty[index], decimal.Decimal) else qty
    batch.groupby[index] = {str(k): v for k, v in changes['groupby'].items()}
    batch.metadata[index] = {str(k): v
                             for k, v in changes['metadata'].items()}
    for cached in ('groupby_keys', 'metadata_keys'):
        batch.__dict__.pop(cached, None)
