"""CloudKitty's rating rules and states written into ratekeeper's database,
all in one transaction: an interrupted or refused import leaves nothing.

The hashmap rule set goes into an empty one (ratekeeper's own rules are
never merged with CloudKitty's); a rule set holding exactly CloudKitty's
ids is one a previous run imported, and is left as it is.
"""
import sqlalchemy as sa

from ratekeeper import db
from ratekeeper.db import models as core_models
from ratekeeper.importer import ImportRefused
from ratekeeper.processor import state as scope_state
from ratekeeper.rating.hashmap import models
from ratekeeper.rating.hashmap import database as hashmap_database

# (rules attribute, model, id column)
KINDS = (
    ('services', models.Service, 'service_id'),
    ('groups', models.Group, 'group_id'),
    ('fields', models.Field, 'field_id'),
    ('mappings', models.Mapping, 'mapping_id'),
    ('thresholds', models.Threshold, 'threshold_id'),
)


class _DryRun(Exception):
    """Raised to roll a dry run's transaction back."""


def _existing_ids(session):
    return {kind: set(session.scalars(sa.select(getattr(model, column))))
            for kind, model, column in KINDS}


def _source_ids(rules):
    return {kind: {row[column] for row in getattr(rules, kind)}
            for kind, _model, column in KINDS}


def _mapping(row):
    values = dict(row, cost=models.stored_cost(row['cost']))
    return models.Mapping(**values)


def _threshold(row):
    level = row['level']
    values = dict(row, cost=models.stored_cost(row['cost']),
                  level=None if level is None else models.stored_level(level))
    return models.Threshold(**values)


BUILDERS = {
    'services': lambda row: models.Service(**row),
    'groups': lambda row: models.Group(**row),
    'fields': lambda row: models.Field(**row),
    'mappings': _mapping,
    'thresholds': _threshold,
}


def _add_rules(session, rules):
    for kind, _model, _column in KINDS:  # parents before children
        session.add_all([BUILDERS[kind](row) for row in getattr(rules, kind)])
        session.flush()
    hashmap_database.bump_revision(session)


def _upsert_states(session, module_states, collector_mappings):
    for name, enabled, priority in module_states:
        session.merge(core_models.ModuleState(name=name, enabled=enabled,
                                              priority=priority))
    for service, collector in collector_mappings:
        session.merge(core_models.CollectorMapping(service=service,
                                                   collector=collector))


STATE_KEY = ('identifier', 'scope_key', 'fetcher', 'collector')


def _add_scope_states(session, states):
    """Add the scopes ratekeeper has no state for; the number added. A
    scope ratekeeper already processes keeps its own state."""
    present = {tuple(row) for row in session.execute(sa.select(
        *(getattr(scope_state.ScopeStateRow, key) for key in STATE_KEY)))}
    new = [row for row in states
           if tuple(row[key] for key in STATE_KEY) not in present]
    session.add_all([scope_state.ScopeStateRow(**row) for row in new])
    return len(new)


def import_rules(conf, rules, module_states, collector_mappings,
                 scope_states=(), dry_run=False):
    """Write everything in one transaction; ('imported' or 'already
    imported', scope states added). ImportRefused when ratekeeper holds
    other hashmap rules."""
    try:
        return _import_rules(conf, rules, module_states, collector_mappings,
                             scope_states, dry_run)
    except _DryRun as finished:
        return finished.args


def _import_rules(conf, rules, module_states, collector_mappings,
                  scope_states, dry_run):
    with db.transaction(conf) as session:
        existing = _existing_ids(session)
        wanted = _source_ids(rules)
        if any(existing.values()) and existing != wanted:
            raise ImportRefused(
                'ratekeeper already has hashmap rules that are not '
                'CloudKitty\'s (%s): import into an empty rule set'
                % ', '.join('%d %s' % (len(ids), kind)
                            for kind, ids in existing.items() if ids))
        outcome = 'already imported' if any(existing.values()) else 'imported'
        if outcome == 'imported':
            _add_rules(session, rules)
        _upsert_states(session, module_states, collector_mappings)
        added = _add_scope_states(session, scope_states)
        if dry_run:
            raise _DryRun('would be ' + outcome, added)
    return outcome, added
