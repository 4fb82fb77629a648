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
from alembic import util as alembic_util
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


def _holds(tree, revision):
    script = alembic_script.ScriptDirectory(tree.script_location)
    try:
        return script.get_revision(revision) is not None
    except alembic_util.CommandError:
        return False


def _tree_of(revision):
    """The one tree holding ``revision``; ValueError when none or several
    do."""
    holding = [tree.name for tree in trees() if _holds(tree, revision)]
    if not holding:
        raise ValueError('no migration tree has revision %r' % revision)
    if len(holding) > 1:
        raise ValueError('revision %r is in several trees (%s): name one '
                         'with --tree' % (revision, ', '.join(holding)))
    return holding[0]


def stamp(conf, revision='heads', only=None):
    """Record ``revision`` as applied without running migrations: adopts a
    database whose schema is known to be at that revision (restored from
    a dump, or made by another tool). A named revision stamps its tree."""
    if only is None and revision not in ('heads', 'head', 'base'):
        only = _tree_of(revision)
    with db.get_engine(conf).begin() as connection:
        for tree in trees():
            if only in (None, tree.name):
                command.stamp(_config(tree, connection), revision,
                              purge=True)


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
