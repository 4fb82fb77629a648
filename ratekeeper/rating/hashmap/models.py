"""Hashmap rules: services, fields, groups, mappings and thresholds.

Costs and levels are kept as exact decimal text (not REAL, not Numeric:
SQLite would turn "0.01" into a binary float), so what a client sends is
what it reads back and what the engine prices with. The models own the
rule of what is kept: a cost or level set on a row is rounded to
CloudKitty's places there and then, so no caller rounds before storing.
"""
import datetime
import decimal

import sqlalchemy as sa
from sqlalchemy import orm

from ratekeeper import db

COST_PLACES = decimal.Decimal(1).scaleb(-28)   # CloudKitty's Numeric(40,28)
LEVEL_PLACES = decimal.Decimal(1).scaleb(-8)   # and Numeric(20,8)
# rounding to those places never runs out of digits in this context
PRECISE = decimal.Context(prec=60)


def _rounded(value, places):
    # half away from zero, as MySQL and PostgreSQL round a DECIMAL column
    # (which has no negative zero)
    rounded = decimal.Decimal(value).quantize(
        places, rounding=decimal.ROUND_HALF_UP, context=PRECISE)
    return rounded.copy_abs() if not rounded else rounded


def stored_cost(value):
    """A cost as kept: with CloudKitty's 28 decimals, what the API shows
    and what pricing uses (rows round what is set on them; a cost read
    back is its shortest text, which this pads)."""
    return _rounded(value, COST_PLACES)


def stored_level(value):
    """A threshold level as kept: with CloudKitty's 8 decimals."""
    return _rounded(value, LEVEL_PLACES)


class DecimalText(sa.types.TypeDecorator):
    """A Decimal stored as its canonical text, exactly."""

    impl = sa.String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return format(decimal.Decimal(value).normalize(), 'f')

    def process_result_value(self, value, dialect):
        return None if value is None else decimal.Decimal(value)


def _uuid_column(*args, **kwargs):
    return orm.mapped_column(sa.String(36), *args, **kwargs)


class Service(db.Base):
    __tablename__ = 'rk_hashmap_services'

    service_id: orm.Mapped[str] = _uuid_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), unique=True)


class Field(db.Base):
    __tablename__ = 'rk_hashmap_fields'
    __table_args__ = (sa.UniqueConstraint('service_id', 'name'),)

    field_id: orm.Mapped[str] = _uuid_column(primary_key=True)
    service_id: orm.Mapped[str] = _uuid_column(
        sa.ForeignKey('rk_hashmap_services.service_id', ondelete='CASCADE'))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(255))


class Group(db.Base):
    __tablename__ = 'rk_hashmap_groups'

    group_id: orm.Mapped[str] = _uuid_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(255), unique=True)


class Mapping(db.Base):
    __tablename__ = 'rk_hashmap_mappings'

    mapping_id: orm.Mapped[str] = _uuid_column(primary_key=True)
    value: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    map_type: orm.Mapped[str] = orm.mapped_column(sa.String(8))
    cost: orm.Mapped[decimal.Decimal] = orm.mapped_column(DecimalText)
    service_id: orm.Mapped[str | None] = _uuid_column(
        sa.ForeignKey('rk_hashmap_services.service_id', ondelete='CASCADE'))
    field_id: orm.Mapped[str | None] = _uuid_column(
        sa.ForeignKey('rk_hashmap_fields.field_id', ondelete='CASCADE'))
    group_id: orm.Mapped[str | None] = _uuid_column(
        sa.ForeignKey('rk_hashmap_groups.group_id', ondelete='SET NULL'))
    tenant_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(sa.DateTime)
    start: orm.Mapped[datetime.datetime] = orm.mapped_column(sa.DateTime)
    end: orm.Mapped[datetime.datetime | None] = orm.mapped_column(sa.DateTime)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(32))
    description: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    deleted: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        sa.DateTime)
    created_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    updated_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    deleted_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))

    @orm.validates('cost')
    def _keep_cost(self, _key, value):
        return None if value is None else stored_cost(value)


class Threshold(db.Base):
    __tablename__ = 'rk_hashmap_thresholds'

    threshold_id: orm.Mapped[str] = _uuid_column(primary_key=True)
    level: orm.Mapped[decimal.Decimal] = orm.mapped_column(DecimalText)
    map_type: orm.Mapped[str] = orm.mapped_column(sa.String(8))
    cost: orm.Mapped[decimal.Decimal] = orm.mapped_column(DecimalText)
    service_id: orm.Mapped[str | None] = _uuid_column(
        sa.ForeignKey('rk_hashmap_services.service_id', ondelete='CASCADE'))
    field_id: orm.Mapped[str | None] = _uuid_column(
        sa.ForeignKey('rk_hashmap_fields.field_id', ondelete='CASCADE'))
    group_id: orm.Mapped[str | None] = _uuid_column(
        sa.ForeignKey('rk_hashmap_groups.group_id', ondelete='SET NULL'))
    tenant_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))

    @orm.validates('cost', 'level')
    def _keep_decimal(self, key, value):
        kept = stored_cost if key == 'cost' else stored_level
        return None if value is None else kept(value)


class Revision(db.Base):
    """One row counting rule changes: every process compares it with the
    revision its compiled tables were built from, and recompiles when it
    moved (so a change made through any API process is seen by all)."""

    __tablename__ = 'rk_hashmap_revision'

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    revision: orm.Mapped[int] = orm.mapped_column(sa.Integer)
