"""Alembic environment of the processor tree: the shared one."""
from ratekeeper.db import migration

migration.run_environment()
