"""The hashmap module's own migration tree (entry point
``ratekeeper.db.migrations``:
``hashmap = ratekeeper.rating.hashmap.migration:TREE``)."""
import os

from ratekeeper.db import migration

TREE = migration.Tree(
    'hashmap', os.path.join(os.path.dirname(__file__), 'migrations'),
    'rk_alembic_hashmap', order=10)
