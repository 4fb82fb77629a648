"""Tables of the v1 (SQL) storage.

``rk_v1_periods`` holds each distinct collect period once, with its
calendar keys computed at write time, so grouping by month or year is a
join on a small table and needs no dialect-specific date functions.
``rk_v1_points`` holds one row per rated point; see the package docstring
for why attributes are JSON documents next to a few hot columns.
``rk_v1_descriptions`` holds each distinct metric description once; a
point names its own by ``description_id`` (NULL: none).

These tables serve queries; the schema itself (MariaDB's utf8mb4 binary
collation and index prefixes included) is the migrations' (migrations/).
Nothing here names a dialect's options or types at import: SQLAlchemy
would load that dialect's package in every process.
"""
import sqlalchemy as sa


class _Moment(sa.types.TypeDecorator):
    """MySQL's plain DATETIME drops microseconds; periods keep them:
    DATETIME(6) there, DateTime elsewhere. The MySQL type is imported with
    the dialect in use, so a process on PostgreSQL never loads SQLAlchemy's
    MySQL dialect (nor the other way round)."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ('mysql', 'mariadb'):
            from sqlalchemy.dialects import mysql
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())


class _Attributes(sa.types.TypeDecorator):
    """JSONB on PostgreSQL makes ->> extraction cheap; text elsewhere (the
    PostgreSQL type imported as _Moment's MySQL one)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == 'postgresql':
            from sqlalchemy.dialects import postgresql
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.Text())


MOMENT = _Moment()
# Exact decimals on PostgreSQL and MariaDB; REAL on SQLite (no decimal type)
# where sums are rounded to the same 12 places when read.
NUMBER = sa.Numeric(30, 12, asdecimal=False)
SCALE = 12
ATTRIBUTES = _Attributes()

metadata = sa.MetaData()

periods = sa.Table(
    'rk_v1_periods', metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('begin', MOMENT, nullable=False),
    sa.Column('end', MOMENT, nullable=False),
    sa.Column('begin_epoch', sa.BigInteger, nullable=False),
    sa.Column('day_of_the_year', sa.String(3), nullable=False),
    sa.Column('week_of_the_year', sa.String(2), nullable=False),
    sa.Column('month', sa.String(2), nullable=False),
    sa.Column('year', sa.String(4), nullable=False),
    sa.UniqueConstraint('begin', 'end', name='uq_rk_v1_periods_begin_end'),
    sa.Index('ix_rk_v1_periods_epoch', 'begin_epoch'),
)

points = sa.Table(
    'rk_v1_points', metadata,
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
              primary_key=True, autoincrement=True),
    sa.Column('period_id', sa.Integer,
              sa.ForeignKey('rk_v1_periods.id', name='fk_rk_v1_points_period'),
              nullable=False),
    sa.Column('type', sa.String(255), nullable=False),
    sa.Column('unit', sa.Text, nullable=False),
    sa.Column('qty', NUMBER, nullable=False),
    sa.Column('price', NUMBER, nullable=False),
    sa.Column('scope_id', sa.Text, nullable=True),
    sa.Column('groupby', ATTRIBUTES, nullable=False),
    sa.Column('metadata', ATTRIBUTES, nullable=False),
    sa.Column('description_id', sa.Integer, nullable=True),
    sa.Index('ix_rk_v1_points_period', 'period_id'),
)

descriptions = sa.Table(
    'rk_v1_descriptions', metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('description', sa.Text, nullable=False),
)

rollups = sa.Table(
    'rk_v1_rollups', metadata,
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
              primary_key=True, autoincrement=True),
    sa.Column('period_id', sa.Integer,
              sa.ForeignKey('rk_v1_periods.id',
                            name='fk_rk_v1_rollups_period'),
              nullable=False),
    sa.Column('type', sa.String(255), nullable=False),
    sa.Column('scope_id', sa.Text, nullable=True),
    sa.Column('qty', NUMBER, nullable=False),
    sa.Column('price', NUMBER, nullable=False),
    sa.Column('points', sa.BigInteger, nullable=False),
    sa.Index('ix_rk_v1_rollups_totals', 'period_id', 'type', 'scope_id',
             'qty', 'price', 'points'),
)

# Each push's sums per (period, type): what totals without a scope filter
# or grouping read (15 rows instead of 300 per push of the benchmark data).
type_rollups = sa.Table(
    'rk_v1_type_rollups', metadata,
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
              primary_key=True, autoincrement=True),
    sa.Column('period_id', sa.Integer,
              sa.ForeignKey('rk_v1_periods.id',
                            name='fk_rk_v1_type_rollups_period'),
              nullable=False),
    sa.Column('type', sa.String(255), nullable=False),
    sa.Column('qty', NUMBER, nullable=False),
    sa.Column('price', NUMBER, nullable=False),
    sa.Column('points', sa.BigInteger, nullable=False),
    sa.Index('ix_rk_v1_type_rollups_totals', 'period_id', 'type', 'qty',
             'price', 'points'),
)
