"""Core tables: module states, collector mappings.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rk_module_states',
        sa.Column('name', sa.String(255), primary_key=True),
        sa.Column('enabled', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('priority', sa.Integer, nullable=False,
                  server_default='1'))
    op.create_table(
        'rk_collector_mappings',
        sa.Column('service', sa.String(255), primary_key=True),
        sa.Column('collector', sa.String(255), nullable=False))


def downgrade():
    op.drop_table('rk_collector_mappings')
    op.drop_table('rk_module_states')
