"""CloudKitty dataframes: parsed into one columnar batch, and back.

The wire form (POST /v2/dataframes, GET /v2/dataframes)::

    {"period": {"begin": iso, "end": iso},
     "usage": {"<type>": [{"vol": {"unit": str, "qty": number},
                           "rating": {"price": number},      # optional
                           "groupby": {...}, "metadata": {...}}]}}

Parsing builds a :class:`PointBatch`, one list per column, because storage
writes and rating work on whole columns. The point-level checks are written
out here rather than as a per-point voluptuous schema: they run for every
point of every ingest, and this loop is what makes ingest fast.
"""
import dataclasses
import datetime
import math

import orjson

MAX_KEY_LENGTH = 255
MAX_TYPE_LENGTH = 255


class InvalidDataframe(ValueError):
    """A dataframe that cannot be stored; ``path`` says where."""

    def __init__(self, reason, path):
        super().__init__('%s (path: %s)' % (reason, path))
        self.reason = reason
        self.path = path


@dataclasses.dataclass
class PointBatch:
    """Points as columns; index i of every list describes point i."""

    begin: list = dataclasses.field(default_factory=list)
    end: list = dataclasses.field(default_factory=list)
    type: list = dataclasses.field(default_factory=list)
    unit: list = dataclasses.field(default_factory=list)
    qty: list = dataclasses.field(default_factory=list)
    price: list = dataclasses.field(default_factory=list)
    groupby: list = dataclasses.field(default_factory=list)
    metadata: list = dataclasses.field(default_factory=list)

    def __len__(self):
        return len(self.qty)

    def groupby_keys(self):
        return _keys_of(self.groupby)

    def metadata_keys(self):
        return _keys_of(self.metadata)


def _keys_of(dicts):
    keys = set()
    last = None
    for d in dicts:
        if d is not last:  # points of one resource often share a dict
            keys.update(d)
            last = d
    return keys


def parse_datetime(value):
    """An ISO 8601 string (basic or extended, 'T' or space) as aware UTC.

    A value without an offset is taken as UTC. Raises ValueError.
    """
    if not isinstance(value, str):
        raise ValueError('expected an ISO 8601 date string')
    text = value.strip()
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError('unparsable date %r' % value[:64]) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def _number(value, path):
    if type(value) is float or type(value) is int:
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise InvalidDataframe('not a number', path) from None
    else:
        raise InvalidDataframe('not a number', path)
    if not math.isfinite(number):
        raise InvalidDataframe('not a finite number', path)
    return number


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _attributes(value, path):
    """A groupby/metadata dict with text values (as tags are stored)."""
    if not isinstance(value, dict):
        raise InvalidDataframe('expected an object', path)
    for key, item in value.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidDataframe(
                'keys must have 1 to %d characters' % MAX_KEY_LENGTH, path)
        if not isinstance(item, str):
            return {k: _text(v) for k, v in value.items() if v is not None}
    return value


def _period(frame, path):
    period = frame.get('period')
    if not isinstance(period, dict):
        raise InvalidDataframe('missing period', path + '.period')
    try:
        begin = parse_datetime(period['begin'])
        end = parse_datetime(period['end'])
    except KeyError as missing:
        raise InvalidDataframe('missing %s' % missing, path + '.period')
    except ValueError as exc:
        raise InvalidDataframe(str(exc), path + '.period') from None
    if end <= begin:
        raise InvalidDataframe('end must be after begin', path + '.period')
    return begin, end


def _add_points(batch, begin, end, metric_type, points, path):
    if not isinstance(points, list):
        raise InvalidDataframe('expected a list of points', path)
    for i, point in enumerate(points):
        where = '%s[%d]' % (path, i)
        try:
            vol = point['vol']
            unit = vol['unit']
            qty = vol['qty']
            groupby = point['groupby']
            metadata = point['metadata']
        except (KeyError, TypeError) as exc:
            raise InvalidDataframe('malformed point: missing %s' % exc,
                                   where) from None
        price = _price_of(point.get('rating'), where)
        if not isinstance(unit, str):
            raise InvalidDataframe('unit must be a string', where + '.vol')
        batch.qty.append(_number(qty, where + '.vol.qty'))
        batch.price.append(_number(price, where + '.rating.price'))
        batch.unit.append(unit)
        batch.groupby.append(_attributes(groupby, where + '.groupby'))
        batch.metadata.append(_attributes(metadata, where + '.metadata'))
    count = len(points)
    batch.begin.extend([begin] * count)
    batch.end.extend([end] * count)
    batch.type.extend([metric_type] * count)


def _price_of(rating, where):
    if rating is None:
        return 0
    if not isinstance(rating, dict):
        raise InvalidDataframe('rating must be an object', where + '.rating')
    return rating.get('price', 0)


def parse_dataframes(frames):
    """Validate the ``dataframes`` list of a request into one PointBatch.

    Raises InvalidDataframe naming the first bad place; nothing is partial.
    """
    if not isinstance(frames, list):
        raise InvalidDataframe('expected a list of dataframes', 'dataframes')
    if not frames:
        raise InvalidDataframe('Parameter dataframes must not be empty.',
                               'dataframes')
    batch = PointBatch()
    for i, frame in enumerate(frames):
        path = 'dataframes[%d]' % i
        if not isinstance(frame, dict):
            raise InvalidDataframe('expected an object', path)
        extra = set(frame) - {'period', 'usage'}
        if extra:
            raise InvalidDataframe('extra keys not allowed: %s'
                                   % ', '.join(sorted(extra)), path)
        begin, end = _period(frame, path)
        usage = frame.get('usage')
        if not isinstance(usage, dict):
            raise InvalidDataframe('missing usage', path + '.usage')
        for metric_type, points in usage.items():
            if not metric_type or len(metric_type) > MAX_TYPE_LENGTH:
                raise InvalidDataframe('bad metric type name', path + '.usage')
            _add_points(batch, begin, end, metric_type, points,
                        '%s.usage.%s' % (path, metric_type))
    return batch


def frames_from_rows(rows):
    """Regroup stored points into wire frames, keeping the rows' order.

    ``rows`` yields (begin, end, type, unit, qty, price, groupby, metadata)
    with aware datetimes; frames come out in order of first appearance.
    """
    frames = {}
    for begin, end, metric_type, unit, qty, price, groupby, metadata in rows:
        frame = frames.get((begin, end))
        if frame is None:
            frame = frames[(begin, end)] = {
                'period': {'begin': begin.isoformat(),
                           'end': end.isoformat()},
                'usage': {}}
        frame['usage'].setdefault(metric_type, []).append({
            'vol': {'unit': unit, 'qty': qty},
            'rating': {'price': price},
            'groupby': groupby,
            'metadata': metadata})
    for frame in frames.values():
        frame['usage'] = dict(sorted(frame['usage'].items()))
    return list(frames.values())
