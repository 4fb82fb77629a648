"""CloudKitty dataframes: parsed into one columnar batch, and back.

The wire form (POST /v2/dataframes, GET /v2/dataframes)::

    {"period": {"begin": iso, "end": iso},
     "usage": {"<type>": [{"vol": {"unit": str, "qty": number},
                           "rating": {"price": number},      # optional
                           "groupby": {...}, "metadata": {...},
                           "description": str}]}}  # optional

``description`` is the metric's description (metrics.yml): CloudKitty
meant it to travel with each point into storage but lost it (its bug B9);
ratekeeper keeps it, and shows it where a point is read back (only when
the point has one, so points without keep CloudKitty's exact shape).

Parsing builds a :class:`PointBatch`, one list per column, because storage
writes and rating work on whole columns. The point-level checks are written
out here rather than as a per-point voluptuous schema: they run for every
point of every ingest, and this loop is what makes ingest fast.
"""
import dataclasses
import datetime
import functools
import math

import orjson

from ratekeeper import errors

MAX_KEY_LENGTH = 255
# Storage sums quantities and prices as exact decimals with 12 places
# (DECIMAL(38, 12) on DuckDB, NUMERIC(30, 12) rollups on SQL): bounding
# each value keeps the sums of a whole deployment representable. One
# stored 1e30 used to make every later summary fail.
MAX_MAGNITUDE = 1e15
MAX_TYPE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 4096
# Periods end in year 9998 at the latest: a summary by time adds a collect
# period to a point's begin, which must stay a datetime.
LATEST_END = datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc)
NUMBER_TYPES = (float, int)


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
    # each point's description (str or None), or empty when no point has
    # one: producers that know of none need not fill it
    description: list = dataclasses.field(default_factory=list)
    # indexes of the points sent without a rating (priced at 0 so far)
    unrated: list = dataclasses.field(default_factory=list)

    def __len__(self):
        return len(self.qty)

    def descriptions(self):
        """The description column, one entry per point (None: none)."""
        column = self.description
        if not column:
            return [None] * len(self)
        if len(column) != len(self):
            raise ValueError('%d descriptions for %d points'
                             % (len(column), len(self)))
        return column

    @functools.cached_property
    def groupby_keys(self):
        return frozenset().union(*self.groupby)

    @functools.cached_property
    def metadata_keys(self):
        return frozenset().union(*self.metadata)


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
    try:
        return parsed.astimezone(datetime.timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-05:00, 0001-01-01T00:00+01:00
        raise ValueError('date out of range %r' % value[:64]) from None


def _number(value, path):
    if type(value) in NUMBER_TYPES:
        return value
    # float() also reads other scripts' digits and '1_000'
    if isinstance(value, str) and value.isascii() and '_' not in value:
        try:
            return float(value)
        except ValueError:
            pass
    raise InvalidDataframe('not a number', path)


def text(value):
    """How an attribute value is stored: tags are text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # nested deeper than orjson writes (255)
            raise errors.InvalidInput(
                'Attribute values may nest at most 255 levels.') from None
    return str(value)


def text_column(values):
    """Attribute values as text, None kept (absent)."""
    return [None if v is None else text(v) for v in values]


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
    if end > LATEST_END:
        raise InvalidDataframe('a period must end by %s'
                               % LATEST_END.isoformat(), path + '.period')
    return begin, end


def _description(point, where):
    """A sent point's description: a string (or null, none); ratekeeper
    accepts the key CloudKitty's own output never carried, so that what
    GET /v2/dataframes returns can be pushed again."""
    description = point.get('description')
    if description is None:
        return None
    if type(description) is not str:
        raise InvalidDataframe('description must be a string',
                               where + '.description')
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidDataframe('description longer than %d characters'
                               % MAX_DESCRIPTION_LENGTH,
                               where + '.description')
    return description


def _checked_point(point, where):
    """(unit, qty, price, groupby, metadata) of a point that failed the fast
    path: converted when it is only unusual (numbers sent as strings),
    else an InvalidDataframe saying exactly what is wrong."""
    if not isinstance(point, dict):
        raise InvalidDataframe('a point must be an object', where)
    for key in ('vol', 'groupby', 'metadata'):
        if key not in point:
            raise InvalidDataframe('malformed point: missing %s' % key, where)
    vol, rating = point['vol'], point.get('rating')
    if not isinstance(vol, dict) or 'unit' not in vol or 'qty' not in vol:
        raise InvalidDataframe('vol must have unit and qty', where + '.vol')
    if not isinstance(vol['unit'], str):
        raise InvalidDataframe('unit must be a string', where + '.vol.unit')
    if rating is not None and not isinstance(rating, dict):
        raise InvalidDataframe('rating must be an object', where + '.rating')
    for key in ('groupby', 'metadata'):
        if not isinstance(point[key], dict):
            raise InvalidDataframe('expected an object', where + '.' + key)
    price = 0 if rating is None else rating.get('price', 0)
    return (vol['unit'], _number(vol['qty'], where + '.vol.qty'),
            _number(price, where + '.rating.price'),
            point['groupby'], point['metadata'])


def _add_points(batch, begin, end, metric_type, points, path):
    """Append a type's points. The loop body is the ingest hot path: it
    checks types inline and leaves the explanations to _checked_point."""
    if not isinstance(points, list):
        raise InvalidDataframe('expected a list of points', path)
    qty_column, price_column = batch.qty, batch.price
    unit_column, groupby_column = batch.unit, batch.groupby
    metadata_column = batch.metadata
    first = len(qty_column)
    descriptions = None
    for i, point in enumerate(points):
        try:
            vol = point['vol']
            unit, qty = vol['unit'], vol['qty']
            rating = point.get('rating')
            if rating is None:
                batch.unrated.append(first + i)
                price = 0
            else:
                price = rating.get('price', 0)
            groupby, metadata = point['groupby'], point['metadata']
            usual = (type(qty) in NUMBER_TYPES
                     and type(price) in NUMBER_TYPES
                     and type(unit) is str and type(groupby) is dict
                     and type(metadata) is dict)
        except (KeyError, TypeError, AttributeError):
            usual = False
        if not usual:
            unit, qty, price, groupby, metadata = _checked_point(
                point, '%s[%d]' % (path, i))
        qty_column.append(qty)
        price_column.append(price)
        unit_column.append(unit)
        groupby_column.append(groupby)
        metadata_column.append(metadata)
        if 'description' in point:
            if descriptions is None:
                descriptions = {}
            descriptions[first + i] = _description(
                point, '%s[%d]' % (path, i))
    count = len(points)
    if descriptions:
        _add_descriptions(batch, first, descriptions)
    batch.begin.extend([begin] * count)
    batch.end.extend([end] * count)
    batch.type.extend([metric_type] * count)


def _add_descriptions(batch, first, descriptions):
    """Set the descriptions of the points from ``first`` on, the column
    filled with None for the points before (it is empty until a point
    has a description)."""
    column = batch.description
    column.extend([None] * (len(batch) - len(column)))
    for index, description in descriptions.items():
        column[index] = description


def check_numbers(column, name):
    """Raise InvalidDataframe for the first value of ``column`` that is not
    finite or not within +-MAX_MAGNITUDE."""
    try:
        if all(map(math.isfinite, column)) and (
                not column or (max(column) < MAX_MAGNITUDE
                               and min(column) > -MAX_MAGNITUDE)):
            return
    except OverflowError:
        pass
    for index, value in enumerate(column):
        if not _is_finite(value):
            raise InvalidDataframe('not a finite number',
                                   'point %d %s' % (index, name))
        if abs(value) >= MAX_MAGNITUDE:
            raise InvalidDataframe(
                'out of range: values must lie strictly between -%.0e '
                'and %.0e' % (MAX_MAGNITUDE, MAX_MAGNITUDE),
                'point %d %s' % (index, name))


def _is_finite(value):
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_keys(keys):
    for key in keys:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise InvalidDataframe('attribute keys must have 1 to %d '
                                   'characters' % MAX_KEY_LENGTH,
                                   'key %r' % key[:64])


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
    if batch.description:
        batch.description.extend([None] * (len(batch)
                                           - len(batch.description)))
    check_numbers(batch.qty, 'vol.qty')
    check_numbers(batch.price, 'rating.price')
    _check_keys(batch.groupby_keys)
    _check_keys(batch.metadata_keys)
    return batch


def frames_from_rows(rows):
    """Regroup stored points into wire frames, keeping the rows' order.

    ``rows`` yields (begin, end, type, unit, qty, price, groupby, metadata,
    description) with aware datetimes; frames come out in order of first
    appearance. A point has a ``description`` key only when it has one.
    """
    frames = {}
    for (begin, end, metric_type, unit, qty, price, groupby, metadata,
         description) in rows:
        frame = frames.get((begin, end))
        if frame is None:
            frame = frames[(begin, end)] = {
                'period': {'begin': begin.isoformat(),
                           'end': end.isoformat()},
                'usage': {}}
        point = {'vol': {'unit': unit, 'qty': qty},
                 'rating': {'price': price},
                 'groupby': groupby,
                 'metadata': metadata}
        if description is not None:
            point['description'] = description
        frame['usage'].setdefault(metric_type, []).append(point)
    for frame in frames.values():
        frame['usage'] = dict(sorted(frame['usage'].items()))
    return list(frames.values())
