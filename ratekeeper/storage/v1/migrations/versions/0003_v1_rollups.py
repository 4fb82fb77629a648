"""v1 storage: per-push rollups answer totals by type, time and scope.

Every push also stores its sums per (period, type, scope), so
/v1/report/total, /v1/report/summary and /v1/report/tenants read a few
rows per period instead of every point. With totals served from there,
the points' covering index gives way to a plain period index again (less
to write; and it returns a period's points in insertion order, so the
ordered stream needs no sort).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NUMBER = sa.Numeric(30, 12)
BINARY_COLLATION = 'utf8mb4_nopad_bin'


def upgrade():
    op.create_table(
        'rk_v1_rollups',
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
        mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION)
    op.create_index('ix_rk_v1_rollups_period', 'rk_v1_rollups', ['period_id'])
    op.execute(
        'INSERT INTO rk_v1_rollups (period_id, type, scope_id, qty, price, '
        'points) SELECT period_id, type, scope_id, SUM(qty), SUM(price), '
        'COUNT(*) FROM rk_v1_points GROUP BY period_id, type, scope_id')
    op.create_index('ix_rk_v1_points_period', 'rk_v1_points', ['period_id'])
    op.drop_index('ix_rk_v1_points_totals', 'rk_v1_points')


def downgrade():
    op.create_index('ix_rk_v1_points_totals', 'rk_v1_points',
                    ['period_id', 'type', 'scope_id', 'qty', 'price'],
                    mysql_length={'scope_id': 191})
    op.drop_index('ix_rk_v1_points_period', 'rk_v1_points')
    op.drop_table('rk_v1_rollups')
