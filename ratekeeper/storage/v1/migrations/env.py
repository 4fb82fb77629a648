"""Alembic environment of the v1 storage tree: the shared one."""
from ratekeeper.db import migration

migration.run_environment()
