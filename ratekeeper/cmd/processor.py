"""ratekeeper-processor: collect, rate and store usage until stopped.

Run as many as wanted, on as many hosts, against a storage they can share
(the v1 SQL storage on PostgreSQL or MariaDB); they split the scopes
through ``[orchestrator] coordination_url``. With the embedded DuckDB
storage, ratekeeper-api runs the processor itself.
"""
import logging
import signal
import sys

from ratekeeper import conf as rk_conf
from ratekeeper.db import migration
from ratekeeper.processor import service

LOG = logging.getLogger('ratekeeper.processor')


def main(argv=None):
    conf = rk_conf.load(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO,
        format='%(asctime)s %(process)d %(levelname)s %(name)s %(message)s')
    if not conf.collect.collector:
        LOG.error('[collect] collector is not set: nothing to collect')
        return 1
    if conf.orchestrator.max_workers == 0:
        LOG.info('[orchestrator] max_workers = 0: nothing to do')
        return 0
    behind = migration.behind_message(conf)
    if behind:
        LOG.error(behind)
        return 1
    try:
        processor = service.build(conf)
    except service.ConfigurationError as exc:
        LOG.error('cannot start: %s', exc)
        return 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: processor.stop())
    LOG.info('collecting with %s, scopes from %s, every %ds',
             conf.collect.collector, conf.fetcher.backend,
             conf.collect.period)
    try:
        processor.run()
    finally:
        processor.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
