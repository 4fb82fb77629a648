"""Core tables: rating module states and the collector's tables."""
import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from ratekeeper import db


class ModuleState(db.Base):
    """Whether a rating module (or a collector, as ``collector_<name>``) is
    enabled, and in which priority order modules run."""

    __tablename__ = 'rk_module_states'

    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), primary_key=True)
    enabled: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, default=False)
    priority: orm.Mapped[int] = orm.mapped_column(sa.Integer, default=1)


class CollectorMapping(db.Base):
    """Which collector collects a service (deprecated CloudKitty v1 API)."""

    __tablename__ = 'rk_collector_mappings'

    service: orm.Mapped[str] = orm.mapped_column(sa.String(255),
                                                 primary_key=True)
    collector: orm.Mapped[str] = orm.mapped_column(sa.String(255))


class PushKey(db.Base):
    """An Idempotency-Key of a push: ``done`` once its points are stored,
    pending while they are being stored."""

    __tablename__ = 'rk_push_keys'

    key: orm.Mapped[str] = orm.mapped_column(sa.String(255),
                                             primary_key=True)
    done: orm.Mapped[bool] = orm.mapped_column(sa.Boolean, default=False)
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(
        sa.DateTime)
