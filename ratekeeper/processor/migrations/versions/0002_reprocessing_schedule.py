"""Reprocessing schedule and pending scope resets.

Revision ID: processor_0002
Revises: processor_0001
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

# a step's points run to megabytes: MySQL's TEXT stops at 64 KB
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), 'mysql', 'mariadb')

revision = 'processor_0002'
down_revision = 'processor_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rk_reprocessing_schedule',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('identifier', sa.String(256), nullable=False),
        sa.Column('start_reprocess_time', sa.DateTime, nullable=False),
        sa.Column('end_reprocess_time', sa.DateTime, nullable=False),
        sa.Column('current_reprocess_time', sa.DateTime, nullable=True),
        sa.Column('reason', sa.Text, nullable=False),
        # the re-rated points of the step in progress (JSON columns)
        # and the window [begin, end) they cover: written before the
        # step's delete, so a crash between delete and push loses nothing
        sa.Column('pending_begin', sa.DateTime, nullable=True),
        sa.Column('pending_end', sa.DateTime, nullable=True),
        sa.Column('pending_points', LONG_TEXT, nullable=True))
    op.create_index('ix_rk_reprocessing_schedule_identifier',
                    'rk_reprocessing_schedule', ['identifier'])
    op.create_table(
        'rk_scope_resets',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('identifier', sa.String(256), nullable=False),
        sa.Column('scope_key', sa.String(40), nullable=True),
        sa.Column('fetcher', sa.String(40), nullable=True),
        sa.Column('collector', sa.String(40), nullable=True),
        sa.Column('last_processed_timestamp', sa.DateTime, nullable=False),
        sa.Column('requested_at', sa.DateTime, nullable=False))


def downgrade():
    op.drop_table('rk_scope_resets')
    op.drop_index('ix_rk_reprocessing_schedule_identifier',
                  'rk_reprocessing_schedule')
    op.drop_table('rk_reprocessing_schedule')
