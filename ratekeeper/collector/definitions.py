"""metrics.yml as the processor applies it: one MetricDefinition per
(metric, alt_name), with its quantity conversion.

CloudKitty's semantics: an entry is a dict or a non-empty list of dicts
(one backend metric rated under several names); the rating type is
``alt_name`` (default: the metric name); ``[collect] scope_key`` is added to
every groupby; the quantity is ``value * factor + offset`` then ``mutate``.
Unlike CloudKitty, quantities are computed exactly (no rounding to 9
digits), two definitions giving one rating type are refused at start
instead of one silently dropping the other's points, and a MAP without
its mutate_map is refused instead of turning every quantity into 0.
"""
import dataclasses
import decimal
import fractions
import math

import voluptuous as vol

from ratekeeper import metrics as metrics_file

MUTATORS = ('NONE', 'NUMBOOL', 'NOTNUMBOOL', 'FLOOR', 'CEIL', 'MAP')
_NAME = vol.All(str, vol.Length(min=1))
_NUMBER = vol.Any(int, float, vol.Coerce(fractions.Fraction))
METRIC_SCHEMA = vol.Schema({
    vol.Optional('description'): _NAME,
    vol.Required('unit'): _NAME,
    vol.Required('factor', default=1): _NUMBER,
    vol.Required('offset', default=0): _NUMBER,
    vol.Optional('alt_name'): _NAME,
    vol.Required('groupby', default=list): [_NAME],
    vol.Required('metadata', default=list): [_NAME],
    vol.Required('mutate', default='NONE'): vol.In(MUTATORS),
    vol.Optional('mutate_map'): dict,
    vol.Optional('extra_args'): dict,
    vol.Optional('skip_datapoints_expression'): _NAME,
})
# Enough digits that value * factor + offset is exact for any double and
# any factor a person writes; storage keeps doubles.
EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
ALT_NAME_SEPARATOR = '@#'


class InvalidConfiguration(Exception):
    """metrics.yml cannot be applied; the message names the metric and
    the key."""


@dataclasses.dataclass(frozen=True)
class MetricDefinition:
    key: str                # name, or name@#alt_name (CloudKitty's key)
    name: str               # the backend's metric name
    alt_name: str           # the rating type of its points
    unit: str
    factor: decimal.Decimal
    offset: decimal.Decimal
    groupby: tuple
    metadata: tuple
    mutate: str = 'NONE'
    mutate_map: tuple = ()  # ((Decimal key, Decimal value), ...)
    description: str = None
    extra_args: dict = dataclasses.field(default_factory=dict)
    skip_expression: str = None

    def quantity(self, value):
        """The quantity of a raw sample value (a string or number), exact;
        None for NaN and infinities, which are never stored."""
        raw = decimal.Decimal(value) if isinstance(value, str) \
            else decimal.Decimal(repr(value))
        if not raw.is_finite():
            return None
        qty = EXACT.add(EXACT.multiply(raw, self.factor), self.offset)
        return _MUTATORS[self.mutate](qty, self)


def _map(qty, definition):
    for key, value in definition.mutate_map:
        if key == qty:
            return value
    return decimal.Decimal(0)


_MUTATORS = {
    'NONE': lambda qty, _definition: qty,
    'NUMBOOL': lambda qty, _definition: decimal.Decimal(int(qty != 0)),
    'NOTNUMBOOL': lambda qty, _definition: decimal.Decimal(int(qty == 0)),
    'FLOOR': lambda qty, _definition: decimal.Decimal(math.floor(qty)),
    'CEIL': lambda qty, _definition: decimal.Decimal(math.ceil(qty)),
    'MAP': _map,
}


def _exact(number):
    """An int, float or Fraction from the schema, as an exact Decimal."""
    if isinstance(number, fractions.Fraction):
        return EXACT.divide(decimal.Decimal(number.numerator),
                            decimal.Decimal(number.denominator))
    return decimal.Decimal(repr(number)) if isinstance(number, float) \
        else decimal.Decimal(number)


def _mutate_map(name, entry):
    if entry['mutate'] != 'MAP':
        return ()
    mapping = entry.get('mutate_map')
    if not mapping:
        raise InvalidConfiguration(
            'metric %s: key mutate_map: mutate MAP needs a non-empty '
            'mutate_map' % name)
    pairs = []
    for key, value in mapping.items():
        try:
            pairs.append((_exact(key if not isinstance(key, str)
                                 else fractions.Fraction(key)),
                          _exact(value if not isinstance(value, str)
                                 else fractions.Fraction(value))))
        except (ValueError, TypeError, ZeroDivisionError):
            raise InvalidConfiguration(
                'metric %s: key mutate_map: %r: %r is not a number to '
                'number mapping' % (name, key, value)) from None
    return tuple(pairs)


def _validated_entry(name, entry, extra_args_schema):
    try:
        entry = METRIC_SCHEMA(entry)
    except vol.MultipleInvalid as exc:
        raise InvalidConfiguration('metric %s: key %s: %s' % (
            name, '.'.join(map(str, exc.path)) or '(entry)',
            exc.msg)) from None
    try:
        entry['extra_args'] = extra_args_schema(entry.get('extra_args') or {})
    except vol.MultipleInvalid as exc:
        raise InvalidConfiguration('metric %s: key extra_args.%s: %s' % (
            name, '.'.join(map(str, exc.path)), exc.msg)) from None
    shared = set(entry['groupby']) & set(entry['metadata'])
    if shared:
        raise InvalidConfiguration(
            'metric %s: key metadata: %s also in groupby'
            % (name, ', '.join(sorted(shared))))
    return entry


def _entries(name, value):
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and value and all(
            isinstance(item, dict) for item in value):
        return value
    raise InvalidConfiguration(
        'metric %s: not a dict with at least one key or a list with at '
        'least one dict' % name)


def _definition(name, entry, scope_key):
    alt_name = entry.get('alt_name') or name
    key = name if 'alt_name' not in entry else \
        name + ALT_NAME_SEPARATOR + alt_name
    groupby = list(entry['groupby'])
    if scope_key not in groupby:
        groupby.append(scope_key)
    metadata = [k for k in entry['metadata'] if k != scope_key]
    return MetricDefinition(
        key=key, name=name, alt_name=alt_name, unit=entry['unit'],
        factor=_exact(entry['factor']), offset=_exact(entry['offset']),
        groupby=tuple(groupby), metadata=tuple(metadata),
        mutate=entry['mutate'], mutate_map=_mutate_map(name, entry),
        description=entry.get('description'),
        extra_args=entry['extra_args'],
        skip_expression=entry.get('skip_datapoints_expression'))


def parse(document, scope_key, extra_args_schema=vol.Schema(dict)):
    """The definitions of a parsed metrics.yml, sorted by key; raises
    InvalidConfiguration naming the metric and the key at fault."""
    metrics = document.get('metrics') if isinstance(document, dict) else None
    if not isinstance(metrics, dict) or not metrics:
        raise InvalidConfiguration('no "metrics" mapping at the top level')
    definitions = {}
    rating_types = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name:
            raise InvalidConfiguration('metric %r: a name must be text'
                                       % (name,))
        for entry in _entries(name, value):
            entry = _validated_entry(name, entry, extra_args_schema)
            definition = _definition(name, entry, scope_key)
            if definition.key in definitions:
                raise InvalidConfiguration(
                    'metric %s: key alt_name: metric %s already exists, '
                    'give each definition its own alt_name'
                    % (name, definition.key))
            if definition.alt_name in rating_types:
                raise InvalidConfiguration(
                    'metric %s: key alt_name: %s is already the rating '
                    'type of metric %s' % (
                        name, definition.alt_name,
                        rating_types[definition.alt_name]))
            definitions[definition.key] = definition
            rating_types[definition.alt_name] = name
    return [definitions[key] for key in sorted(definitions)]


def load(conf, extra_args_schema=vol.Schema(dict)):
    """The definitions of ``[collect] metrics_conf``."""
    try:
        document = metrics_file.load(conf)
    except metrics_file.Unavailable as exc:
        raise InvalidConfiguration('%s: %s' % (
            metrics_file.path_of(conf), exc.reason)) from None
    return parse(document, conf.collect.scope_key, extra_args_schema)
