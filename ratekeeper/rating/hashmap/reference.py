"""A per-point hashmap pricer in Decimal, written for clarity, not speed.

It follows CloudKitty's algorithm literally (load the rule dictionaries for
the point's moment and tenant, then walk them point by point) and is the
oracle the vectorised engine is checked against (tests/rating), and it
prices quotes (a handful of points, answered with every decimal digit).
"""
import datetime
import decimal

from ratekeeper.rating.hashmap import engine
from ratekeeper.rating.hashmap import models

D = decimal.Decimal


def _load(snapshot, moment, tenant):
    """{service: {'mappings': {group: (type, cost)},
                  'thresholds': {group: {level: (type, cost)}},
                  'fields': {field: {'mappings': {group: {value: ...}},
                                     'thresholds': {group: {...}}}}}}"""
    entries = {}
    for service_id, service_name in snapshot.services.items():
        entries[service_name] = {'mappings': {}, 'thresholds': {},
                                 'fields': {}}
    for pass_tenant in (None, tenant) if tenant else (None,):
        for rule in sorted(snapshot.mappings, key=engine.load_order):
            if rule.tenant_id == pass_tenant and engine.valid_at(rule,
                                                                 moment):
                _put(snapshot, entries, rule, 'mappings')
        for rule in sorted(snapshot.thresholds, key=engine.load_order):
            if rule.tenant_id == pass_tenant:
                _put(snapshot, entries, rule, 'thresholds')
    return entries


def _put(snapshot, entries, rule, kind):
    group = snapshot.groups.get(rule.group_id, engine.DEFAULT_GROUP) \
        if rule.group_id else engine.DEFAULT_GROUP
    entry = (rule.map_type, models.stored_cost(rule.cost))
    if rule.field_id:
        service_id, field = snapshot.fields[rule.field_id]
        scope = entries[snapshot.services[service_id]]['fields'].setdefault(
            field, {'mappings': {}, 'thresholds': {}})[kind]
    else:
        scope = entries[snapshot.services[rule.service_id]][kind]
    if kind == 'thresholds':
        scope.setdefault(group, {})[models.stored_level(rule.level)] = entry
    elif rule.field_id:
        scope.setdefault(group, {})[rule.value] = entry
    else:
        scope[group] = entry


class _Accumulator:
    def __init__(self):
        self.groups = {}

    def group(self, name):
        return self.groups.setdefault(name, {
            'flat': D(0), 'rate': D(1),
            'threshold': {'level': D(-1), 'cost': D(0), 'type': 'flat',
                          'scope': 'field'}})

    def mapping(self, name, kind, cost):
        state = self.group(name)
        if kind == 'rate':
            state['rate'] *= cost
        elif cost > state['flat']:
            state['flat'] = cost

    def threshold(self, name, level, kind, cost, scope):
        best = self.group(name)['threshold']
        if level > best['level']:
            best.update(level=level, cost=cost, type=kind, scope=scope)

    def total(self, qty):
        total = D(0)
        for state in self.groups.values():
            flat, rate, best = state['flat'], state['rate'], \
                state['threshold']
            if best['scope'] == 'field':
                if best['type'] == 'flat':
                    flat += best['cost']
                else:
                    rate *= best['cost']
            result = flat * rate * qty
            if best['scope'] == 'service':
                if best['type'] == 'flat':
                    result += best['cost']
                else:
                    result *= best['cost']
            total += result
        return total


def _number(value):
    """Decimal(value), as CloudKitty reads a field's value for thresholds
    (a NaN fails at the comparison); what it cannot read fails the point,
    here with InvalidOperation. Lists and objects are refused (Decimal
    would read [0, [4], 0] as 4)."""
    if isinstance(value, (list, dict)):
        raise decimal.InvalidOperation('not a number: %r' % (value,))
    try:
        return D(value)
    except TypeError as exc:  # null
        raise decimal.InvalidOperation(str(exc)) from None


def price_point(entries, service_name, qty, desc):
    """The Decimal price a point of ``service_name`` gets."""
    service = entries.get(service_name)
    if service is None:
        return D(0)
    qty = D(str(qty))
    acc = _Accumulator()
    for group, (kind, cost) in service['mappings'].items():
        acc.mapping(group, kind, cost)
    for group, levels in service['thresholds'].items():
        for level, (kind, cost) in levels.items():
            if qty >= level:
                acc.threshold(group, level, kind, cost, 'service')
    for field in sorted(service['fields']):
        if field not in desc:  # a null value is there, as 'None'
            continue
        value = desc[field]
        rules = service['fields'][field]
        for group, by_value in rules['mappings'].items():
            for mapping_value, (kind, cost) in by_value.items():
                if str(value) == mapping_value:
                    acc.mapping(group, kind, cost)
        if rules['thresholds']:
            number = _number(value)
            for group, levels in rules['thresholds'].items():
                for level, (kind, cost) in levels.items():
                    if number >= level:
                        acc.threshold(group, level, kind, cost, 'field')
    return acc.total(qty)


def price_batch(snapshot, batch, scope_key='project_id', tenant_scoped=True):
    """Decimal prices of every point of a PointBatch (prices not changed);
    only the rules for every tenant without ``tenant_scoped``."""
    tenants = snapshot.tenants() if tenant_scoped else set()
    cache = {}
    prices = []
    for i in range(len(batch)):
        desc = dict(batch.metadata[i], **batch.groupby[i])
        tenant = desc.get(scope_key)
        tenant = tenant if type(tenant) is str and tenant in tenants \
            else None
        moment = batch.begin[i].astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
        key = (moment, tenant)
        if key not in cache:
            cache[key] = _load(snapshot, moment, tenant)
        prices.append(price_point(cache[key], batch.type[i], batch.qty[i],
                                  desc))
    return prices
