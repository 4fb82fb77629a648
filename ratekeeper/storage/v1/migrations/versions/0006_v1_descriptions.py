"""v1 storage: points keep their metric's description (CloudKitty's B9).

A description repeats on every point of its metric, so it is stored once
in ``rk_v1_descriptions`` and each point holds its id (NULL: none), four
bytes instead of the text. Rows of the dictionary are never deleted (a
handful per deployment). No unique constraint: two processes adding the
same new description at once may each add a row, and either id reads the
same text (a unique index on TEXT would need a prefix on MariaDB).
Points stored before read without a description.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BINARY_COLLATION = 'utf8mb4_nopad_bin'


def upgrade():
    op.create_table(
        'rk_v1_descriptions',
        sa.Column('id', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('description', sa.Text, nullable=False),
        mysql_charset='utf8mb4', mysql_collate=BINARY_COLLATION)
    op.add_column('rk_v1_points',
                  sa.Column('description_id', sa.Integer, nullable=True))


def downgrade():
    with op.batch_alter_table('rk_v1_points') as batch:
        batch.drop_column('description_id')
    op.drop_table('rk_v1_descriptions')
