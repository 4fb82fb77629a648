"""Alembic environment shared by every ratekeeper migration tree."""
from alembic import context

config = context.config
connection = config.attributes['connection']
context.configure(
    connection=connection,
    version_table=config.get_main_option('version_table'),
    render_as_batch=True,  # ALTER on SQLite goes through table copies
)
with context.begin_transaction():
    context.run_migrations()
