"""Pyscripts in the database, with CloudKitty's semantics and texts.

Functions take the configuration and values the API layer has parsed; a
broken request raises an errors.APIError before anything is written. The
script text is checked (size, compiles) by a confined worker, never by
compiling it here. Every write moves the revision, which is how the module
in every process learns its loaded scripts are stale.
"""
import hashlib
import uuid

import sqlalchemy as sa

from ratekeeper import db
from ratekeeper import errors
from ratekeeper.rating import revisions
from ratekeeper.rating import validity
from ratekeeper.rating.pyscripts import models
from ratekeeper.rating.pyscripts import sandbox

now = validity.now

# Every write moves the revision: the module reloads its scripts from it.
REVISIONS = revisions.Revisions(models.Revision)
_bump_revision = REVISIONS.bump
revision = REVISIONS.current


def checksum(data):
    """CloudKitty's: the sha512 of the text, in hex."""
    return hashlib.sha512(data.encode('utf-8')).hexdigest()


def invalid(message):
    return errors.BadRequest(message, code=errors.PYSCRIPTS_INVALID_SCRIPT)


def _not_found(script_id):
    return errors.NotFound('No such script: None (UUID: %s)' % script_id,
                           code=errors.PYSCRIPTS_NOT_FOUND)


def check_data(conf, name, data):
    """Refuse text that is no script: empty, too large, not Python."""
    if not data or not data.strip():
        raise invalid('A script must not be empty.')
    if '\x00' in data:
        raise invalid('A script is text: it must not contain NUL '
                      'characters.')
    size = len(data.encode('utf-8', 'surrogatepass'))
    limit = conf.pyscripts.max_script_size
    if size > limit:
        raise invalid('The script is %d bytes long; at most %d are '
                      'accepted.' % (size, limit))
    answer = sandbox.get_pool(conf).call(
        {'op': 'check', 'name': name, 'source': data}, {None: name})
    if answer.get('error'):
        raise invalid('The script %s is not valid Python: %s'
                      % (name, answer['error']))


def _script(session, script_id):
    row = session.get(models.Script, script_id) if script_id else None
    if row is None or row.deleted is not None:
        raise _not_found(script_id)
    return row


def _check_name_free(session, name, script_id=None):
    other = session.scalar(sa.select(models.Script).where(
        models.Script.live_name == name))
    if other is not None and other.script_id != script_id:
        raise errors.Conflict('Script %s already exists (UUID: %s)'
                              % (name, other.script_id),
                              code=errors.PYSCRIPTS_DUPLICATE)


def list_scripts(conf, deleted=False, start=None, end=None, created_by=None,
                 updated_by=None, deleted_by=None, description=None,
                 is_active=None):
    S = models.Script
    where = validity.list_filters(
        S, deleted, start, end, is_active, created_by, updated_by,
        deleted_by, description)
    with db.transaction(conf) as session:
        return list(session.scalars(sa.select(S).where(*where).order_by(
            S.created_at, S.name)))


def get_script(conf, script_id):
    with db.transaction(conf) as session:
        return _script(session, script_id)


def create_script(conf, data, force=False, user='unknown'):
    """``data``: name, data, and optionally script_id, start, end and
    description."""
    validity.check_dates(data.get('start'), data.get('end'), invalid, force)
    check_data(conf, data['name'], data['data'])
    with db.transaction(conf) as session:
        _check_name_free(session, data['name'])
        script_id = data.get('script_id') or str(uuid.uuid4())
        if session.get(models.Script, script_id) is not None:
            raise errors.Conflict('Script %s already exists' % script_id,
                                  code=errors.PYSCRIPTS_DUPLICATE)
        moment = now()
        row = models.Script(
            script_id=script_id, name=data['name'], live_name=data['name'],
            data=data['data'], checksum=checksum(data['data']),
            created_at=moment, start=data.get('start') or moment,
            end=data.get('end'), description=data.get('description'),
            created_by=user)
        session.add(row)
        _bump_revision(session)
        return row


def _stored(row, key):
    return getattr(row, key, None)


def update_script(conf, script_id, data, user='unknown'):
    """A running script may only get an ``end``; one not started yet may
    change its text, dates and description (as CloudKitty, other fields
    are ignored)."""
    if data.get('data') is not None:
        check_data(conf, data.get('name') or script_id, data['data'])
    with db.transaction(conf) as session:
        row = _script(session, script_id)
        if row.start < now():
            validity.end_running_rule(row, data, _stored,
                                      errors.PYSCRIPTS_RULE_RUNNING, invalid)
        else:
            _change_future_script(row, data)
        row.updated_by = user
        _bump_revision(session)
        return row


def _change_future_script(row, data):
    start = data.get('start') or row.start
    validity.check_dates(start, data.get('end'), invalid)
    if data.get('data') is not None:
        row.data, row.checksum = data['data'], checksum(data['data'])
    row.start, row.end = start, data.get('end')
    row.description = data.get('description')


def delete_script(conf, script_id, user='unknown'):
    """A soft delete: the row stays, invisible to the API and to rating."""
    with db.transaction(conf) as session:
        row = _script(session, script_id)
        row.deleted, row.deleted_by, row.live_name = now(), user, None
        _bump_revision(session)


def load_live(conf):
    """(revision, scripts not deleted) as detached plain tuples, for the
    module: (script_id, name, checksum, data, start, end)."""
    with db.transaction(conf) as session:
        S = models.Script
        live = session.execute(sa.select(
            S.script_id, S.name, S.checksum, S.data, S.start, S.end).where(
                S.deleted.is_(None)).order_by(S.created_at, S.name)).all()
        return REVISIONS.read(session), [tuple(r) for r in live]
