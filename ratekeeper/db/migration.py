"""Schema migrations: alembic trees, each with its own version table.

The core tree lives here; a plugin (a rating module, the v1 storage)
registers its own tree under the entry point group
``ratekeeper.db.migrations`` as ``name = package.module:TREE`` where TREE is
a :class:`Tree`. Trees are upgraded in order of their ``order`` and
downgraded in reverse, so a plugin's tables can refer to core ones.
"""
import dataclasses
import os

from alembic import command
from alembic import context
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
from stevedore import extension

from ratekeeper import db


@dataclasses.dataclass(frozen=True)
class Tree:
    name: str
    script_location: str
    version_table: str
    order: int = 100


CORE = Tree('core', os.path.join(os.path.dirname(__file__), 'migrations',
                                 'core'), 'rk_alembic_core', order=0)


def trees():
    found = [CORE]
    manager = extension.ExtensionManager('ratekeeper.db.migrations')
    found.extend(ext.plugin for ext in manager)
    return sorted(found, key=lambda tree: (tree.order, tree.name))


def run_environment():
    """The body of a tree's env.py: run its migrations on the connection
    and version table that _config put in the alembic config, so every
    tree shares one environment."""
    config = context.config
    context.configure(
        connection=config.attributes['connection'],
        version_table=config.get_main_option('version_table'),
        render_as_batch=True,  # ALTER on SQLite goes through table copies
    )
    with context.begin_transaction():
        context.run_migrations()


def _config(tree, connection):
    config = alembic_config.Config()
    config.set_main_option('script_location', tree.script_location)
    config.set_main_option('version_table', tree.version_table)
    config.attributes['connection'] = connection
    return config


def upgrade(conf, revision='heads', only=None):
    """Upgrade every tree, or the one named ``only``."""
    with db.get_engine(conf).begin() as connection:
        for tree in trees():
            if only in (None, tree.name):
                command.upgrade(_config(tree, connection), revision)


def downgrade(conf, revision='base', only=None):
    with db.get_engine(conf).begin() as connection:
        for tree in reversed(trees()):
            if only in (None, tree.name):
                command.downgrade(_config(tree, connection), revision)


def current(conf):
    """{tree name: current revision or None}."""
    result = {}
    with db.get_engine(conf).connect() as connection:
        for tree in trees():
            context = alembic_migration.MigrationContext.configure(
                connection, opts={'version_table': tree.version_table})
            result[tree.name] = context.get_current_revision()
    return result


def pending(conf):
    """Names of the trees whose schema is behind their latest revision."""
    behind = []
    revisions = current(conf)
    for tree in trees():
        script = alembic_script.ScriptDirectory(tree.script_location)
        if revisions.get(tree.name) not in script.get_heads():
            behind.append(tree.name)
    return behind


def behind_message(conf):
    """What a command prints when the schema is behind, or None."""
    behind = pending(conf)
    if not behind:
        return None
    return ('the database schema is not up to date (%s): run '
            'ratekeeper-dbsync upgrade with the same configuration'
            % ', '.join(behind))
