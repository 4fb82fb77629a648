"""The vectorised hashmap engine: rules compiled into tables, whole
batches priced with numpy.

Which rules apply to a point depends on its period start (mapping
validity) and on its tenant (tenant rules override global ones), so the
rules are compiled once per (validity interval, tenant with own rules) and
kept until the rule revision moves. Pricing then works per (compiled rule
set, metric type) over all its points at once:

- field mappings become, per field, a value -> row dictionary and two
  (rows x groups) tables, neutral row 0 for "no match": flat costs combine
  with max (the accumulator starts at 0), rate costs with a product;
- thresholds become, per (source, group), sorted level arrays searched
  with searchsorted; the highest reached level wins, the service's first,
  then fields in name order, a later source replacing only a strictly
  higher level, exactly as CloudKitty's per-point loop does.

Arithmetic is float64. Rule costs are exact decimals in the database, and
every point's result is a product/sum of at most a few of them, so a point
differs from the Decimal reference (reference.py) by a few ulps
(~1e-15 relative); a 100k-point total by ~1e-12. Storage keeps prices as
float64 anyway, so carrying Decimals through the engine would buy nothing
but a 50x slowdown.
"""
import bisect
import dataclasses
import datetime
import decimal
import itertools
import operator
import threading

import numpy as np
import pyarrow as pa
from pyarrow import compute as pc

from ratekeeper import errors

DEFAULT_GROUP = '_DEFAULT_'


class UnpriceablePoint(errors.BadRequest):
    code = errors.RATING_FAILED


@dataclasses.dataclass
class Snapshot:
    """The rules as loaded from the database (or built by a test)."""

    revision: int
    services: dict      # service_id -> name
    fields: dict        # field_id -> (service_id, name)
    groups: dict        # group_id -> name
    mappings: list      # objects with the Mapping attributes
    thresholds: list    # objects with the Threshold attributes

    @classmethod
    def from_rows(cls, revision, services, fields, groups, mappings,
                  thresholds):
        return cls(revision, {s.service_id: s.name for s in services},
                   {f.field_id: (f.service_id, f.name) for f in fields},
                   {g.group_id: g.name for g in groups},
                   list(mappings), list(thresholds))

    def breakpoints(self):
        """Sorted moments where the set of valid mappings changes."""
        moments = {m.start for m in self.mappings if m.start is not None}
        moments.update(m.end for m in self.mappings if m.end is not None)
        return sorted(moments)

    def tenants(self):
        """Tenants that have rules of their own."""
        return {r.tenant_id for r in itertools.chain(
            self.mappings, self.thresholds) if r.tenant_id}


def load_order(rule):
    """Where several rules fill one slot, the last loaded wins: load in a
    stable order (creation, then id) so that "last" means something."""
    return (getattr(rule, 'created_at', None) or datetime.datetime.min,
            getattr(rule, 'mapping_id', None)
            or getattr(rule, 'threshold_id', ''))


def valid_at(mapping, moment):
    return (mapping.start is None or mapping.start <= moment) and \
        (mapping.end is None or mapping.end > moment)


# -- compilation --------------------------------------------------------------

@dataclasses.dataclass
class _Thresholds:
    group: int
    levels: np.ndarray
    costs: np.ndarray
    is_rate: np.ndarray
    # what the amounts are searched against: the levels for a service's
    # quantities; for a field, each level's rank among the field's levels
    # (the values are ranked exactly, as decimals)
    positions: np.ndarray


@dataclasses.dataclass
class _Field:
    name: str
    rows: dict                       # value text -> table row (0: no match)
    flat: np.ndarray                 # rows x groups
    rate: np.ndarray
    thresholds: list
    levels: list                     # the thresholds' levels, sorted

    @property
    def keys(self):
        """The mapped values, in row order (row i + 1 is keys[i])."""
        return pa.array(list(self.rows), pa.string())


@dataclasses.dataclass
class _Service:
    flat: np.ndarray                 # groups
    rate: np.ndarray
    thresholds: list
    fields: list


class _Slots:
    """CloudKitty's rule dictionaries for one service at one moment:
    group -> slot, where a tenant's rule replaces the global one in the
    same slot."""

    def __init__(self):
        self.groups = {}
        self.service_mapping = {}    # group -> (type, cost)
        self.service_thresholds = {}  # group -> {level: (type, cost)}
        self.field_mappings = {}     # field -> group -> {value: (type, cost)}
        self.field_thresholds = {}   # field -> group -> {level: ...}

    def group(self, name):
        return self.groups.setdefault(name, len(self.groups))


def _slots_for(snapshot, moment, tenant):
    services = {}
    for tenant_pass in (None, tenant) if tenant else (None,):
        mappings = sorted((m for m in snapshot.mappings
                           if m.tenant_id == tenant_pass
                           and valid_at(m, moment)), key=load_order)
        for mapping in mappings:
            _slot_mapping(snapshot, services, mapping)
        thresholds = sorted((t for t in snapshot.thresholds
                             if t.tenant_id == tenant_pass), key=load_order)
        for threshold in thresholds:
            _slot_threshold(snapshot, services, threshold)
    return services


def _owner(snapshot, rule):
    """(service name, field name or None) of a rule."""
    if rule.field_id:
        service_id, field_name = snapshot.fields[rule.field_id]
        return snapshot.services[service_id], field_name
    return snapshot.services[rule.service_id], None


def _group_name(snapshot, rule):
    return snapshot.groups.get(rule.group_id, DEFAULT_GROUP) \
        if rule.group_id else DEFAULT_GROUP


def _slot_mapping(snapshot, services, mapping):
    service, field = _owner(snapshot, mapping)
    slots = services.setdefault(service, _Slots())
    group = _group_name(snapshot, mapping)
    slots.group(group)
    entry = (mapping.map_type, float(mapping.cost))
    if field is None:
        slots.service_mapping[group] = entry
    else:
        by_group = slots.field_mappings.setdefault(field, {})
        by_group.setdefault(group, {})[mapping.value] = entry


def _slot_threshold(snapshot, services, threshold):
    service, field = _owner(snapshot, threshold)
    slots = services.setdefault(service, _Slots())
    group = _group_name(snapshot, threshold)
    slots.group(group)
    entry = (threshold.map_type, float(threshold.cost))
    target = slots.service_thresholds if field is None \
        else slots.field_thresholds.setdefault(field, {})
    target.setdefault(group, {})[threshold.level] = entry


def _threshold_tables(slots, by_group, ranks=None):
    """Per group, its thresholds by level; ``ranks`` ({level: rank}) makes
    the tables searched by rank."""
    tables = []
    for group, levels in by_group.items():
        ordered = sorted(levels.items())
        floats = np.array([float(level) for level, _ in ordered])
        tables.append(_Thresholds(
            slots.groups[group], floats,
            np.array([cost for _, (_, cost) in ordered]),
            np.array([kind == 'rate' for _, (kind, _) in ordered]),
            floats if ranks is None else np.array(
                [float(ranks[level]) for level, _ in ordered])))
    return tables


def _field_table(slots, name):
    width = len(slots.groups)
    values = {}
    for by_value in slots.field_mappings.get(name, {}).values():
        for value in by_value:
            values.setdefault(value, len(values) + 1)
    flat = np.zeros((len(values) + 1, width))
    rate = np.ones((len(values) + 1, width))
    for group, by_value in slots.field_mappings.get(name, {}).items():
        column = slots.groups[group]
        for value, (kind, cost) in by_value.items():
            if kind == 'rate':
                rate[values[value], column] = cost
            else:
                flat[values[value], column] = max(cost, 0.0)
    thresholds = slots.field_thresholds.get(name, {})
    levels = sorted({level for by_level in thresholds.values()
                     for level in by_level})
    ranks = {level: rank for rank, level in enumerate(levels, 1)}
    return _Field(name, values, flat, rate,
                  _threshold_tables(slots, thresholds, ranks), levels)


def _compile_service(slots):
    width = len(slots.groups)
    flat, rate = np.zeros(width), np.ones(width)
    for group, (kind, cost) in slots.service_mapping.items():
        if kind == 'rate':
            rate[slots.groups[group]] = cost
        else:
            flat[slots.groups[group]] = max(cost, 0.0)
    names = sorted(set(slots.field_mappings) | set(slots.field_thresholds))
    return _Service(flat, rate,
                    _threshold_tables(slots, slots.service_thresholds),
                    [_field_table(slots, name) for name in names])


def compile_rules(snapshot, moment, tenant=None):
    """{service name: compiled tables} of the rules valid at ``moment``
    (naive UTC) for ``tenant``."""
    return {name: _compile_service(slots) for name, slots
            in _slots_for(snapshot, moment, tenant).items()}


# -- pricing -----------------------------------------------------------------

# a point without the key (a key present with a null value is not absent)
ABSENT = type('Absent', (), {'__repr__': lambda self: 'ABSENT'})()


class _Columns:
    """desc[name] of selected points of a batch, as CloudKitty reads it:
    groupby wins over metadata (even with a null value), and a field a
    point does not have is skipped. itemgetter, map() and arrow keep the
    per-point work in C."""

    def __init__(self, batch):
        self.batch = batch
        keys = getattr(batch, 'groupby_keys', None)
        self._groupby_keys = keys() if callable(keys) else keys
        self._subsets = {}

    def _subset(self, column, index):
        if index is None:
            return column
        # the cache holds the index array: an id stays unique only while
        # its object lives, and pricing frees each selection's array
        key = (id(column), id(index))
        cached = self._subsets.get(key)
        if cached is None:
            subset = operator.itemgetter(*index)(column) if len(index) > 1 \
                else [column[index[0]]]
            cached = self._subsets[key] = (index, subset)
        return cached[1]

    def values(self, name, index=None):
        """The values as sent; ABSENT where a point has no such key."""
        batch = self.batch
        absent = itertools.repeat(ABSENT)
        metadata = self._subset(batch.metadata, index)
        values = list(map(dict.get, metadata, itertools.repeat(name), absent))
        if self._groupby_keys is None or name in self._groupby_keys:
            groupby = self._subset(batch.groupby, index)
            from_groupby = list(map(dict.get, groupby,
                                    itertools.repeat(name), absent))
            if from_groupby.count(ABSENT) != len(from_groupby):
                values = [m if g is ABSENT else g
                          for g, m in zip(from_groupby, values)]
        return values

    def text(self, name, index=None):
        """The values as a mapping's value is compared with them,
        str(value) ('None' for a null); null where absent."""
        values = self.values(name, index)
        if None in values:
            values = ['None' if v is None else v for v in values]
        if ABSENT in values:
            values = [None if v is ABSENT else v for v in values]
        try:
            return pa.array(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return pa.array([v if v is None or type(v) is str else str(v)
                             for v in values], pa.string())


def _codes(field, values):
    """Row of each value in the field's mapping tables (0: no mapping)."""
    found = pc.index_in(values, value_set=field.keys)
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False) \
        .astype(np.intp) + 1


def threshold_number(value, field):
    """A field's value as CloudKitty compares it with threshold levels,
    Decimal(value): text as a decimal, a JSON number exactly, true as 1.
    A value it cannot compare (text that is no number, NaN, null, a list
    or an object) makes the point unpriceable."""
    try:
        number = None if isinstance(value, (list, dict)) \
            else decimal.Decimal(value)
    except (TypeError, ValueError, decimal.InvalidOperation):
        number = None
    if number is None or number.is_nan():
        raise UnpriceablePoint(
            'Field %s has thresholds, but a point has the non-numeric '
            'value %r.' % (field, str(value)[:64]))
    return number


def _ranks(field, values):
    """(rank of each value among the field's levels, present): how many
    levels each value reaches, compared exactly; present is False where
    the point has no such key. Each distinct value is ranked once."""
    if None not in values:
        try:
            encoded = pa.array(values, pa.string()).dictionary_encode()
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # values that are not all text, or absent ones
        else:
            ranks = np.array([_rank(field, text) for text in
                              encoded.dictionary.to_pylist()] or [0.0])
            return ranks[encoded.indices.to_numpy()], \
                np.ones(len(values), dtype=bool)
    ranks = np.zeros(len(values))
    present = np.ones(len(values), dtype=bool)
    rank_of = {}  # (type, value) of the scalars ranked so far
    for i, value in enumerate(values):
        if value is ABSENT:
            present[i] = False
            continue
        key = (type(value), value) \
            if isinstance(value, (str, int, float)) else None
        rank = rank_of.get(key)
        if rank is None:
            rank = _rank(field, value)
            if key is not None:
                rank_of[key] = rank
        ranks[i] = rank
    return ranks, present


def _rank(field, value):
    return float(bisect.bisect_right(field.levels,
                                     threshold_number(value, field.name)))


class _Best:
    """Per point and group, the highest threshold reached so far."""

    def __init__(self, count, width):
        self.level = np.full((count, width), -1.0)
        self.cost = np.zeros((count, width))
        self.is_rate = np.zeros((count, width), dtype=bool)
        self.is_service = np.zeros((count, width), dtype=bool)

    def offer(self, tables, amounts, present, is_service):
        for table in tables:
            index = np.searchsorted(table.positions, amounts,
                                    side='right') - 1
            reached = (index >= 0) & present
            index = np.maximum(index, 0)
            column = table.group
            better = reached & (table.levels[index] > self.level[:, column])
            self.level[better, column] = table.levels[index][better]
            self.cost[better, column] = table.costs[index][better]
            self.is_rate[better, column] = table.is_rate[index][better]
            self.is_service[better, column] = is_service


def price_points(service, qty, column, index=None):
    """The price each selected point adds (1-d array), for one compiled
    service; ``column`` (_Columns) reads the points' attributes and
    ``index`` selects the points (None: all of them)."""
    count, width = len(qty), len(service.flat)
    flat = np.tile(service.flat, (count, 1))
    rate = np.tile(service.rate, (count, 1))
    best = _Best(count, width)
    everywhere = np.ones(count, dtype=bool)
    best.offer(service.thresholds, qty, everywhere, True)
    for field in service.fields:
        if field.rows:
            codes = _codes(field, column.text(field.name, index))
            np.maximum(flat, field.flat[codes], out=flat)
            rate *= field.rate[codes]
        if field.thresholds:
            ranks, present = _ranks(field, column.values(field.name, index))
            best.offer(field.thresholds, ranks, present, False)
    on_field = ~best.is_service
    flat += np.where(on_field & ~best.is_rate, best.cost, 0.0)
    rate *= np.where(on_field & best.is_rate, best.cost, 1.0)
    result = flat * rate * qty[:, None]
    result += np.where(best.is_service & ~best.is_rate, best.cost, 0.0)
    result *= np.where(best.is_service & best.is_rate, best.cost, 1.0)
    return result.sum(axis=1)


def _runs(column):
    """(value, start, stop) of each run of equal consecutive values."""
    start = 0
    for value, items in itertools.groupby(column):
        stop = start + len(list(items))
        yield value, start, stop
        start = stop


class Engine:
    """Compiled rule sets of one snapshot, built on first use."""

    def __init__(self, snapshot, scope_key='project_id'):
        self.snapshot = snapshot
        self.scope_key = scope_key
        self._breakpoints = snapshot.breakpoints()
        self._tenants = snapshot.tenants()
        self._compiled = {}
        self._lock = threading.Lock()

    @property
    def revision(self):
        return self.snapshot.revision

    def _rules(self, interval, tenant):
        key = (interval, tenant)
        compiled = self._compiled.get(key)
        if compiled is None:
            moment = self._moment_of(interval)
            with self._lock:
                compiled = self._compiled.get(key)
                if compiled is None:
                    compiled = self._compiled[key] = compile_rules(
                        self.snapshot, moment, tenant)
        return compiled

    def _moment_of(self, interval):
        """A moment inside interval ``interval`` (between breakpoints)."""
        if interval == 0:
            return datetime.datetime.min
        return self._breakpoints[interval - 1]

    def _interval(self, begin):
        naive = begin.astimezone(datetime.timezone.utc).replace(tzinfo=None) \
            if begin.tzinfo else begin
        return bisect.bisect_right(self._breakpoints, naive)

    def _rule_keys(self, batch, tenant_scoped=True):
        """Per point, the key of the rule set that prices it."""
        keys = np.empty(len(batch), dtype=np.intp)
        key_ids = {}
        intervals = {}
        tenants = self._tenant_column(batch) if tenant_scoped else None
        for begin, start, stop in _runs(batch.begin):
            interval = intervals.get(begin)
            if interval is None:
                interval = intervals[begin] = self._interval(begin)
            if tenants is None:
                keys[start:stop] = key_ids.setdefault(
                    (interval, None), len(key_ids))
                continue
            for i in range(start, stop):
                keys[i] = key_ids.setdefault((interval, tenants[i]),
                                             len(key_ids))
        return keys, {v: k for k, v in key_ids.items()}

    def _tenant_column(self, batch):
        if not self._tenants:
            return None
        key, tenants = self.scope_key, self._tenants
        column = []
        for g, m in zip(batch.groupby, batch.metadata):
            tenant = g.get(key) if key in g else m.get(key)
            # tenants are text: a list or object (unhashable) is none
            column.append(tenant if type(tenant) is str and tenant in tenants
                          else None)
        return column

    def price(self, batch, tenant_scoped=True):
        """Add each point's price to batch.price (a list of floats); only
        global rules without ``tenant_scoped``."""
        count = len(batch)
        if not count:
            return
        qty = np.asarray(batch.qty, dtype=np.float64)
        prices = np.asarray(batch.price, dtype=np.float64)
        keys, key_of = self._rule_keys(batch, tenant_scoped)
        type_codes, type_names = self._type_codes(batch)
        column = _Columns(batch)
        combined = keys * len(type_names) + type_codes
        for code in np.unique(combined):
            key, type_index = divmod(int(code), len(type_names))
            service = self._rules(*key_of[key]).get(type_names[type_index])
            if service is None:
                continue
            index = np.flatnonzero(combined == code)
            if len(index) == count:
                prices += price_points(service, qty, column)
            else:
                prices[index] += price_points(service, qty[index], column,
                                              index)
        batch.price = prices.tolist()

    @staticmethod
    def _type_codes(batch):
        codes = np.empty(len(batch), dtype=np.intp)
        names = {}
        for name, start, stop in _runs(batch.type):
            codes[start:stop] = names.setdefault(name, len(names))
        return codes, list(names)
