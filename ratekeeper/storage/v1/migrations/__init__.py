"""The v1 storage's alembic tree, with its own version table."""
import os

from ratekeeper.db import migration

TREE = migration.Tree('storage_v1', os.path.dirname(__file__),
                      'rk_alembic_storage_v1', order=50)
