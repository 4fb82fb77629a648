"""Hashmap rule tables.

Revision ID: hashmap_0001
Revises:
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

revision = 'hashmap_0001'
down_revision = None
branch_labels = None
depends_on = None


def _uuid(name, *args, **kwargs):
    return sa.Column(name, sa.String(36), *args, **kwargs)


def _parents():
    return [
        _uuid('service_id', sa.ForeignKey(
            'rk_hashmap_services.service_id', ondelete='CASCADE'),
            nullable=True),
        _uuid('field_id', sa.ForeignKey(
            'rk_hashmap_fields.field_id', ondelete='CASCADE'),
            nullable=True),
        _uuid('group_id', sa.ForeignKey(
            'rk_hashmap_groups.group_id', ondelete='SET NULL'),
            nullable=True),
        sa.Column('tenant_id', sa.String(255), nullable=True),
    ]


def upgrade():
    op.create_table(
        'rk_hashmap_services',
        _uuid('service_id', primary_key=True),
        sa.Column('name', sa.String(255), nullable=False, unique=True))
    op.create_table(
        'rk_hashmap_groups',
        _uuid('group_id', primary_key=True),
        sa.Column('name', sa.String(255), nullable=False, unique=True))
    op.create_table(
        'rk_hashmap_fields',
        _uuid('field_id', primary_key=True),
        _uuid('service_id', sa.ForeignKey('rk_hashmap_services.service_id',
                                          ondelete='CASCADE'),
              nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.UniqueConstraint('service_id', 'name'))
    op.create_table(
        'rk_hashmap_mappings',
        _uuid('mapping_id', primary_key=True),
        sa.Column('value', sa.String(255), nullable=True),
        sa.Column('map_type', sa.String(8), nullable=False),
        sa.Column('cost', sa.String(64), nullable=False),
        *_parents(),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('start', sa.DateTime, nullable=False),
        sa.Column('end', sa.DateTime, nullable=True),
        sa.Column('name', sa.String(32), nullable=False),
        sa.Column('description', sa.Text, nullable=True),
        sa.Column('deleted', sa.DateTime, nullable=True),
        sa.Column('created_by', sa.String(255), nullable=True),
        sa.Column('updated_by', sa.String(255), nullable=True),
        sa.Column('deleted_by', sa.String(255), nullable=True))
    op.create_index('ix_rk_hashmap_mappings_service', 'rk_hashmap_mappings',
                    ['service_id'])
    op.create_index('ix_rk_hashmap_mappings_field', 'rk_hashmap_mappings',
                    ['field_id'])
    op.create_table(
        'rk_hashmap_thresholds',
        _uuid('threshold_id', primary_key=True),
        sa.Column('level', sa.String(64), nullable=False),
        sa.Column('map_type', sa.String(8), nullable=False),
        sa.Column('cost', sa.String(64), nullable=False),
        *_parents())
    op.create_table(
        'rk_hashmap_revision',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=False),
        sa.Column('revision', sa.Integer, nullable=False))


def downgrade():
    for table in ('rk_hashmap_revision', 'rk_hashmap_thresholds',
                  'rk_hashmap_mappings', 'rk_hashmap_fields',
                  'rk_hashmap_groups', 'rk_hashmap_services'):
        op.drop_table(table)
