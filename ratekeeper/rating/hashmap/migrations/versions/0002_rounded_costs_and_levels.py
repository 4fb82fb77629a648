"""Costs and levels kept with the decimals the API shows: 28 for costs, 8
for levels (earlier rows kept every decimal sent, and priced with them).

Revision ID: hashmap_0002
Revises: hashmap_0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

from ratekeeper.rating.hashmap import models

revision = 'hashmap_0002'
down_revision = 'hashmap_0001'
branch_labels = None
depends_on = None

ROUNDED_COLUMNS = [
    ('rk_hashmap_mappings', 'mapping_id', {'cost': models.stored_cost}),
    ('rk_hashmap_thresholds', 'threshold_id',
     {'cost': models.stored_cost, 'level': models.stored_level}),
]

_as_stored = models.DecimalText().process_bind_param


def upgrade():
    connection = op.get_bind()
    for table_name, key, rounders in ROUNDED_COLUMNS:
        table = sa.table(table_name, sa.column(key),
                         *[sa.column(name) for name in rounders])
        for row in connection.execute(sa.select(table)).mappings():
            rounded = {name: _as_stored(rounder(row[name]), None)
                       for name, rounder in rounders.items()}
            if any(rounded[name] != row[name] for name in rounders):
                connection.execute(table.update().where(
                    table.c[key] == row[key]).values(**rounded))


def downgrade():
    pass  # the decimals dropped are not kept anywhere
