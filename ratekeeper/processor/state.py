"""Scope state: how far the processor got for each scope.

One row per (scope id, scope key, fetcher, collector), as CloudKitty's
``cloudkitty_storage_states``. ``last_processed_timestamp`` is the begin of
the last period rated and stored. ``processing_timestamp`` is set, in its
own commit, before a period's points are pushed, and cleared when the
state advances past it: a processor that finds it set knows that period
may be partly or wholly stored and deletes it before rating it again, so
a crash between the push and the state commit never counts it twice.

Datetimes are naive UTC in the table and aware UTC through this module's
interface. The API reads and changes scope states only through
:class:`ScopeStates`.
"""
import dataclasses
import datetime

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from ratekeeper import db
from ratekeeper import errors

UTC = datetime.timezone.utc


class ScopeIdentity:
    """The columns naming a scope state: its id, scope key, fetcher and
    collector (a scope state's row, and a reset asked for it)."""

    identifier: orm.Mapped[str] = orm.mapped_column(sa.String(256))
    scope_key: orm.Mapped[str] = orm.mapped_column(sa.String(40),
                                                   nullable=True)
    fetcher: orm.Mapped[str] = orm.mapped_column(sa.String(40), nullable=True)
    collector: orm.Mapped[str] = orm.mapped_column(sa.String(40),
                                                   nullable=True)

    @classmethod
    def identity(cls, state):
        """The condition selecting the rows of ``state`` (a ScopeState,
        or anything with scope_id, scope_key, fetcher and collector)."""
        return sa.and_(cls.identifier == state.scope_id,
                       cls.scope_key == state.scope_key,
                       cls.fetcher == state.fetcher,
                       cls.collector == state.collector)

    @staticmethod
    def identity_of(row):
        """scope_id, scope_key, fetcher and collector of a row, as the
        dataclasses of this package name them."""
        return dict(scope_id=row.identifier, scope_key=row.scope_key,
                    fetcher=row.fetcher, collector=row.collector)


class ScopeStateRow(ScopeIdentity, db.Base):
    __tablename__ = 'rk_scope_states'
    __table_args__ = (
        sa.UniqueConstraint('identifier', 'scope_key', 'collector', 'fetcher',
                            name='uq_rk_scope_states_identifier'),
    )

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True,
                                            autoincrement=True)
    last_processed_timestamp: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime)
    scope_activation_toggle_date: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime)
    active: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, default=True)
    processing_timestamp: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime, nullable=True)


@dataclasses.dataclass(frozen=True)
class ScopeState:
    """A scope's state; datetimes aware UTC."""

    scope_id: str
    scope_key: str
    fetcher: str
    collector: str
    last_processed_timestamp: datetime.datetime
    scope_activation_toggle_date: datetime.datetime
    active: bool
    processing_timestamp: datetime.datetime = None


class ScopeNotFound(errors.NotFound):
    code = errors.NO_RESOURCE_FOUND


class TooManyScopes(errors.NotFound):
    code = errors.NO_RESOURCE_FOUND


class ScopeExists(errors.Conflict):
    pass


def to_naive_utc(value):
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def to_aware_utc(value):
    """A naive UTC datetime of the tables as an aware one."""
    return None if value is None else value.replace(tzinfo=UTC)


_aware = to_aware_utc


def _now():
    return datetime.datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _as_state(row):
    return ScopeState(
        **ScopeIdentity.identity_of(row),
        last_processed_timestamp=_aware(row.last_processed_timestamp),
        scope_activation_toggle_date=_aware(row.scope_activation_toggle_date),
        active=bool(row.active),
        processing_timestamp=_aware(row.processing_timestamp))


def _values(values):
    """None, a string or a list of strings -> a list (None: no filter)."""
    if values is None:
        return None
    return [values] if isinstance(values, str) else list(values)


ORDER = (ScopeStateRow.identifier, ScopeStateRow.scope_key,
         ScopeStateRow.fetcher, ScopeStateRow.collector, ScopeStateRow.id)


class ScopeStates:
    """Reads and changes scope states; the only way in to the table."""

    def __init__(self, conf):
        self.conf = conf

    # -- reading --------------------------------------------------------

    def _query(self, session, scope_id=None, scope_key=None, fetcher=None,
               collector=None, active=None):
        query = session.query(ScopeStateRow)
        for column, values in ((ScopeStateRow.identifier, scope_id),
                               (ScopeStateRow.scope_key, scope_key),
                               (ScopeStateRow.fetcher, fetcher),
                               (ScopeStateRow.collector, collector)):
            values = _values(values)
            if values:
                query = query.filter(column.in_(values))
        if active is not None:
            query = query.filter(ScopeStateRow.active == bool(active))
        return query

    def list(self, scope_id=None, scope_key=None, fetcher=None,
             collector=None, active=None, offset=0, limit=100):
        """States matching every filter given (a value or a list of values
        each; ``active`` None for both), in a stable order (scope id, scope
        key, fetcher, collector). ``limit`` None: all of them."""
        with db.transaction(self.conf) as session:
            query = self._query(session, scope_id, scope_key, fetcher,
                                collector, active).order_by(*ORDER)
            query = query.offset(offset)
            if limit is not None:
                query = query.limit(limit)
            return [_as_state(row) for row in query]

    def count(self, **filters):
        with db.transaction(self.conf) as session:
            return self._query(session, **filters).count()

    def get(self, scope_id, scope_key=None, fetcher=None, collector=None):
        """The one state of ``scope_id`` (narrowed by the other keys when
        given), or None; TooManyScopes when several match."""
        with db.transaction(self.conf) as session:
            rows = self._query(session, scope_id, scope_key, fetcher,
                               collector).order_by(*ORDER).limit(2).all()
        if len(rows) > 1:
            raise TooManyScopes('Too many resources found with the same '
                                'scope_id: %s.' % scope_id)
        return _as_state(rows[0]) if rows else None

    # -- changing -------------------------------------------------------

    def create(self, scope_id, last_processed_timestamp, scope_key=None,
               fetcher=None, collector=None, active=True):
        row = ScopeStateRow(
            identifier=scope_id, scope_key=scope_key, fetcher=fetcher,
            collector=collector,
            last_processed_timestamp=to_naive_utc(last_processed_timestamp),
            scope_activation_toggle_date=_now(), active=bool(active))
        try:
            with db.transaction(self.conf) as session:
                session.add(row)
        except sa_exc.IntegrityError:
            raise ScopeExists('Cannot create a scope with an already '
                              'existing scope_id: %s.' % scope_id) from None
        return _as_state(row)

    def patch(self, scope_id, match=None, **changes):
        """Change the fields given in ``changes`` (scope_key, fetcher,
        collector, active) of the one state of ``scope_id`` (narrowed by
        ``match``, a dict of scope_key/fetcher/collector). The toggle date
        moves only when ``active`` really changes."""
        unknown = set(changes) - {'scope_key', 'fetcher', 'collector',
                                  'active'}
        if unknown:
            raise TypeError('cannot patch %s' % ', '.join(sorted(unknown)))
        with db.transaction(self.conf) as session:
            rows = self._query(session, scope_id, **(match or {})).limit(
                2).with_for_update().all()
            if not rows:
                raise ScopeNotFound('No resource found for provided '
                                    'filters.')
            if len(rows) > 1:
                raise TooManyScopes('Too many resources found with the '
                                    'same scope_id: %s.' % scope_id)
            row = rows[0]
            active = changes.pop('active', None)
            if active is not None and bool(active) != row.active:
                row.active = bool(active)
                row.scope_activation_toggle_date = _now()
            for key, value in changes.items():
                if value is not None:
                    setattr(row, key, value)
        return _as_state(row)

    def reset(self, last_processed_timestamp, scope_id=None, scope_key=None,
              fetcher=None, collector=None, active=None):
        """Set the last processed timestamp of every matching state; the
        number of states changed."""
        with db.transaction(self.conf) as session:
            return self._query(
                session, scope_id, scope_key, fetcher, collector,
                active).update(
                    {ScopeStateRow.last_processed_timestamp:
                     to_naive_utc(last_processed_timestamp)},
                    synchronize_session=False)

    # -- the processor's side ---------------------------------------------

    def ensure(self, scope_id, scope_key, fetcher, collector,
               last_processed):
        """The state of this scope for this processor configuration,
        created with ``last_processed`` when it has none."""
        state = self.get(scope_id, scope_key, fetcher, collector)
        if state is not None:
            return state
        try:
            return self.create(scope_id, last_processed, scope_key, fetcher,
                               collector)
        except ScopeExists:  # another processor created it meanwhile
            return self.get(scope_id, scope_key, fetcher, collector)

    def set_processing(self, state, begin):
        """Record, in its own commit, that the period ``begin`` is being
        stored for ``state``'s scope."""
        self._update(state, processing_timestamp=to_naive_utc(begin))

    def set_last_processed(self, state, begin):
        """The period ``begin`` is rated and stored: advance the state and
        clear the in-progress mark, in one commit."""
        self._update(state, last_processed_timestamp=to_naive_utc(begin),
                     processing_timestamp=None)

    def _update(self, state, **values):
        with db.transaction(self.conf) as session:
            session.query(ScopeStateRow).filter(
                ScopeStateRow.identity(state)).update(
                    values, synchronize_session=False)
