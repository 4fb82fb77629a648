"""ratekeeper-import cloudkitty: switch from a running CloudKitty.

Reads a CloudKitty 25 database (hashmap rules, module states, collector
mappings) and, with --v1-storage or --influxdb, copies its rated data into
ratekeeper's configured storage, resumably, then compares the totals per
scope, type and month. Exit status: 0 all equal, 1 some totals differ,
2 refused (nothing written).
"""
import argparse
import sys

from ratekeeper import conf as rk_conf
from ratekeeper import dataframe
from ratekeeper.importer import ImportRefused
from ratekeeper.importer import run
from ratekeeper.importer.copy import DEFAULT_BATCH


def parse_args(argv):
    parser = argparse.ArgumentParser(prog='ratekeeper-import')
    parser.add_argument('--config-file', action='append', default=[])
    sub = parser.add_subparsers(dest='source', required=True)
    cloudkitty = sub.add_parser(
        'cloudkitty', help='import a CloudKitty 25 database and its rated '
                           'data')
    cloudkitty.add_argument('--db', required=True, metavar='URL',
                            help='SQLAlchemy URL of CloudKitty\'s database '
                                 '([database] connection of cloudkitty.conf)')
    rated = cloudkitty.add_mutually_exclusive_group()
    rated.add_argument('--v1-storage', action='store_true',
                       help='copy the rated data of CloudKitty\'s v1 SQL '
                            'storage (in the same database)')
    rated.add_argument('--influxdb', metavar='influxdb://HOST:PORT/DATABASE',
                       help='copy the rated data of CloudKitty\'s InfluxDB '
                            'storage')
    add_window_options(cloudkitty)
    return parser.parse_args(argv)


def moment(text):
    try:
        return dataframe.parse_datetime(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_window_options(parser):
    parser.add_argument('--begin', type=moment,
                        help='copy periods beginning at or after this '
                             '(default: the first in the source)')
    parser.add_argument('--end', type=moment,
                        help='copy periods beginning before this (default: '
                             'the end of the last in the source)')
    parser.add_argument('--dry-run', action='store_true',
                        help='check and report, write nothing')
    parser.add_argument('--batch-size', type=int, default=DEFAULT_BATCH,
                        metavar='POINTS',
                        help='points read and written at a time, and between'
                             ' two checkpoints (default %d)' % DEFAULT_BATCH)


def guarded(command, prog):
    """Run ``command()``; a refusal is a message and exit status 2."""
    try:
        return command()
    except ImportRefused as exc:
        print('%s: refused: %s' % (prog, exc), file=sys.stderr)
        return run.EXIT_REFUSED
    except KeyboardInterrupt:
        print('%s: interrupted; run the same command again to resume'
              % prog, file=sys.stderr)
        return 130


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    conf = rk_conf.load([], config_files=args.config_file)
    args.window = run.Window(args.begin, args.end)
    return guarded(lambda: run.import_cloudkitty(conf, args, sys.stdout),
                   'ratekeeper-import')


if __name__ == '__main__':
    sys.exit(main())
