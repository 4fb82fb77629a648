"""Alembic environment of this tree: the shared one."""
from ratekeeper.db import migration

migration.run_environment()
