"""Scope states: how far the processor got for each scope.

Revision ID: processor_0001
Revises:
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = 'processor_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rk_scope_states',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('identifier', sa.String(256), nullable=False),
        sa.Column('scope_key', sa.String(40), nullable=True),
        sa.Column('fetcher', sa.String(40), nullable=True),
        sa.Column('collector', sa.String(40), nullable=True),
        sa.Column('last_processed_timestamp', sa.DateTime, nullable=False),
        sa.Column('scope_activation_toggle_date', sa.DateTime,
                  nullable=False, server_default=sa.func.now()),
        sa.Column('active', sa.Boolean, nullable=False,
                  server_default=sa.true()),
        sa.Column('processing_timestamp', sa.DateTime, nullable=True),
        sa.UniqueConstraint('identifier', 'scope_key', 'collector',
                            'fetcher', name='uq_rk_scope_states_identifier'))


def downgrade():
    op.drop_table('rk_scope_states')
