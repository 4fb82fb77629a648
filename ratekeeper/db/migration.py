"""Schema migrations: alembic trees, each with its own version table.

The core tree lives here; a plugin (a rating module, the v1 storage)
registers its own tree under the entry point group
``ratekeeper.db.migrations`` as ``name = package.module:TREE`` where TREE is
a :class:`Tree`. Trees are upgraded in order of their ``order`` and
downgraded in reverse, so a plugin's tables can refer to core ones.

Checking whether the schema is up to date (:func:`pending`, what every
service does at start) reads the trees' revision files and the version
tables directly: alembic, which costs a long-running process ~10 MB of
resident memory, is imported only by the commands that migrate.
"""
import ast
import dataclasses
import os

import sqlalchemy as sa
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
    from alembic import context
    config = context.config
    context.configure(
        connection=config.attributes['connection'],
        version_table=config.get_main_option('version_table'),
        render_as_batch=True,  # ALTER on SQLite goes through table copies
    )
    with context.begin_transaction():
        context.run_migrations()


def _config(tree, connection):
    from alembic import config as alembic_config
    config = alembic_config.Config()
    config.set_main_option('script_location', tree.script_location)
    config.set_main_option('version_table', tree.version_table)
    config.attributes['connection'] = connection
    return config


def upgrade(conf, revision='heads', only=None):
    """Upgrade every tree, or the one named ``only``."""
    from alembic import command
    with db.get_engine(conf).begin() as connection:
        for tree in trees():
            if only in (None, tree.name):
                command.upgrade(_config(tree, connection), revision)


def downgrade(conf, revision='base', only=None):
    from alembic import command
    with db.get_engine(conf).begin() as connection:
        for tree in reversed(trees()):
            if only in (None, tree.name):
                command.downgrade(_config(tree, connection), revision)


def _holds(tree, revision):
    from alembic import script as alembic_script
    from alembic import util as alembic_util
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
    from alembic import command
    if only is None and revision not in ('heads', 'head', 'base'):
        only = _tree_of(revision)
    with db.get_engine(conf).begin() as connection:
        for tree in trees():
            if only in (None, tree.name):
                command.stamp(_config(tree, connection), revision,
                              purge=True)


def heads(tree):
    """The latest revisions of ``tree``, read from its versions/*.py
    (their ``revision`` and ``down_revision`` assignments)."""
    revisions, parents = set(), set()
    directory = os.path.join(tree.script_location, 'versions')
    for name in os.listdir(directory):
        if not name.endswith('.py'):
            continue
        with open(os.path.join(directory, name), encoding='utf-8') as file:
            module = ast.parse(file.read(), name)
        for node in module.body:
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Assign):
                targets = node.targets
            else:
                continue
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if not names & {'revision', 'down_revision'} or \
                    node.value is None:
                continue
            value = ast.literal_eval(node.value)
            values = set(value) if isinstance(value, (tuple, list)) \
                else {value} - {None}
            (revisions if 'revision' in names else parents).update(values)
    return revisions - parents


def _applied(connection, tree):
    """The revisions recorded in the tree's version table (none when the
    table does not exist yet)."""
    if not sa.inspect(connection).has_table(tree.version_table):
        return set()
    return set(connection.execute(sa.text(
        'SELECT version_num FROM %s' % tree.version_table)).scalars())


def is_current(connection, tree):
    """Whether the tree's schema is at its latest revision."""
    return _applied(connection, tree) == heads(tree)


def current(conf):
    """{tree name: current revision or None}."""
    result = {}
    with db.get_engine(conf).connect() as connection:
        for tree in trees():
            applied = sorted(_applied(connection, tree))
            result[tree.name] = ','.join(applied) or None
    return result


def pending(conf):
    """Names of the trees whose schema is behind their latest revision."""
    with db.get_engine(conf).connect() as connection:
        return [tree.name for tree in trees()
                if not is_current(connection, tree)]


def behind_message(conf):
    """What a command prints when the schema is behind, or None."""
    behind = pending(conf)
    if not behind:
        return None
    return ('the database schema is not up to date (%s): run '
            'ratekeeper-dbsync upgrade with the same configuration'
            % ', '.join(behind))
