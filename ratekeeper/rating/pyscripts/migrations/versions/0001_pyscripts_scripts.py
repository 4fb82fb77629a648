"""Pyscripts tables.

Revision ID: pyscripts_0001
Revises:
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

revision = 'pyscripts_0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rk_pyscripts_scripts',
        sa.Column('script_id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('live_name', sa.String(255), nullable=True, unique=True),
        sa.Column('data', sa.Text, nullable=False),
        sa.Column('checksum', sa.String(128), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('start', sa.DateTime, nullable=False),
        sa.Column('end', sa.DateTime, nullable=True),
        sa.Column('description', sa.Text, nullable=True),
        sa.Column('deleted', sa.DateTime, nullable=True),
        sa.Column('created_by', sa.String(255), nullable=True),
        sa.Column('updated_by', sa.String(255), nullable=True),
        sa.Column('deleted_by', sa.String(255), nullable=True))
    op.create_table(
        'rk_pyscripts_revision',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('revision', sa.Integer, nullable=False))


def downgrade():
    op.drop_table('rk_pyscripts_revision')
    op.drop_table('rk_pyscripts_scripts')
