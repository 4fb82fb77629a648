"""ratekeeper-dbsync: upgrade, downgrade or show the database schema."""
import argparse
import sys

from ratekeeper import conf as rk_conf
from ratekeeper.db import migration


def main(argv=None):
    parser = argparse.ArgumentParser(prog='ratekeeper-dbsync')
    parser.add_argument('--config-file', action='append', default=[])
    sub = parser.add_subparsers(dest='command', required=True)
    up = sub.add_parser('upgrade', help='apply migrations (default: all)')
    up.add_argument('revision', nargs='?', default='heads')
    down = sub.add_parser('downgrade', help='revert migrations')
    down.add_argument('revision', nargs='?', default='base')
    sub.add_parser('current', help='print each tree\'s revision')
    stamp = sub.add_parser(
        'stamp', help='record a revision as applied without running '
                      'migrations (adopt a database known to be at it)')
    stamp.add_argument('revision', nargs='?', default='heads')
    stamp.add_argument('--tree', help='the migration tree (default: the '
                                      'one holding the revision; every '
                                      'tree for heads or base)')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    conf = rk_conf.load([], config_files=args.config_file)
    if args.command == 'upgrade':
        migration.upgrade(conf, args.revision)
    elif args.command == 'downgrade':
        migration.downgrade(conf, args.revision)
    elif args.command == 'stamp':
        try:
            migration.stamp(conf, args.revision, args.tree)
        except ValueError as exc:
            print('ratekeeper-dbsync: %s' % exc, file=sys.stderr)
            return 2
    else:
        for tree, revision in migration.current(conf).items():
            print('%s: %s' % (tree, revision or 'none'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
