"""Pyscripts in the database: one row per script, soft-deleted as
CloudKitty's, plus a revision row every process compares with the one its
loaded scripts came from."""
import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from ratekeeper import db


class Script(db.Base):
    __tablename__ = 'rk_pyscripts_scripts'

    script_id: orm.Mapped[str] = orm.mapped_column(sa.String(36),
                                                   primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    # the name while the script is not deleted, NULL after: unique, so two
    # live scripts never share a name, even when created at the same time
    live_name: orm.Mapped[str | None] = orm.mapped_column(
        sa.String(255), unique=True)
    data: orm.Mapped[str] = orm.mapped_column(sa.Text)
    checksum: orm.Mapped[str] = orm.mapped_column(sa.String(128))
    created_at: orm.Mapped[datetime.datetime] = orm.mapped_column(sa.DateTime)
    start: orm.Mapped[datetime.datetime] = orm.mapped_column(sa.DateTime)
    end: orm.Mapped[datetime.datetime | None] = orm.mapped_column(sa.DateTime)
    description: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    deleted: orm.Mapped[datetime.datetime | None] = orm.mapped_column(
        sa.DateTime)
    created_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    updated_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    deleted_by: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))


class Revision(db.Base):
    __tablename__ = 'rk_pyscripts_revision'

    id: orm.Mapped[int] = orm.mapped_column(sa.Integer, primary_key=True)
    revision: orm.Mapped[int] = orm.mapped_column(sa.Integer)
