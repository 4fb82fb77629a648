"""CloudKitty's rating rules and states written into ratekeeper's database,
all in one transaction: an interrupted or refused import leaves nothing.

The hashmap rule set and the pyscripts each go into an empty one
(ratekeeper's own rules are never merged with CloudKitty's); a set holding
exactly CloudKitty's ids is one a previous run imported, and is left as it
is.
"""
import dataclasses

import sqlalchemy as sa

from ratekeeper import db
from ratekeeper.db import models as core_models
from ratekeeper.importer import ImportRefused
from ratekeeper.processor import schedule
from ratekeeper.processor import state as scope_state
from ratekeeper.rating.hashmap import models
from ratekeeper.rating.hashmap import database as hashmap_database
from ratekeeper.rating.pyscripts import models as pyscripts_models
from ratekeeper.rating.pyscripts import scripts as pyscripts

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


def _script(row):
    live_name = row['name'] if row['deleted'] is None else None
    return pyscripts_models.Script(live_name=live_name, **row)


def _import_pyscripts(session, scripts):
    """'imported', 'already imported' or 'none'; ImportRefused when
    ratekeeper holds other pyscripts, or CloudKitty two live scripts of
    one name (ratekeeper keeps live names unique)."""
    existing = set(session.scalars(sa.select(
        pyscripts_models.Script.script_id)))
    wanted = {row['script_id'] for row in scripts}
    if existing and existing != wanted:
        raise ImportRefused(
            'ratekeeper already has %d pyscripts that are not '
            'CloudKitty\'s: import into an empty set of pyscripts'
            % len(existing))
    if existing:
        return 'already imported'
    if not scripts:
        return 'none'
    live = [row['name'] for row in scripts if row['deleted'] is None]
    if len(set(live)) != len(live):
        raise ImportRefused('CloudKitty has two pyscripts of one name that '
                            'are not deleted; delete one first')
    session.add_all([_script(row) for row in scripts])
    session.flush()
    pyscripts.REVISIONS.bump(session)
    return 'imported'


@dataclasses.dataclass
class Outcome:
    rules: str
    scope_states: int = 0
    pyscripts: str = 'none'
    tasks: int = 0


@dataclasses.dataclass
class Source:
    """What is read from CloudKitty's database."""

    rules: object
    module_states: list
    collector_mappings: list
    scope_states: list = ()
    pyscripts: list = ()
    tasks: list = ()


def import_rules(conf, source, dry_run=False):
    """Write everything in one transaction; an Outcome (its words say
    'would be' on a dry run). ImportRefused when ratekeeper holds other
    hashmap rules or pyscripts."""
    try:
        return _import_rules(conf, source, dry_run)
    except _DryRun as finished:
        return finished.args[0]


def _import_rules(conf, source, dry_run):
    with db.transaction(conf) as session:
        existing = _existing_ids(session)
        wanted = _source_ids(source.rules)
        if any(existing.values()) and existing != wanted:
            raise ImportRefused(
                'ratekeeper already has hashmap rules that are not '
                'CloudKitty\'s (%s): import into an empty rule set'
                % ', '.join('%d %s' % (len(ids), kind)
                            for kind, ids in existing.items() if ids))
        outcome = Outcome(
            'already imported' if any(existing.values()) else 'imported')
        if outcome.rules == 'imported':
            _add_rules(session, source.rules)
        outcome.pyscripts = _import_pyscripts(session, source.pyscripts)
        _upsert_states(session, source.module_states,
                       source.collector_mappings)
        outcome.scope_states = _add_scope_states(session,
                                                 source.scope_states)
        outcome.tasks = schedule.restore_tasks(session, source.tasks)
        if dry_run:
            outcome.rules = 'would be ' + outcome.rules
            if outcome.pyscripts == 'imported':
                outcome.pyscripts = 'would be imported'
            raise _DryRun(outcome)
    return outcome
