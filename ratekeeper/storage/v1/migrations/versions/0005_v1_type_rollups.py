"""v1 storage: per-push rollups per (period, type) for unscoped totals.

The (period, type, scope) rollups hold 30k rows for the benchmark's 100k
points (many projects), and summing them was most of /v1/report/total with
all_tenants (4 ms on SQLite). Totals that neither filter nor group by the
scope now read these rows, one per period and type of each push.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

NUMBER = sa.Numeric(30, 12)
BINARY_COLLATION = 'utf8mb4_nopad_bin'


def upgrade():
    op.create_table(
        'rk_v1_type_rollups',
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
        mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION)
    op.create_index('ix_rk_v1_type_rollups_totals', 'rk_v1_type_rollups',
                    ['period_id', 'type', 'qty', 'price', 'points'])
    op.execute(
        'INSERT INTO rk_v1_type_rollups (period_id, type, qty, price, '
        'points) SELECT period_id, type, SUM(qty), SUM(price), SUM(points) '
        'FROM rk_v1_rollups GROUP BY period_id, type')


def downgrade():
    op.drop_table('rk_v1_type_rollups')
