"""ratekeeper-storage migrate: copy the rated data of the configured
storage into the storage another configuration file describes (v1 SQL to
DuckDB, or any pair), resumably, then compare totals per scope, type and
month. Exit status: 0 all equal, 1 some totals differ, 2 refused."""
import argparse
import sys

from oslo_config import cfg

from ratekeeper import conf as rk_conf
from ratekeeper.cmd import importer
from ratekeeper.importer import run


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='ratekeeper-storage')
    parser.add_argument('--config-file', action='append', default=[])
    sub = parser.add_subparsers(dest='command', required=True)
    migrate = sub.add_parser('migrate', help='copy rated data to another '
                                             'storage')
    migrate.add_argument('--to-config', required=True, metavar='FILE',
                         help='configuration file of the target storage')
    importer.add_window_options(migrate)
    return parser.parse_args(argv)


def target_conf(path):
    conf = cfg.ConfigOpts()
    rk_conf.register_opts(conf)
    return rk_conf.load([], conf=conf, config_files=[path])


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    conf = rk_conf.load([], config_files=args.config_file)
    args.window = run.Window(args.begin, args.end)
    return importer.guarded(
        lambda: run.migrate_storage(conf, target_conf(args.to_config), args,
                                    sys.stdout),
        'ratekeeper-storage')


if __name__ == '__main__':
    sys.exit(main())
