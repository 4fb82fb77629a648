"""The Idempotency-Key header of a push: a retried push stores nothing
twice, whatever the storage backend.

Keys live in the SQL database (``[database] connection``), which every API
process shares. A push claims its key (a row, unique), stores its points,
then marks the key done; a retry of a done push is answered as the first
one was (204) without storing, a retry while the first is still being
stored gets a 409, and a push that failed releases its key so that the
retry stores the points. A process killed between storing and marking
leaves its key pending: retries get 409 rather than risk counting the
points twice.
"""
import datetime

import sqlalchemy as sa

from ratekeeper import db
from ratekeeper import errors
from ratekeeper.db import models

HEADER = 'Idempotency-Key'
MAX_LENGTH = 255


def _claim(conf, key):
    """True when this push owns ``key`` now; False when a push with it
    is done; raises Conflict when one is still being stored."""
    try:
        with db.transaction(conf) as session:
            session.add(models.PushKey(
                key=key, done=False,
                created_at=datetime.datetime.now(datetime.timezone.utc)
                .replace(tzinfo=None)))
        return True
    except sa.exc.IntegrityError:
        pass
    with db.transaction(conf) as session:
        claim = session.get(models.PushKey, key)
    if claim is None:  # released meanwhile: the failed push stored nothing
        return _claim(conf, key)
    if claim.done:
        return False
    raise errors.Conflict(
        'A push with this Idempotency-Key is being stored; retry later.')


def _set(conf, key, done):
    with db.transaction(conf) as session:
        claim = session.get(models.PushKey, key)
        if done:
            claim.done = True
        else:
            session.delete(claim)


def checked_key(value):
    if value is None:
        return None
    if not 0 < len(value) <= MAX_LENGTH or not value.isprintable():
        raise errors.InvalidInput(
            'The Idempotency-Key header must have 1 to %d printable '
            'characters.' % MAX_LENGTH)
    return value


def push_once(conf, key, push):
    """Call ``push()`` unless a push with ``key`` (None: no key) is stored
    already."""
    key = checked_key(key)
    if key is None:
        push()
        return
    if not _claim(conf, key):
        return
    try:
        push()
    except BaseException:
        _set(conf, key, done=False)
        raise
    _set(conf, key, done=True)
