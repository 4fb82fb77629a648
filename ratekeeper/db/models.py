"""Core tables: rating module states and the collector's tables."""
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
