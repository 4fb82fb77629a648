"""The pyscripts module's own migration tree (entry point
``ratekeeper.db.migrations``:
``pyscripts = ratekeeper.rating.pyscripts.migration:TREE``)."""
import os

from ratekeeper.db import migration

TREE = migration.Tree(
    'pyscripts', os.path.join(os.path.dirname(__file__), 'migrations'),
    'rk_alembic_pyscripts', order=10)
