"""Rule sets built in memory (no database) for engine tests."""
import datetime
import decimal
import itertools
import types

from ratekeeper.rating.hashmap import engine

D = decimal.Decimal
SINCE = datetime.datetime(2020, 1, 1)
_ids = itertools.count(1)


def _id():
    return '00000000-0000-0000-0000-%012d' % next(_ids)


class Builder:
    def __init__(self):
        self.services, self.fields, self.groups = {}, {}, {}
        self.mappings, self.thresholds = [], []

    def service(self, name):
        service_id = _id()
        self.services[service_id] = name
        return service_id

    def field(self, service_id, name):
        field_id = _id()
        self.fields[field_id] = (service_id, name)
        return field_id

    def group(self, name):
        group_id = _id()
        self.groups[group_id] = name
        return group_id

    def mapping(self, cost, map_type='flat', service_id=None, field_id=None,
                value=None, group_id=None, tenant_id=None, start=SINCE,
                end=None):
        self.mappings.append(types.SimpleNamespace(
            mapping_id=_id(), cost=D(cost), map_type=map_type,
            service_id=service_id, field_id=field_id, value=value,
            group_id=group_id, tenant_id=tenant_id, start=start, end=end,
            created_at=datetime.datetime(2020, 1, 1) + datetime.timedelta(
                seconds=len(self.mappings))))

    def threshold(self, level, cost, map_type='flat', service_id=None,
                  field_id=None, group_id=None, tenant_id=None):
        self.thresholds.append(types.SimpleNamespace(
            threshold_id=_id(), level=D(level), cost=D(cost),
            map_type=map_type, service_id=service_id, field_id=field_id,
            group_id=group_id, tenant_id=tenant_id))

    def snapshot(self, revision=1):
        return engine.Snapshot(revision, dict(self.services),
                               dict(self.fields), dict(self.groups),
                               list(self.mappings), list(self.thresholds))


def reference_rules():
    """The shared benchmark's rule set (bench/rules_setup.py)."""
    b = Builder()
    g_inst, g_vol, g_img = (b.group('instance_flavor'), b.group('volume'),
                            b.group('image'))
    s_inst, s_vol, s_img = (b.service('instance'), b.service('volume'),
                            b.service('image'))
    f_flavor = b.field(s_inst, 'flavor_name')
    f_vcpus = b.field(s_inst, 'vcpus')
    f_vtype = b.field(s_vol, 'volume_type')
    for name, cost in [('m1.tiny', '0.01'), ('m1.small', '0.02'),
                       ('m1.medium', '0.04'), ('m1.large', '0.08')]:
        b.mapping(cost, field_id=f_flavor, value=name, group_id=g_inst)
    b.threshold('4', '0.95', 'rate', field_id=f_vcpus, group_id=g_inst)
    b.mapping('0.0005', service_id=s_vol, group_id=g_vol)
    for name, cost in [('ssd', '1.5'), ('ceph', '1.0')]:
        b.mapping(cost, 'rate', field_id=f_vtype, value=name, group_id=g_vol)
    b.mapping('0.00001', service_id=s_img, group_id=g_img)
    b.threshold('1024', '0.9', 'rate', service_id=s_img, group_id=g_img)
    return b
