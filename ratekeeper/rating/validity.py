"""The lifecycle CloudKitty gives its dated rules (hashmap mappings,
pyscripts): a rule is created for the future unless forced, it ends after
it starts, and once running only its end may still be set.

Dates are naive UTC, the form the rules are stored and shown in.
"""
import datetime

import sqlalchemy as sa

from ratekeeper import errors


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def check_dates(start, end, invalid, force=False):
    """The date rules of a new or not yet started rule; ``invalid`` makes
    the error raised."""
    moment = now()
    if not force and start and start < moment:
        raise invalid('Cannot create a rule with start in the past. '
                      'start=[%s] current time=[%s].' % (start, moment))
    start = start or moment  # a rule without a start starts now
    if end and end < start:
        raise invalid('Cannot create a rule with start after end. '
                      'start=[%s] end=[%s].' % (start, end))


def end_running_rule(row, changes, stored, running_code, invalid):
    """Apply ``changes`` to a rule that has started: only an ``end`` in the
    future, and only once. ``stored(row, key)`` reads the stored value a
    change is compared with (a change equal to it is no change)."""
    if row.end is not None:
        raise errors.BadRequest(
            'Cannot update a rule that was already processed and has a '
            'defined end date.', code=running_code)
    for key, value in changes.items():
        if key != 'end' and value and value != stored(row, key):
            raise errors.BadRequest(
                'You are allowed to update only the attribute [end] as this '
                'rule is already running as it started on [%s]' % row.start,
                code=running_code)
    end, moment = changes.get('end'), now()
    if end and end < moment:
        raise invalid('End date must be in the future. end=[%s] current '
                      'time=[%s]' % (end, moment))
    row.end = end


def is_active(row, moment):
    """Whether a rule applies at ``moment`` (naive UTC)."""
    return row.deleted is None and (row.start is None or row.start <= moment) \
        and (row.end is None or row.end > moment)


def list_filters(model, deleted=False, start=None, end=None, is_active=None,
                 created_by=None, updated_by=None, deleted_by=None,
                 description=None):
    """The WHERE clauses of the list filters every dated rule has
    (``model``: its columns start, end, deleted, *_by, description)."""
    where = [] if deleted else [model.deleted.is_(None)]
    if start:
        where.append(model.start >= start)
    if end:
        where.append(model.end < end)
    if is_active:
        moment = now()
        where.extend([model.start <= moment, model.deleted.is_(None),
                      sa.or_(model.end.is_(None), model.end > moment)])
    for column, value in ((model.created_by, created_by),
                          (model.updated_by, updated_by),
                          (model.deleted_by, deleted_by)):
        if value:
            where.append(column == value)
    if description:
        where.append(sa.func.lower(model.description).contains(
            description.lower(), autoescape=True))
    return where
