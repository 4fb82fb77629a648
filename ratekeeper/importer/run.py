"""The two runs: an import from CloudKitty and a migration between
storages. Every check that can refuse runs before the first write."""
import dataclasses
import datetime
import os

from ratekeeper import storage as rk_storage
from ratekeeper.db import migration
from ratekeeper.importer import ImportRefused
from ratekeeper.importer import cloudkitty
from ratekeeper.importer import copy as rk_copy
from ratekeeper.importer import rules as rk_rules
from ratekeeper.importer import sources

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_REFUSED = 2


@dataclasses.dataclass
class Window:
    begin: datetime.datetime = None
    end: datetime.datetime = None


def _require_migrated(conf):
    behind = migration.pending(conf)
    if behind:
        raise ImportRefused('ratekeeper\'s database is not migrated (%s): '
                            'run "ratekeeper-dbsync upgrade" first'
                            % ', '.join(behind))


def _open_storage(conf, role='target'):
    try:
        return rk_storage.get_storage(conf)
    except Exception as exc:  # any backend's failure to open (a lock...)
        raise ImportRefused('the %s storage is unavailable: %s'
                            % (role, exc)) from None


def _window(source, asked):
    found = source.window()
    begin = asked.begin or (found[0] if found else None)
    end = asked.end or (found[1] if found else None)
    if begin is None or end is None:
        return None
    if end <= begin:
        raise ImportRefused('--end must be after --begin')
    return begin, end


def _storage_label(conf):
    name = rk_storage.backend_name(conf)
    where = (conf.storage_duckdb.path if name == 'duckdb'
             else conf.database.connection)
    return 'ratekeeper-v%d-%s:%s' % (conf.storage.version, name, where)


def _checkpoint(conf, source, target_conf, begin, end):
    directory = os.path.join(conf.state_path, 'imports')
    return rk_copy.Checkpoint(directory, source.describe(),
                              _storage_label(target_conf), begin, end)


class DataCopy:
    """A source, a target storage and a window, checked before anything
    is written; ``run`` copies and compares."""

    def __init__(self, conf, source, target, target_conf, asked, out,
                 batch_size=rk_copy.DEFAULT_BATCH):
        self.source = source
        self.batch_size = batch_size
        self.target = target
        self.target_conf = target_conf
        self.out = out
        self.window = _window(source, asked)
        self.checkpoint = None
        if self.window is not None:
            self.checkpoint = _checkpoint(conf, source, target_conf,
                                          *self.window)
            rk_copy.check_target(target, self.checkpoint, *self.window)

    def run(self, dry_run=False):
        if self.window is None:
            print('rated data: none in the source', file=self.out)
            return EXIT_OK
        begin, end = self.window
        source_totals = self.source.totals(begin, end)
        print('rated data: %s to %s' % (begin.isoformat(), end.isoformat()),
              file=self.out)
        if dry_run:
            print('dry run: nothing copied; the source\'s totals:',
                  file=self.out)
            print(rk_copy.compare(source_totals, {}).table(), file=self.out)
            return EXIT_OK
        outcome = rk_copy.copy(
            self.source, self.target, self.checkpoint, begin, end,
            total_points=None, batch_size=self.batch_size)
        self._report(outcome)
        comparison = rk_copy.compare(source_totals, rk_copy.target_totals(
            self.target, self.target_conf, begin, end))
        print(comparison.table(), file=self.out)
        if comparison.differences:
            print('%d totals differ' % len(comparison.differences),
                  file=self.out)
            return EXIT_DIFFERENT
        print('all totals equal', file=self.out)
        return EXIT_OK

    def _report(self, outcome):
        if outcome.already_done:
            print('rated data: already copied by an earlier run',
                  file=self.out)
            return
        if outcome.resumed_from is not None:
            print('rated data: resumed from %s'
                  % outcome.resumed_from.isoformat(), file=self.out)
        print('rated data: %d points copied' % outcome.points, file=self.out)


def _rated_source(conf, engine, options):
    if options.v1_storage:
        return sources.CloudKittyV1Storage(engine, conf)
    if options.influxdb:
        return sources.CloudKittyInfluxDB(options.influxdb, conf)
    return None


def import_cloudkitty(conf, options, out):
    """ratekeeper-import cloudkitty; returns the exit status."""
    engine = cloudkitty.connect(options.db)
    try:
        cloudkitty.check_schema(engine, v1_storage=options.v1_storage)
        _require_migrated(conf)
        source = _rated_source(conf, engine, options)
        data = None
        if source is not None:
            data = DataCopy(conf, source, _open_storage(conf), conf,
                            options.window, out, options.batch_size)
        _import_rules(conf, engine, options.dry_run, out)
        if data is None:
            return EXIT_OK
        try:
            return data.run(options.dry_run)
        finally:
            data.target.close()
    finally:
        engine.dispose()


def _import_rules(conf, engine, dry_run, out):
    source = rk_rules.Source(
        rules=cloudkitty.read_rules(engine),
        module_states=cloudkitty.read_module_states(engine),
        collector_mappings=cloudkitty.read_collector_mappings(engine),
        scope_states=cloudkitty.read_scope_states(engine),
        pyscripts=cloudkitty.read_pyscripts(engine),
        tasks=cloudkitty.read_reprocessing_tasks(engine))
    outcome = rk_rules.import_rules(conf, source, dry_run)
    would = 'would be ' if dry_run else ''
    print('hashmap rules: %s (%s)' % (outcome.rules, ', '.join(
        '%d %s' % (count, kind)
        for kind, count in source.rules.counts().items())), file=out)
    print('pyscripts: %s (%d, %d deleted)' % (
        outcome.pyscripts, len(source.pyscripts),
        sum(row['deleted'] is not None for row in source.pyscripts)),
        file=out)
    print('module states: %s' % (', '.join(
        '%s %s priority %d' % (name, 'enabled' if enabled else 'disabled',
                               priority)
        for name, enabled, priority in source.module_states) or 'none'),
        file=out)
    print('collector mappings: %d' % len(source.collector_mappings),
          file=out)
    print('scope states: %d %simported, %d already there'
          % (outcome.scope_states, would,
             len(source.scope_states) - outcome.scope_states), file=out)
    print('reprocessing tasks: %d %simported, %d already there'
          % (outcome.tasks, would, len(source.tasks) - outcome.tasks),
          file=out)


def migrate_storage(conf, target_conf, options, out):
    """ratekeeper-storage migrate; returns the exit status."""
    _require_migrated(target_conf)
    if _storage_label(conf) == _storage_label(target_conf):
        raise ImportRefused('the target storage is the configured one')
    source_storage = _open_storage(conf, 'source')
    try:
        target = _open_storage(target_conf)
        try:
            source = sources.RatekeeperStorage(
                source_storage, conf, _storage_label(conf))
            data = DataCopy(conf, source, target, target_conf,
                            options.window, out, options.batch_size)
            return data.run(options.dry_run)
        finally:
            target.close()
    finally:
        source_storage.close()
