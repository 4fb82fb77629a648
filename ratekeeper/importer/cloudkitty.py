"""A CloudKitty 25 database, read-only: its schema revisions, rating rules,
module states, collector mappings, scope states, reprocessing schedule and
pyscripts (tables that exist only once CloudKitty made them).

Numbers are read through SQLAlchemy's Numeric with CloudKitty's scales, as
CloudKitty reads them: on SQLite, where they are stored as doubles, a cost
written as 0.01 reads 0.0100000000000000002081668171 in CloudKitty's API,
and the imported rule shows and prices the same.
"""
import dataclasses
import zlib

import sqlalchemy as sa

from ratekeeper.importer import ImportRefused

# Each alembic tree's version table and the head revision CloudKitty 25
# ships; a database behind one of them is refused (run cloudkitty-dbsync).
CORE_TREE = ('cloudkitty_alembic', '385e33fef139')
REQUIRED_TREES = {
    'core': CORE_TREE,
    'hashmap': ('hashmap_alembic', '8a591f85865f'),
}
OPTIONAL_TREES = {
    'storage_state': ('storage_states_alembic', '9feccd32'),
    'pyscripts': ('pyscripts_alembic', 'c6e4cda29654'),
}
V1_STORAGE_TREE = ('storage_sqlalchemy_alembic', 'd875621d0384')

COST = sa.Numeric(40, 28)
LEVEL = sa.Numeric(20, 8)


@dataclasses.dataclass
class Rules:
    """The hashmap rule set, with CloudKitty's UUIDs as ids."""

    services: list
    fields: list
    groups: list
    mappings: list
    thresholds: list

    def counts(self):
        return {name: len(getattr(self, name)) for name in
                ('services', 'fields', 'groups', 'mappings', 'thresholds')}


def connect(url):
    """An engine on ``url`` that has answered, or ImportRefused."""
    try:
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        with engine.connect() as connection:
            connection.exec_driver_sql('SELECT 1')
    except (sa.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        raise ImportRefused('cannot open the CloudKitty database: %s'
                            % _reason(exc)) from None
    return engine


def _reason(exc):
    return str(getattr(exc, 'orig', None) or exc).splitlines()[0]


def _revision(connection, table):
    """The revision in ``table``, or None when the table is missing."""
    if not sa.inspect(connection).has_table(table):
        return None
    return connection.execute(
        sa.text('SELECT version_num FROM %s' % table)).scalar()


def check_schema(engine, v1_storage=False):
    """Refuse a database that is not CloudKitty's, or not at CloudKitty
    25's revisions. Returns {tree: revision} of the optional trees found."""
    with engine.connect() as connection:
        if _revision(connection, CORE_TREE[0]) is None:
            raise ImportRefused(
                'not a CloudKitty database: it has no %s table (is this '
                'the database of [database] connection in '
                'cloudkitty.conf?)' % CORE_TREE[0])
        trees = dict(REQUIRED_TREES)
        if v1_storage:
            trees['storage_sqlalchemy'] = V1_STORAGE_TREE
        for name, (table, head) in trees.items():
            _require(name, _revision(connection, table), head)
        found = {}
        for name, (table, head) in OPTIONAL_TREES.items():
            revision = _revision(connection, table)
            if revision is not None:
                _require(name, revision, head)
                found[name] = revision
    return found


def _require(tree, revision, head):
    if revision is None:
        raise ImportRefused(
            'the CloudKitty database has no %s schema (run '
            '"cloudkitty-dbsync upgrade" or "cloudkitty-storage-init")'
            % tree)
    if revision != head:
        raise ImportRefused(
            'the CloudKitty database\'s %s schema is at revision %s, not '
            'CloudKitty 25\'s %s: upgrade it with "cloudkitty-dbsync '
            'upgrade" first' % (tree, revision, head))


def _rows(connection, query, **types):
    statement = sa.text(query)
    if types:
        statement = statement.columns(**types)
    return [dict(row._mapping) for row in connection.execute(statement)]


def read_rules(engine):
    with engine.connect() as connection:
        return Rules(
            services=_rows(connection,
                           'SELECT service_id, name FROM hashmap_services '
                           'ORDER BY id'),
            fields=_rows(connection,
                         'SELECT f.field_id, f.name, s.service_id '
                         'FROM hashmap_fields f JOIN hashmap_services s '
                         'ON s.id = f.service_id ORDER BY f.id'),
            groups=_rows(connection,
                         'SELECT group_id, name FROM hashmap_groups '
                         'ORDER BY id'),
            mappings=_rows(connection, _rule_query(
                'hashmap_mappings', 'm.mapping_id, m.value, m.cost, '
                'm.map_type, m.tenant_id, m.created_at, m.start, m."end", '
                'm.name, m.description, m.deleted, m.created_by, '
                'm.updated_by, m.deleted_by', engine), cost=COST,
                **{column: sa.DateTime for column in
                   ('created_at', 'start', 'end', 'deleted')}),
            thresholds=_rows(connection, _rule_query(
                'hashmap_thresholds', 'm.threshold_id, m.level, m.cost, '
                'm.map_type, m.tenant_id', engine), cost=COST, level=LEVEL),
        )


def _rule_query(table, columns, engine):
    query = ('SELECT %s, s.service_id, f.field_id, g.group_id FROM %s m '
             'LEFT JOIN hashmap_services s ON s.id = m.service_id '
             'LEFT JOIN hashmap_fields f ON f.id = m.field_id '
             'LEFT JOIN hashmap_groups g ON g.id = m.group_id ORDER BY m.id'
             % (columns, table))
    return _quote_end(query, engine)


def _quote_end(query, engine):
    if engine.dialect.name in ('mysql', 'mariadb'):
        return query.replace('"end"', '`end`')
    return query


def read_module_states(engine):
    """[(name, enabled, priority)]"""
    with engine.connect() as connection:
        return [(row['name'], bool(row['state']), row['priority'])
                for row in _rows(connection, 'SELECT name, state, priority '
                                 'FROM modules_state ORDER BY name')]


def read_collector_mappings(engine):
    """[(service, collector)]"""
    with engine.connect() as connection:
        return [(row['service'], row['collector'])
                for row in _rows(connection, 'SELECT service, collector FROM '
                                 'service_to_collector_mappings '
                                 'ORDER BY service')]


def read_scope_states(engine):
    """CloudKitty's scope states (none when storage-init never made the
    table), datetimes naive UTC as stored."""
    with engine.connect() as connection:
        if not _has_table(connection, 'cloudkitty_storage_states'):
            return []
        return _rows(connection,
                     'SELECT identifier, scope_key, fetcher, collector, '
                     'last_processed_timestamp, scope_activation_toggle_date,'
                     ' active FROM cloudkitty_storage_states ORDER BY id',
                     last_processed_timestamp=sa.DateTime,
                     scope_activation_toggle_date=sa.DateTime,
                     active=sa.Boolean)


def _has_table(connection, table):
    return sa.inspect(connection).has_table(table)


def read_pyscripts(engine):
    """CloudKitty's pyscripts, deleted ones too, the text unpacked (it
    keeps it zlib-compressed) and the checksum as stored."""
    with engine.connect() as connection:
        if not _has_table(connection, 'pyscripts_scripts'):
            return []
        scripts = _rows(connection, _quote_end(
            'SELECT script_id, name, data, checksum, created_at, start, '
            '"end", description, deleted, created_by, updated_by, '
            'deleted_by FROM pyscripts_scripts ORDER BY id', engine),
            data=sa.LargeBinary, **{column: sa.DateTime for column in
                                    ('created_at', 'start', 'end',
                                     'deleted')})
    for script in scripts:
        script['data'] = zlib.decompress(script['data']).decode('utf-8')
    return scripts


def read_reprocessing_tasks(engine):
    """CloudKitty's reprocessing schedule, finished tasks too."""
    with engine.connect() as connection:
        if not _has_table(connection,
                          'storage_scope_reprocessing_schedule'):
            return []
        return _rows(connection,
                     'SELECT identifier, start_reprocess_time, '
                     'end_reprocess_time, current_reprocess_time, reason '
                     'FROM storage_scope_reprocessing_schedule ORDER BY id',
                     start_reprocess_time=sa.DateTime,
                     end_reprocess_time=sa.DateTime,
                     current_reprocess_time=sa.DateTime)
