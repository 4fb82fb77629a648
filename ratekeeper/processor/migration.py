"""The processor's own migration tree, registered as the entry point
``processor = ratekeeper.processor.migration:TREE`` of the group
``ratekeeper.db.migrations``. Revisions are named ``processor_NNNN``."""
import os

from ratekeeper.db import migration

TREE = migration.Tree(
    'processor', os.path.join(os.path.dirname(__file__), 'migrations'),
    'rk_alembic_processor', order=20)
