"""ratekeeper-status upgrade check: oslo.upgradecheck's checks before (or
after) an upgrade.

- storage: the configured backend loads and answers;
- migrations: every alembic tree is at its latest revision;
- policy file: rules named by their deprecated (CloudKitty) names, rules
  ratekeeper does not know, and the file's format (oslo.upgradecheck's
  common JSON check);
- options: options of the configuration files that ratekeeper does not
  know, deprecated names of options, options deprecated for removal.

Exit status (oslo.upgradecheck's): 0 success, 1 warning, 2 failure.
"""
import configparser
import os
import sys

import yaml
from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_upgradecheck import common_checks
from oslo_upgradecheck import upgradecheck

from ratekeeper import conf as rk_conf
from ratekeeper import policies
from ratekeeper import storage as rk_storage
from ratekeeper.db import migration

Code = upgradecheck.Code
Result = upgradecheck.Result


def _ok_or_warning(problems, fine):
    if problems:
        return Result(Code.WARNING, '; '.join(problems))
    return Result(Code.SUCCESS, fine)


class Checks(upgradecheck.UpgradeCommands):

    def __init__(self, conf):
        self.conf = conf

    def _check_storage(self):
        try:
            storage = rk_storage.get_storage(self.conf)
        except Exception as exc:  # any backend, any failure: report it
            return Result(Code.FAILURE, 'storage v%d (%s) is unavailable: %s'
                          % (self.conf.storage.version,
                             rk_storage.backend_name(self.conf), exc))
        storage.close()
        return Result(Code.SUCCESS, 'storage v%d (%s) answers'
                      % (self.conf.storage.version,
                         rk_storage.backend_name(self.conf)))

    def _check_migrations(self):
        try:
            behind = migration.pending(self.conf)
        except Exception as exc:  # the database is out of reach
            return Result(Code.FAILURE, 'the database is unavailable: %s'
                          % exc)
        if behind:
            return Result(Code.FAILURE, 'migrations not applied: %s (run '
                          'ratekeeper-dbsync upgrade)' % ', '.join(behind))
        revisions = migration.current(self.conf)
        return Result(Code.SUCCESS, 'migrations applied: %s' % ', '.join(
            '%s %s' % item for item in revisions.items()))

    def _check_policy_file(self):
        path = self.conf.find_file(self.conf.oslo_policy.policy_file)
        if not path:
            return Result(Code.SUCCESS, 'no policy file: defaults in code')
        return _ok_or_warning(policy_file_problems(path),
                              'policy file %s uses current rule names'
                              % path)

    def _check_policy_json(self):
        return common_checks.check_policy_json(self, self.conf)

    def _check_options(self):
        problems = []
        for path in self.conf.config_file or []:
            problems.extend(option_problems(self.conf, path))
        return _ok_or_warning(problems, 'every option is known and current')

    _upgrade_checks = (
        ('Storage', _check_storage),
        ('Database migrations', _check_migrations),
        ('Policy file rules', _check_policy_file),
        ('Policy file format', _check_policy_json),
        ('Configuration options', _check_options),
    )


def policy_file_problems(path):
    with open(path, encoding='utf-8') as stream:
        rules = yaml.safe_load(stream) or {}
    current = {rule.name: rule for rule in policies.list_rules()}
    renamed = {rule.deprecated_rule.name: name
               for name, rule in current.items() if rule.deprecated_rule}
    problems = []
    for name in sorted(rules):
        if name in renamed:
            problems.append('%s: rule %r is deprecated, name it %r'
                            % (os.path.basename(path), name, renamed[name]))
        elif name not in current and ':' in name:
            problems.append('%s: unknown rule %r'
                            % (os.path.basename(path), name))
    return problems


def _known_options(conf):
    """{(group, option): opt or None} of every registered option (None for
    libraries' options, known by name), and {(group, deprecated name):
    (group, current name)} of ratekeeper's own."""
    known = {('DEFAULT', name): None for name in conf}
    for group in conf:
        if isinstance(conf[group], cfg.ConfigOpts.GroupAttr):
            known.update({(group, name): None for name in conf[group]})
    deprecated = {}
    for group, opts in rk_conf.list_opts():
        section = group or 'DEFAULT'
        for opt in opts:
            known[(section, opt.dest)] = opt
            for old in opt.deprecated_opts:
                old_key = (old.group or section, old.name.replace('-', '_'))
                deprecated[old_key] = (section, opt.dest)
    return known, deprecated


def option_problems(conf, path):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(path, encoding='utf-8')
    known, deprecated = _known_options(conf)
    name = os.path.basename(path)
    problems = []
    for section in ['DEFAULT'] + parser.sections():
        items = (parser.defaults() if section == 'DEFAULT'
                 else {key: value for key, value in parser.items(section)
                       if key not in parser.defaults()})
        for option in items:
            key = (section, option.replace('-', '_'))
            if key in deprecated:
                problems.append('%s: [%s] %s is deprecated, use [%s] %s'
                                % ((name,) + key + deprecated[key]))
            elif key not in known:
                problems.append('%s: unknown option [%s] %s'
                                % ((name,) + key))
            elif getattr(known[key], 'deprecated_for_removal', False):
                problems.append('%s: [%s] %s is deprecated for removal'
                                % ((name,) + key))
    return problems


def main(argv=None):
    conf = rk_conf.CONF
    rk_conf.register_keystone_opts(conf)
    policy_opts.set_defaults(conf)  # registers [oslo_policy]
    return upgradecheck.main(conf, 'ratekeeper', Checks(conf),
                             argv=sys.argv[1:] if argv is None else argv,
                             default_config_files=[])


if __name__ == '__main__':
    sys.exit(main())
