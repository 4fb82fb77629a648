"""v1 storage: periods and points.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# Column types are spelled out here (not imported from models) so this
# revision keeps creating the same schema when the models move on.
MOMENT = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')
NUMBER = sa.Numeric(30, 12)
BINARY_COLLATION = 'utf8mb4_nopad_bin'
ATTRIBUTES = sa.Text().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'rk_v1_periods',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('begin', MOMENT, nullable=False),
        sa.Column('end', MOMENT, nullable=False),
        sa.Column('begin_epoch', sa.BigInteger, nullable=False),
        sa.Column('day_of_the_year', sa.String(3), nullable=False),
        sa.Column('week_of_the_year', sa.String(2), nullable=False),
        sa.Column('month', sa.String(2), nullable=False),
        sa.Column('year', sa.String(4), nullable=False),
        sa.UniqueConstraint('begin', 'end', name='uq_rk_v1_periods_begin_end'),
        mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION)
    op.create_index('ix_rk_v1_periods_epoch', 'rk_v1_periods',
                    ['begin_epoch'])
    op.create_table(
        'rk_v1_points',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                  primary_key=True, autoincrement=True),
        sa.Column('period_id', sa.Integer,
                  sa.ForeignKey('rk_v1_periods.id',
                                name='fk_rk_v1_points_period'),
                  nullable=False),
        sa.Column('type', sa.String(255), nullable=False),
        sa.Column('unit', sa.Text, nullable=False),
        sa.Column('qty', NUMBER, nullable=False),
        sa.Column('price', NUMBER, nullable=False),
        sa.Column('scope_id', sa.Text, nullable=True),
        sa.Column('groupby', ATTRIBUTES, nullable=False),
        sa.Column('metadata', ATTRIBUTES, nullable=False),
        mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION)
    op.create_index('ix_rk_v1_points_period', 'rk_v1_points',
                    ['period_id', 'type'])
    op.create_index('ix_rk_v1_points_scope', 'rk_v1_points', ['scope_id'],
                    mysql_length=191)


def downgrade():
    # Dropping a table drops its indexes; MariaDB refuses to drop the
    # period index on its own while the foreign key needs it.
    op.drop_table('rk_v1_points')
    op.drop_index('ix_rk_v1_periods_epoch', 'rk_v1_periods')
    op.drop_table('rk_v1_periods')
