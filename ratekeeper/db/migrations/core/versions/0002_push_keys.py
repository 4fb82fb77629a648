"""Idempotency keys of pushes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rk_push_keys',
        sa.Column('key', sa.String(255), primary_key=True),
        sa.Column('done', sa.Boolean, nullable=False,
                  server_default=sa.false()),
        sa.Column('created_at', sa.DateTime, nullable=False))


def downgrade():
    op.drop_table('rk_push_keys')
