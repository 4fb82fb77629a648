"""The hashmap engine: rules compiled into tables, whole batches priced
column by column with map() over plain lists.

Which rules apply to a point depends on its period start (mapping
validity) and on its tenant (tenant rules override global ones), so the
rules are compiled once per (validity interval, tenant with own rules) and
kept until the rule revision moves. Pricing then works per (compiled rule
set, metric type) over all its points at once:

- field mappings become, per field, a value -> (flat costs, rates) per
  group dictionary: flat costs combine with max (the accumulator starts
  at 0), rate costs with a product;
- thresholds become, per (source, group), sorted level lists searched
  with bisect; the highest reached level wins, the service's first, then
  fields in name order, a later source replacing only a strictly higher
  level, exactly as CloudKitty's per-point loop does.

A point's price is then (coefficient * qty + added) * factor summed over
the groups, where the three numbers depend only on its fields' values and
on which service thresholds its quantity reaches. They are computed once
per such profile and kept with the compiled rules, so pricing a batch is
a dictionary look-up and a multiplication per point, run in C by map().
No numpy or pyarrow: the processor, which prices every collected point,
does not load them (18 + 60 MB of resident memory).

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
    levels: list                     # floats, ascending
    costs: list
    is_rate: list
    # what the amounts are searched against: the levels for a service's
    # quantities; for a field, each level's rank among the field's levels
    # (the values are ranked exactly, as decimals)
    positions: list


@dataclasses.dataclass
class _Field:
    name: str
    # value text -> (flat cost per group, rate per group) of its mappings
    rows: dict
    thresholds: list
    levels: list                     # the thresholds' levels, sorted


@dataclasses.dataclass
class _Service:
    flat: list                       # per group
    rate: list
    thresholds: list
    fields: list
    # a point's prices depend only on its fields' values, which
    # service thresholds it reaches and its quantity: the part that does
    # not depend on the quantity is kept per (values, reached levels)
    profiles: dict = dataclasses.field(default_factory=dict)
    typed_profiles: dict = dataclasses.field(default_factory=dict)
    kept: int = 0                    # profiles in both
    constant: object = None          # the profile when nothing varies


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
        floats = [float(level) for level, _ in ordered]
        tables.append(_Thresholds(
            slots.groups[group], floats,
            [cost for _, (_, cost) in ordered],
            [kind == 'rate' for _, (kind, _) in ordered],
            floats if ranks is None else [ranks[level]
                                          for level, _ in ordered]))
    return tables


def _field_table(slots, name):
    width = len(slots.groups)
    rows = {}
    for group, by_value in slots.field_mappings.get(name, {}).items():
        column = slots.groups[group]
        for value, (kind, cost) in by_value.items():
            flat, rate = rows.setdefault(value, ([0.0] * width,
                                                 [1.0] * width))
            if kind == 'rate':
                rate[column] = cost
            else:
                flat[column] = max(cost, 0.0)
    thresholds = slots.field_thresholds.get(name, {})
    levels = sorted({level for by_level in thresholds.values()
                     for level in by_level})
    ranks = {level: rank for rank, level in enumerate(levels, 1)}
    return _Field(name, rows, _threshold_tables(slots, thresholds, ranks),
                  levels)


def _compile_service(slots):
    width = len(slots.groups)
    flat, rate = [0.0] * width, [1.0] * width
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
# profiles kept per compiled service (values taken by its fields); past
# this many (a field mapped on an attribute of every resource) they are
# forgotten and built again as points need them
MAX_PROFILES = 4096
_PLAIN = frozenset({str, type(None), type(ABSENT)})
_NUMBERS = frozenset({float, int})
_EMPTY = {}      # a look-up's inner level for values not seen yet


class _Columns:
    """desc[name] of selected points of a batch, as CloudKitty reads it:
    groupby wins over metadata (even with a null value), and a field a
    point does not have is skipped. itemgetter and map() keep the
    per-point work in C."""

    def __init__(self, batch):
        self.batch = batch
        keys = getattr(batch, 'groupby_keys', None)
        self._groupby_keys = keys() if callable(keys) else keys
        self._subsets = {}

    def _subset(self, column, index):
        if index is None:
            return column
        # the cache holds the index list: an id stays unique only while
        # its object lives, and pricing frees each selection's list
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


def _token(value):
    """A value as a typed profile key: with its type (1, 1.0 and true are
    equal keys, but a mapping compares their different texts); an
    unhashable one (a list, an object) boxed, a key of its own."""
    try:
        hash(value)
    except TypeError:
        return _Box(value)
    return (type(value), value)


class _Box:
    __slots__ = ('value',)

    def __init__(self, value):
        self.value = value


def _text(value):
    """A value as a mapping's value is compared with it, str(value)
    ('None' for a null); None where absent."""
    if value is ABSENT:
        return None
    return value if type(value) is str else str(value)


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


def _rank(field, value):
    """How many of the field's levels ``value`` reaches, compared
    exactly."""
    return bisect.bisect_right(field.levels,
                               threshold_number(value, field.name))


class _Best:
    """Per group, the highest threshold reached so far: the service's
    offered first, then each field's in name order, a later one replacing
    only a strictly higher level."""

    def __init__(self, width):
        self.level = [-1.0] * width
        self.cost = [0.0] * width
        self.is_rate = [False] * width
        self.is_service = [False] * width

    def offer(self, table, index, is_service):
        """``index``: of the table's highest level reached, -1 for
        none."""
        column = table.group
        if index >= 0 and table.levels[index] > self.level[column]:
            self.level[column] = table.levels[index]
            self.cost[column] = table.costs[index]
            self.is_rate[column] = table.is_rate[index]
            self.is_service[column] = is_service


def _profile(service, values):
    """What a point whose fields' values and reached service threshold
    positions are ``values`` pays: per group, the group adding
    (coefficient * qty + added) * factor to its price. Without service
    thresholds (nothing added, no factor) the coefficients only; a float
    or a triple where the service has one group."""
    flat, rate = list(service.flat), list(service.rate)
    best = _Best(len(flat))
    reached = values[len(service.fields):]
    for table, position in zip(service.thresholds, reached):
        best.offer(table, position - 1, True)
    for field, value in zip(service.fields, values):
        if field.rows:
            row = field.rows.get(_text(value))
            if row is not None:
                flats, rates = row
                for group, cost in enumerate(flats):
                    if cost > flat[group]:
                        flat[group] = cost
                for group, cost in enumerate(rates):
                    rate[group] *= cost
        if field.thresholds and value is not ABSENT:
            rank = _rank(field, value)
            for table in field.thresholds:
                best.offer(table, bisect.bisect_right(table.positions,
                                                      rank) - 1, False)
    profile = []
    for group, cost in enumerate(best.cost):
        if best.is_service[group]:
            coefficient = flat[group] * rate[group]
            added, factor = (0.0, cost) if best.is_rate[group] \
                else (cost, 1.0)
            profile.append((coefficient, added, factor))
        elif best.is_rate[group]:
            profile.append((flat[group] * (rate[group] * cost), 0.0, 1.0))
        else:
            profile.append(((flat[group] + cost) * rate[group], 0.0, 1.0))
    if not service.thresholds:
        profile = [coefficient for coefficient, _, _ in profile]
    return profile[0] if len(profile) == 1 else tuple(profile)


def _key_columns(service, qty, column, index):
    """What the selected points' profiles depend on, column by column:
    each field's values, then the position each quantity reaches in each
    service threshold table."""
    columns = [column.values(field.name, index) for field in service.fields]
    for table in service.thresholds:
        columns.append(list(map(bisect.bisect_right,
                                itertools.repeat(table.positions), qty)))
    return columns


def _look_up(profiles, columns):
    """The profile of each point found in ``profiles`` (nested
    dictionaries, one level per column), None where there is none yet."""
    found = itertools.repeat(profiles)
    for column in columns[:-1]:
        found = map(dict.get, found, column, itertools.repeat(_EMPTY))
    return list(map(dict.get, found, columns[-1]))


def _profiles(service, columns, count):
    """The profile of each point. Profiles are kept by the points' values
    when every field value is text or null (values of other JSON types
    never equal those), else by the values with their types."""
    if not columns:
        if service.constant is None:
            service.constant = _profile(service, ())
        return [service.constant] * count
    try:
        found = _look_up(service.profiles, columns)
    except TypeError:  # an unhashable value (a list, an object)
        found = [None] * count
    if None not in found:
        return found
    if service.kept > MAX_PROFILES:
        service.profiles.clear()
        service.typed_profiles.clear()
        service.kept = 0
    fields = len(service.fields)
    for i, profile in enumerate(found):
        if profile is not None:
            continue
        values = tuple(column[i] for column in columns)
        if _PLAIN.issuperset(map(type, values[:fields])):
            node = service.profiles
            for value in values[:-1]:
                node = node.setdefault(value, {})
            last = values[-1]
        else:
            node, last = service.typed_profiles, tuple(map(_token, values))
        profile = node.get(last)
        if profile is None:
            profile = node[last] = _profile(service, values)
            service.kept += 1
        found[i] = profile
    return found


_COEFFICIENT = operator.itemgetter(0)
_ADDED = operator.itemgetter(1)
_FACTOR = operator.itemgetter(2)


def price_points(service, qty, column, index=None):
    """The price each selected point adds (a list), for one compiled
    service; ``qty`` holds the selected points' quantities (floats),
    ``column`` (_Columns) reads the points' attributes and ``index``
    selects the points (None: all of them)."""
    profiles = _profiles(service, _key_columns(service, qty, column, index),
                         len(qty))
    width = len(service.flat)
    total = None
    for group in range(width):
        parts = profiles if width == 1 \
            else list(map(operator.itemgetter(group), profiles))
        if not service.thresholds:
            part = map(operator.mul, parts, qty)
        else:
            part = map(operator.mul, map(operator.add, map(
                operator.mul, map(_COEFFICIENT, parts), qty),
                map(_ADDED, parts)), map(_FACTOR, parts))
        total = part if total is None else map(operator.add, total, part)
    return list(total)


def _runs(*columns):
    """(start, stop) of runs of points holding the same objects in every
    column (equal values in distinct objects may start a new run)."""
    count = len(columns[0])
    changed = None
    for column in columns:
        ne = map(operator.is_not, itertools.islice(column, 1, None), column)
        changed = ne if changed is None else map(operator.or_, changed, ne)
    bounds = [0, *itertools.compress(range(1, count), changed), count]
    return zip(bounds, itertools.islice(bounds, 1, None))


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

    def _selections(self, batch, tenant_scoped=True):
        """{(rule set key, type): [(start, stop) of each run of its
        points]}."""
        selections = {}
        tenants = self._tenant_column(batch) if tenant_scoped else None
        begins, types = batch.begin, batch.type
        begin = interval = None
        for start, stop in _runs(begins, types, *filter(None, [tenants])):
            if begins[start] is not begin:  # hashing an aware datetime
                begin = begins[start]       # is slow: runs share one
                interval = self._interval(begin)
            key = ((interval, tenants[start] if tenants else None),
                   types[start])
            runs = selections.setdefault(key, [])
            if runs and runs[-1][1] == start:   # equal, not the same
                start = runs.pop()[0]
            runs.append((start, stop))
        return selections

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
        global rules without ``tenant_scoped``. On UnpriceablePoint the
        prices are left as they were."""
        count = len(batch)
        if not count:
            return
        qty = batch.qty
        if not _NUMBERS.issuperset(map(type, qty)):
            qty = list(map(float, qty))     # Decimals read from storage
        added = [0.0] * count
        column = _Columns(batch)
        for (key, name), runs in self._selections(
                batch, tenant_scoped).items():
            service = self._rules(*key).get(name)
            if service is None:
                continue
            if runs == [(0, count)]:
                added = price_points(service, qty, column)
                continue
            index = list(itertools.chain.from_iterable(
                itertools.starmap(range, runs)))
            selected = operator.itemgetter(*index)(qty) if len(index) > 1 \
                else [qty[index[0]]]
            prices = price_points(service, selected, column, index)
            offset = 0
            for start, stop in runs:
                added[start:stop] = prices[offset:offset + stop - start]
                offset += stop - start
        batch.price = list(map(operator.add, map(float, batch.price),
                               added)) if any(batch.price) else added
