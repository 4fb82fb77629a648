"""Hashmap rules in the database, with CloudKitty's semantics and texts.

Every function takes the configuration (for the database) and plain
values already parsed by the API layer; a broken rule raises an
errors.APIError (404 unknown id, 409 duplicate, 400 inconsistent rule)
before anything is written. Every write moves the revision counter, which
is how engines in every process learn that their compiled tables are stale.
"""
import datetime
import itertools
import uuid

import sqlalchemy as sa

from ratekeeper import db
from ratekeeper import errors
from ratekeeper.rating.hashmap import models

MAP_TYPES = ('flat', 'rate')


def now():
    """Naive UTC, the form every hashmap date is stored and shown in."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _not_found(message):
    return errors.NotFound(message, code=errors.HASHMAP_NOT_FOUND)


def _duplicate(message):
    return errors.Conflict(message, code=errors.HASHMAP_DUPLICATE)


def invalid(message):
    return errors.BadRequest(message, code=errors.HASHMAP_INVALID_RULE)


# Rule writes made by this process: engines here see them at once, and
# only poll the database for other processes' writes (see HashMap).
LOCAL_WRITES = itertools.count()
local_writes = 0


def _bump_revision(session):
    global local_writes
    local_writes = next(LOCAL_WRITES) + 1
    row = session.get(models.Revision, 1)
    if row is None:
        session.add(models.Revision(id=1, revision=1))
    else:
        row.revision += 1


# the importer writes rules in its own transaction
bump_revision = _bump_revision


def revision(conf):
    with db.transaction(conf) as session:
        row = session.get(models.Revision, 1)
        return row.revision if row else 0


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


def create_service(conf, name, service_id=None):
    with db.transaction(conf) as session:
        existing = session.scalar(sa.select(models.Service).where(
            models.Service.name == name))
        if existing is not None:
            raise _duplicate('Service %s already exists (UUID: %s)'
                             % (name, existing.service_id))
        _check_new_id(session, models.Service, service_id)
        row = models.Service(service_id=service_id or str(uuid.uuid4()),
                             name=name)
        session.add(row)
        _bump_revision(session)
        return row


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
        existing = session.scalar(sa.select(models.Field).where(
            models.Field.service_id == service_id,
            models.Field.name == name))
        if existing is not None:
            raise _duplicate('Field %s already exists (UUID: %s)'
                             % (name, existing.field_id))
        _check_new_id(session, models.Field, field_id)
        row = models.Field(field_id=field_id or str(uuid.uuid4()),
                           service_id=service_id, name=name)
        session.add(row)
        _bump_revision(session)
        return row


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
        existing = session.scalar(sa.select(models.Group).where(
            models.Group.name == name))
        if existing is not None:
            raise _duplicate('Group %s already exists (UUID: %s)'
                             % (name, existing.group_id))
        _check_new_id(session, models.Group, group_id)
        row = models.Group(group_id=group_id or str(uuid.uuid4()), name=name)
        session.add(row)
        _bump_revision(session)
        return row


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

def list_mappings(conf, service_id=None, field_id=None, group_id=None,
                  no_group=False, tenant_id=None, filter_tenant=False,
                  deleted=False, start=None, end=None, created_by=None,
                  updated_by=None, deleted_by=None, description=None,
                  is_active=None, all=True):
    M = models.Mapping
    where = []
    if service_id:
        where.append(M.service_id == service_id)
    elif field_id:
        where.append(M.field_id == field_id)
    elif not group_id and not all:
        raise invalid('You must specify either service_id, field_id or '
                      'group_id.')
    if group_id:
        where.append(M.group_id == group_id)
    if no_group:
        where.append(M.group_id.is_(None))
    if filter_tenant:
        where.append(M.tenant_id == tenant_id if tenant_id
                     else M.tenant_id.is_(None))
    if not deleted:
        where.append(M.deleted.is_(None))
    where.extend(_mapping_date_filters(start, end, is_active))
    for column, value in ((M.created_by, created_by),
                          (M.updated_by, updated_by),
                          (M.deleted_by, deleted_by)):
        if value:
            where.append(column == value)
    if description:
        where.append(sa.func.lower(M.description).contains(
            description.lower(), autoescape=True))
    with db.transaction(conf) as session:
        return _all(session, M, *where, order=M.created_at)


def _mapping_date_filters(start, end, is_active):
    M = models.Mapping
    where = []
    if start:
        where.append(M.start >= start)
    if end:
        where.append(M.end < end)
    if is_active:
        moment = now()
        where.extend([M.start <= moment, M.deleted.is_(None),
                      sa.or_(M.end.is_(None), M.end > moment)])
    return where


def get_mapping(conf, mapping_id):
    with db.transaction(conf) as session:
        return _mapping(session, mapping_id)


def check_dates(start, end, force=False):
    """CloudKitty's date rules for a new or not yet started rule."""
    moment = now()
    if not force and start and start < moment:
        raise invalid('Cannot create a rule with start in the past. '
                      'start=[%s] current time=[%s].' % (start, moment))
    start = start or moment  # a rule without a start starts now
    if end and end < start:
        raise invalid('Cannot create a rule with start after end. '
                      'start=[%s] end=[%s].' % (start, end))


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
            cost=models.stored_cost(data['cost']),
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
        moment = now()
        if row.start < moment:
            _end_running_rule(row, data, moment)
        else:
            start = data.get('start') or row.start
            check_dates(start, data.get('end'))
            row.cost = models.stored_cost(data['cost'])
            row.start = start
            row.end = data.get('end')
            row.description = data.get('description')
            _check_mapping_unique(session, row)
        row.updated_by = user
        _bump_revision(session)
        return row


def _end_running_rule(row, data, moment):
    if row.end is not None:
        raise errors.BadRequest(
            'Cannot update a rule that was already processed and has a '
            'defined end date.', code=errors.HASHMAP_RULE_RUNNING)
    for key, value in data.items():
        if key != 'end' and value and value != _stored(row, key):
            raise errors.BadRequest(
                'You are allowed to update only the attribute [end] as this '
                'rule is already running as it started on [%s]' % row.start,
                code=errors.HASHMAP_RULE_RUNNING)
    end = data.get('end')
    if end and end < moment:
        raise invalid('End date must be in the future. end=[%s] current '
                      'time=[%s]' % (end, moment))
    row.end = end


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
    where = []
    if service_id:
        where.append(T.service_id == service_id)
    elif field_id:
        where.append(T.field_id == field_id)
    elif not group_id:
        raise invalid('You must specify either service_uuid, field_uuid or '
                      'group_uuid.')
    if group_id:
        where.append(T.group_id == group_id)
    if no_group:
        where.append(T.group_id.is_(None))
    if filter_tenant:
        where.append(T.tenant_id == tenant_id if tenant_id
                     else T.tenant_id.is_(None))
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
            level=models.stored_level(data['level']),
            map_type=data.get('type') or 'flat',
            cost=models.stored_cost(data['cost']),
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
        row.level = models.stored_level(data['level'])
        row.cost = models.stored_cost(data['cost'])
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
        row = session.get(models.Revision, 1)
        return (row.revision if row else 0,
                _all(session, models.Service),
                _all(session, models.Field),
                _all(session, models.Group),
                _all(session, models.Mapping,
                     models.Mapping.deleted.is_(None)),
                _all(session, models.Threshold))
