"""Hashmap rules in the database, with CloudKitty's semantics and texts.

Every function takes the configuration (for the database) and plain
values already parsed by the API layer; a broken rule raises an
errors.APIError (404 unknown id, 409 duplicate, 400 inconsistent rule)
before anything is written. Every write moves the revision counter, which
is how engines in every process learn that their compiled tables are stale.
"""
import uuid

import sqlalchemy as sa

from ratekeeper import db
from ratekeeper import errors
from ratekeeper.rating import revisions
from ratekeeper.rating import validity
from ratekeeper.rating.hashmap import models

MAP_TYPES = ('flat', 'rate')


now = validity.now


def _not_found(message):
    return errors.NotFound(message, code=errors.HASHMAP_NOT_FOUND)


def _duplicate(message):
    return errors.Conflict(message, code=errors.HASHMAP_DUPLICATE)


def invalid(message):
    return errors.BadRequest(message, code=errors.HASHMAP_INVALID_RULE)


# Every rule write moves the revision: engines rebuild from it.
REVISIONS = revisions.Revisions(models.Revision)
_bump_revision = REVISIONS.bump
revision = REVISIONS.current
# the importer writes rules in its own transaction
bump_revision = REVISIONS.bump


# -- lookups that raise CloudKitty's messages ------------------------------

def _service(session, service_id, status=404):
    row = session.get(models.Service, service_id) if service_id else None
    if row is None:
        raise errors.APIError('No such service: None (UUID: %s)' % service_id,
                              status=status, code=errors.HASHMAP_NOT_FOUND)
    return row


def _field(session, field_id, status=404):
    row = session.get(models.Field, field_id) if field_id else None
    if row is None:
        raise errors.APIError('No such field: %s' % field_id, status=status,
                              code=errors.HASHMAP_NOT_FOUND)
    return row


def _group(session, group_id, status=404):
    row = session.get(models.Group, group_id) if group_id else None
    if row is None:
        raise errors.APIError('No such group: None (UUID: %s)' % group_id,
                              status=status, code=errors.HASHMAP_NOT_FOUND)
    return row


def _mapping(session, mapping_id, include_deleted=True):
    row = session.get(models.Mapping, mapping_id) if mapping_id else None
    if row is None or (row.deleted and not include_deleted):
        raise _not_found('No such mapping: %s' % mapping_id)
    return row


def _threshold(session, threshold_id):
    row = session.get(models.Threshold, threshold_id) if threshold_id \
        else None
    if row is None:
        raise _not_found('No such threshold: %s' % threshold_id)
    return row


def _check_new_id(session, model, new_id):
    """A client may choose the id of what it creates, but not one taken."""
    if new_id and session.get(model, new_id) is not None:
        raise _duplicate('%s %s already exists' % (model.__name__, new_id))


def _all(session, model, *where, order=None):
    query = sa.select(model).where(*where)
    if order is not None:
        query = query.order_by(order)
    return list(session.scalars(query))


# -- services, fields, groups ----------------------------------------------

def list_services(conf):
    with db.transaction(conf) as session:
        return _all(session, models.Service, order=models.Service.name)


def get_service(conf, service_id):
    with db.transaction(conf) as session:
        return _service(session, service_id)


def _create_named(session, model, name, new_id, *scope, **columns):
    """A service, field or group: its name unique (within ``scope``), its
    id the client's or a new one."""
    id_key = sa.inspect(model).primary_key[0].key
    existing = session.scalar(sa.select(model).where(model.name == name,
                                                     *scope))
    if existing is not None:
        raise _duplicate('%s %s already exists (UUID: %s)' % (
            model.__name__, name, getattr(existing, id_key)))
    _check_new_id(session, model, new_id)
    row = model(name=name, **{id_key: new_id or str(uuid.uuid4())},
                **columns)
    session.add(row)
    _bump_revision(session)
    return row


def create_service(conf, name, service_id=None):
    with db.transaction(conf) as session:
        return _create_named(session, models.Service, name, service_id)


def delete_service(conf, service_id):
    """Hard delete, with its fields, mappings and thresholds."""
    with db.transaction(conf) as session:
        service = _service(session, service_id)
        field_ids = [f.field_id for f in _all(
            session, models.Field, models.Field.service_id == service_id)]
        _delete_children(session, field_ids, service_id)
        session.execute(sa.delete(models.Field).where(
            models.Field.service_id == service_id))
        session.delete(service)
        _bump_revision(session)


def _delete_children(session, field_ids, service_id=None):
    for model in (models.Mapping, models.Threshold):
        parent = model.field_id.in_(field_ids)
        if service_id is not None:
            parent = sa.or_(parent, model.service_id == service_id)
        session.execute(sa.delete(model).where(parent))


def list_fields(conf, service_id):
    with db.transaction(conf) as session:
        return _all(session, models.Field,
                    models.Field.service_id == service_id,
                    order=models.Field.name)


def get_field(conf, field_id):
    with db.transaction(conf) as session:
        return _field(session, field_id)


def create_field(conf, service_id, name, field_id=None):
    with db.transaction(conf) as session:
        _service(session, service_id, status=400)
        return _create_named(session, models.Field, name, field_id,
                             models.Field.service_id == service_id,
                             service_id=service_id)


def delete_field(conf, field_id):
    with db.transaction(conf) as session:
        field = _field(session, field_id)
        _delete_children(session, [field_id])
        session.delete(field)
        _bump_revision(session)


def list_groups(conf):
    with db.transaction(conf) as session:
        return _all(session, models.Group, order=models.Group.name)


def get_group(conf, group_id):
    with db.transaction(conf) as session:
        return _group(session, group_id)


def create_group(conf, name, group_id=None):
    with db.transaction(conf) as session:
        return _create_named(session, models.Group, name, group_id)


def delete_group(conf, group_id, recursive=False):
    """Its rules are hard-deleted with ``recursive``, else detached."""
    with db.transaction(conf) as session:
        group = _group(session, group_id)
        for model in (models.Mapping, models.Threshold):
            in_group = model.group_id == group_id
            if recursive:
                session.execute(sa.delete(model).where(in_group))
            else:
                session.execute(sa.update(model).where(in_group)
                                .values(group_id=None))
        session.delete(group)
        _bump_revision(session)


def group_rules(conf, model, group_id):
    with db.transaction(conf) as session:
        where = [model.group_id == group_id]
        if model is models.Mapping:
            where.append(models.Mapping.deleted.is_(None))
        return _all(session, model, *where)


def group_of(conf, model, rule_id):
    with db.transaction(conf) as session:
        rule = _mapping(session, rule_id) if model is models.Mapping \
            else _threshold(session, rule_id)
        if rule.group_id is None:
            raise _not_found('%s has no group (UUID: %s)' % (
                'Mapping' if model is models.Mapping else 'Threshold',
                rule_id))
        return _group(session, rule.group_id)


# -- parents shared by mappings and thresholds ------------------------------

def _check_parents(session, data):
    service_id, field_id = data.get('service_id'), data.get('field_id')
    if service_id and field_id:
        raise invalid('You can only specify one parent.')
    if not service_id and not field_id:
        raise invalid('You must specify one parent.')
    if service_id:
        _service(session, service_id, status=400)
    else:
        _field(session, field_id, status=400)
    if data.get('group_id'):
        _group(session, data['group_id'], status=400)


def _parent_of(data):
    if data.get('service_id'):
        return 'service', data['service_id']
    return 'field', data['field_id']


# -- mappings ---------------------------------------------------------------

def _rule_filters(model, service_id, field_id, group_id, no_group,
                  tenant_id, filter_tenant):
    """Conditions on a mapping's or threshold's parent (the service over
    the field), group and tenant (only with ``filter_tenant``)."""
    where = []
    if service_id:
        where.append(model.service_id == service_id)
    elif field_id:
        where.append(model.field_id == field_id)
    if group_id:
        where.append(model.group_id == group_id)
    if no_group:
        where.append(model.group_id.is_(None))
    if filter_tenant:
        where.append(model.tenant_id == tenant_id if tenant_id
                     else model.tenant_id.is_(None))
    return where


def list_mappings(conf, service_id=None, field_id=None, group_id=None,
                  no_group=False, tenant_id=None, filter_tenant=False,
                  deleted=False, start=None, end=None, created_by=None,
                  updated_by=None, deleted_by=None, description=None,
                  is_active=None, all=True):
    M = models.Mapping
    if not (service_id or field_id or group_id or all):
        raise invalid('You must specify either service_id, field_id or '
                      'group_id.')
    where = _rule_filters(M, service_id, field_id, group_id, no_group,
                          tenant_id, filter_tenant)
    where += validity.list_filters(
        M, deleted, start, end, is_active, created_by, updated_by,
        deleted_by, description)
    with db.transaction(conf) as session:
        return _all(session, M, *where, order=M.created_at)


def get_mapping(conf, mapping_id):
    with db.transaction(conf) as session:
        return _mapping(session, mapping_id)


def check_dates(start, end, force=False):
    """CloudKitty's date rules for a new or not yet started rule."""
    validity.check_dates(start, end, invalid, force)


def create_mapping(conf, data, force=False, user='unknown'):
    check_dates(data.get('start'), data.get('end'), force)
    with db.transaction(conf) as session:
        _check_parents(session, data)
        _check_mapping_value(data)
        start = data.get('start') or now()
        _check_new_id(session, models.Mapping, data.get('mapping_id'))
        row = models.Mapping(
            mapping_id=data.get('mapping_id') or str(uuid.uuid4()),
            value=data.get('value'), map_type=data.get('type') or 'flat',
            cost=data['cost'],
            service_id=data.get('service_id'),
            field_id=data.get('field_id'), group_id=data.get('group_id'),
            tenant_id=data.get('tenant_id'), created_at=now(), start=start,
            end=data.get('end'), name=data.get('name') or uuid.uuid4().hex,
            description=data.get('description'), created_by=user)
        _check_mapping_unique(session, row)
        session.add(row)
        _bump_revision(session)
        return row


def _check_mapping_value(data):
    if data.get('service_id') and data.get('value'):
        raise invalid("You can't specify a value and a service_id.")
    if data.get('field_id') and not data.get('value'):
        raise invalid('You must specify a value for a field mapping.')


def _check_mapping_unique(session, new):
    M = models.Mapping
    alive = [M.deleted.is_(None), M.mapping_id != new.mapping_id]
    named = session.scalar(sa.select(M).where(M.name == new.name, *alive))
    same = sa.and_(
        _equal(M.value, new.value), _equal(M.tenant_id, new.tenant_id),
        _equal(M.service_id, new.service_id),
        _equal(M.field_id, new.field_id), _equal(M.group_id, new.group_id))
    if new.end is not None:
        overlap = sa.and_(M.start < new.end,
                          sa.or_(M.end >= new.start, M.end.is_(None)))
    else:
        overlap = sa.or_(M.start > new.start, M.end.is_(None))
    clash = named or session.scalar(
        sa.select(M).where(same, overlap, *alive))
    if clash is not None:
        kind, parent = _parent_of({'service_id': new.service_id,
                                   'field_id': new.field_id})
        raise _duplicate("Mapping '%s' already exists for %s '%s', "
                         "tenant: '%s'" % (new.value, kind, parent,
                                           new.tenant_id))


def _equal(column, value):
    return column.is_(None) if value is None else column == value


def update_mapping(conf, mapping_id, data, user='unknown'):
    """A started rule may only get an ``end``; a future one may change its
    cost, dates and description (other attributes are ignored)."""
    with db.transaction(conf) as session:
        row = _mapping(session, mapping_id, include_deleted=False)
        if row.start < now():
            _end_running_rule(row, data)
        else:
            start = data.get('start') or row.start
            check_dates(start, data.get('end'))
            row.cost = data['cost']
            row.start = start
            row.end = data.get('end')
            row.description = data.get('description')
            _check_mapping_unique(session, row)
        row.updated_by = user
        _bump_revision(session)
        return row


def _end_running_rule(row, data):
    validity.end_running_rule(row, data, _stored,
                              errors.HASHMAP_RULE_RUNNING, invalid)


def _stored(row, key):
    return getattr(row, 'map_type' if key == 'type' else key, None)


def delete_mapping(conf, mapping_id, user='unknown'):
    """A soft delete: the mapping stays readable by id, marked deleted."""
    with db.transaction(conf) as session:
        row = _mapping(session, mapping_id, include_deleted=False)
        row.deleted = now()
        row.deleted_by = user
        _bump_revision(session)


# -- thresholds -------------------------------------------------------------

def list_thresholds(conf, service_id=None, field_id=None, group_id=None,
                    no_group=False, tenant_id=None, filter_tenant=False):
    T = models.Threshold
    if not (service_id or field_id or group_id):
        raise invalid('You must specify either service_uuid, field_uuid or '
                      'group_uuid.')
    where = _rule_filters(T, service_id, field_id, group_id, no_group,
                          tenant_id, filter_tenant)
    with db.transaction(conf) as session:
        # levels are stored as decimal text: order them as numbers here
        return sorted(_all(session, T, *where), key=lambda t: t.level)


def get_threshold(conf, threshold_id):
    with db.transaction(conf) as session:
        return _threshold(session, threshold_id)


def create_threshold(conf, data):
    with db.transaction(conf) as session:
        _check_parents(session, data)
        _check_new_id(session, models.Threshold, data.get('threshold_id'))
        row = models.Threshold(
            threshold_id=data.get('threshold_id') or str(uuid.uuid4()),
            level=data['level'],
            map_type=data.get('type') or 'flat',
            cost=data['cost'],
            service_id=data.get('service_id'),
            field_id=data.get('field_id'), group_id=data.get('group_id'),
            tenant_id=data.get('tenant_id'))
        _check_threshold_unique(session, row, data['level'])
        session.add(row)
        _bump_revision(session)
        return row


def _check_threshold_unique(session, new, sent_level):
    T = models.Threshold
    same = [T.threshold_id != new.threshold_id,
            _equal(T.service_id, new.service_id),
            _equal(T.field_id, new.field_id),
            _equal(T.tenant_id, new.tenant_id)]
    for other in _all(session, T, *same):
        if other.level == new.level:
            kind, parent = _parent_of({'service_id': new.service_id,
                                       'field_id': new.field_id})
            raise _duplicate("Threshold '%s' already exists for %s '%s', "
                             "tenant: '%s'" % (sent_level, kind, parent,
                                               new.tenant_id))


def update_threshold(conf, threshold_id, data):
    """Level, cost, type and tenant are replaced; the group only when one
    is given; the parent never changes."""
    with db.transaction(conf) as session:
        row = _threshold(session, threshold_id)
        if data.get('group_id'):
            _group(session, data['group_id'], status=400)
            row.group_id = data['group_id']
        row.level = data['level']
        row.cost = data['cost']
        row.map_type = data.get('type') or 'flat'
        row.tenant_id = data.get('tenant_id')
        _check_threshold_unique(session, row, data['level'])
        _bump_revision(session)
        return row


def delete_threshold(conf, threshold_id):
    with db.transaction(conf) as session:
        session.delete(_threshold(session, threshold_id))
        _bump_revision(session)


# -- what the engine compiles ----------------------------------------------

def load_all(conf):
    """(revision, services, fields, groups, live mappings, thresholds)."""
    with db.transaction(conf) as session:
        return (REVISIONS.read(session),
                _all(session, models.Service),
                _all(session, models.Field),
                _all(session, models.Group),
                _all(session, models.Mapping,
                     models.Mapping.deleted.is_(None)),
                _all(session, models.Threshold))
