"""Work asked of the processor through the API: reprocessing tasks
(CloudKitty's ``storage_scope_reprocessing_schedule``) and pending scope
resets.

A task re-rates [start_reprocess_time, end_reprocess_time + period): the
end is the begin of the last period reprocessed, as in CloudKitty, and
``current_reprocess_time`` is the begin of the last period done (NULL
before the first). A task is finished when current reaches end; finished
tasks stay listed.

A reset is kept here until a processor has acted on it (deleted the
scope's rated data after the timestamp and set its state), then removed.

Datetimes are naive UTC in the tables and aware UTC through this module.
The API reads and changes both only through :class:`Schedule` and
:class:`Resets`.
"""
import dataclasses
import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from ratekeeper import db
from ratekeeper.processor import state as scope_state

UTC = datetime.timezone.utc
ORDERS = ('asc', 'desc')


class _LongText(sa.types.TypeDecorator):
    """A step's points run to megabytes: MySQL's TEXT stops at 64 KB, so
    LONGTEXT there (imported with the MySQL dialect when it is the one in
    use: a processor on PostgreSQL does not load it)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ('mysql', 'mariadb'):
            from sqlalchemy.dialects import mysql
            return dialect.type_descriptor(mysql.LONGTEXT())
        return dialect.type_descriptor(sa.Text())


LONG_TEXT = _LongText()


class TaskRow(db.Base):
    __tablename__ = 'rk_reprocessing_schedule'

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True,
                                            autoincrement=True)
    identifier: orm.Mapped[str] = orm.mapped_column(sa.String(256),
                                                    index=True)
    start_reprocess_time: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime)
    end_reprocess_time: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime)
    current_reprocess_time: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime, nullable=True)
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    pending_begin: orm.Mapped[datetime.datetime] = orm.mapped_column(
        sa.DateTime, nullable=True)
    pending_end: orm.Mapped[datetime.datetime] = orm.mapped_column(
        sa.DateTime, nullable=True)
    pending_points: orm.Mapped[str] = orm.mapped_column(LONG_TEXT,
                                                        nullable=True)


class ResetRow(scope_state.ScopeIdentity, db.Base):
    __tablename__ = 'rk_scope_resets'

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True,
                                            autoincrement=True)
    last_processed_timestamp: orm.Mapped[datetime.datetime] = \
        orm.mapped_column(sa.DateTime)
    requested_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        sa.DateTime)


@dataclasses.dataclass(frozen=True)
class Task:
    """A reprocessing task; datetimes aware UTC."""

    id: int
    scope_id: str
    start: datetime.datetime
    end: datetime.datetime
    current: datetime.datetime
    reason: str
    pending_begin: datetime.datetime = None
    pending_end: datetime.datetime = None
    pending_points: str = None

    @property
    def finished(self):
        return self.current is not None and self.current >= self.end

    def overlaps(self, start, end):
        """Closed ranges, as CloudKitty compares them: touching overlaps."""
        return self.start <= end and start <= self.end


@dataclasses.dataclass(frozen=True)
class Reset:
    id: int
    scope_id: str
    scope_key: str
    fetcher: str
    collector: str
    last_processed_timestamp: datetime.datetime


def floor_to_period(moment, period):
    """The begin of the collect period holding ``moment`` (aware UTC;
    periods are whole multiples of ``period`` seconds since the epoch)."""
    seconds = int(moment.timestamp())
    return datetime.datetime.fromtimestamp(seconds - seconds % period, UTC)


_aware = scope_state.to_aware_utc
_naive = scope_state.to_naive_utc


def _as_task(row):
    return Task(id=row.id, scope_id=row.identifier,
                start=_aware(row.start_reprocess_time),
                end=_aware(row.end_reprocess_time),
                current=_aware(row.current_reprocess_time),
                reason=row.reason, pending_begin=_aware(row.pending_begin),
                pending_end=_aware(row.pending_end),
                pending_points=row.pending_points)


def _unfinished(query):
    return query.filter(sa.or_(
        TaskRow.current_reprocess_time.is_(None),
        TaskRow.current_reprocess_time < TaskRow.end_reprocess_time))


class Schedule:
    """Reprocessing tasks: scheduling, listing, progress."""

    def __init__(self, conf):
        self.conf = conf

    def add(self, scope_ids, start, end, reason):
        """One task per scope, all or none."""
        with db.transaction(self.conf) as session:
            session.add_all(TaskRow(
                identifier=scope_id, start_reprocess_time=_naive(start),
                end_reprocess_time=_naive(end), reason=reason)
                for scope_id in scope_ids)
        return len(scope_ids)

    def list(self, scope_ids=None, order='desc', offset=0, limit=100):
        """Tasks, finished or not, ordered by id."""
        with db.transaction(self.conf) as session:
            query = session.query(TaskRow)
            if scope_ids:
                query = query.filter(TaskRow.identifier.in_(scope_ids))
            column = TaskRow.id.desc() if order == 'desc' else TaskRow.id
            query = query.order_by(column).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            return [_as_task(row) for row in query]

    def unfinished(self, scope_ids=None):
        """Tasks not finished yet, oldest first (of these scopes)."""
        with db.transaction(self.conf) as session:
            query = _unfinished(session.query(TaskRow))
            if scope_ids is not None:
                query = query.filter(TaskRow.identifier.in_(scope_ids))
            return [_as_task(row) for row in query.order_by(TaskRow.id)]

    def count(self, scope_ids=None):
        with db.transaction(self.conf) as session:
            query = session.query(TaskRow)
            if scope_ids:
                query = query.filter(TaskRow.identifier.in_(scope_ids))
            return query.count()

    def get(self, task_id):
        with db.transaction(self.conf) as session:
            row = session.get(TaskRow, task_id)
            return None if row is None else _as_task(row)

    def save_pending(self, task, begin, end, points):
        """Keep a step's re-rated points of [begin, end) (JSON text)
        before the step deletes that window."""
        self._update(task, pending_begin=_naive(begin),
                     pending_end=_naive(end), pending_points=points)

    def advance(self, task, current):
        """Periods up to ``current`` are done; the step's points go."""
        self._update(task, current_reprocess_time=_naive(current),
                     pending_begin=None, pending_end=None,
                     pending_points=None)

    def _update(self, task, **values):
        with db.transaction(self.conf) as session:
            session.query(TaskRow).filter(TaskRow.id == task.id).update(
                values, synchronize_session=False)


TASK_KEY = ('identifier', 'start_reprocess_time', 'end_reprocess_time',
            'reason')


def restore_tasks(session, tasks):
    """Add tasks scheduled elsewhere (an import), with their progress, in
    the caller's transaction: dicts of TaskRow's columns, naive UTC. A task
    already held (same scope, window and reason) keeps ratekeeper's own
    progress. Returns the number added."""
    present = {tuple(row) for row in session.execute(
        sa.select(*(getattr(TaskRow, key) for key in TASK_KEY)))}
    new = [task for task in tasks
           if tuple(task[key] for key in TASK_KEY) not in present]
    session.add_all(TaskRow(**task) for task in new)
    return len(new)


class Resets:
    """Scope resets asked for and not yet done."""

    def __init__(self, conf):
        self.conf = conf

    def request(self, states, last_processed_timestamp):
        """A reset of each ScopeState of ``states`` to the timestamp."""
        now = datetime.datetime.now(UTC).replace(tzinfo=None)
        with db.transaction(self.conf) as session:
            session.add_all(ResetRow(
                identifier=state.scope_id, scope_key=state.scope_key,
                fetcher=state.fetcher, collector=state.collector,
                last_processed_timestamp=_naive(last_processed_timestamp),
                requested_at=now) for state in states)
        return len(states)

    def pending(self):
        """Resets not done yet, in the order they were asked for."""
        with db.transaction(self.conf) as session:
            return [Reset(id=row.id, **ResetRow.identity_of(row),
                          last_processed_timestamp=_aware(
                              row.last_processed_timestamp))
                    for row in session.query(ResetRow).order_by(ResetRow.id)]

    def done(self, reset):
        with db.transaction(self.conf) as session:
            session.query(ResetRow).filter(ResetRow.id == reset.id).delete(
                synchronize_session=False)
