"""Tables of the v1 (SQL) storage.

``rk_v1_periods`` holds each distinct collect period once, with its
calendar keys computed at write time, so grouping by month or year is a
join on a small table and needs no dialect-specific date functions.
``rk_v1_points`` holds one row per rated point; see the package docstring
for why attributes are JSON documents next to a few hot columns.
``rk_v1_descriptions`` holds each distinct metric description once; a
point names its own by ``description_id`` (NULL: none).
"""
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql

# MySQL's plain DATETIME drops microseconds; periods keep them.
MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')
# Exact decimals on PostgreSQL and MariaDB; REAL on SQLite (no decimal type)
# where sums are rounded to the same 12 places when read.
NUMBER = sa.Numeric(30, 12, asdecimal=False)
SCALE = 12
# JSONB on PostgreSQL makes ->> extraction cheap; text elsewhere.
ATTRIBUTES = sa.Text().with_variant(postgresql.JSONB(), 'postgresql')
# Case, accents and trailing spaces matter in attribute values, as in v2.
BINARY_COLLATION = 'utf8mb4_nopad_bin'
TEXT_INDEX_PREFIX = 191  # utf8mb4 index length limit on old MariaDB setups

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
    mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION,
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
    mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION,
)

descriptions = sa.Table(
    'rk_v1_descriptions', metadata,
    sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('description', sa.Text, nullable=False),
    mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION,
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
             'qty', 'price', 'points',
             mysql_length={'scope_id': TEXT_INDEX_PREFIX}),
    mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION,
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
    mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION,
)
