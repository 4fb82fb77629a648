"""ratekeeper-processor: collect, rate and store usage until stopped.

Run as many as wanted, on as many hosts, against a storage they can share
(the v1 SQL storage on PostgreSQL or MariaDB, ClickHouse, InfluxDB); they
split the scopes through ``[orchestrator] coordination_url``, and act on
resets and reprocessing tasks (the API workers do neither there; without
a collector, this is all a processor does). With the embedded DuckDB
storage, ratekeeper-api runs the processor itself.
"""
import logging
import signal
import sys

LOG = logging.getLogger('ratekeeper.processor')
M_ARENA_MAX = -8    # glibc's mallopt parameter


def one_malloc_arena():
    """glibc gives each thread that allocates its own malloc arena, and
    an arena keeps what its thread freed: the processor's threads (scopes
    and metrics collected at once) mostly wait on Prometheus and the
    database, so one arena serves them as fast and keeps the process ~6 MB
    smaller. Nothing happens on a C library without mallopt."""
    try:
        import ctypes
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
    except (OSError, AttributeError):
        pass


class StopSignals:
    """SIGTERM and SIGINT, caught from the very start: a stop asked while
    the processor is still being built is kept and acted on once it is
    built (a clean exit 0), instead of killing the process half-started."""

    def __init__(self):
        self.asked = False
        self._action = None
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._caught)

    def _caught(self, *_args):
        self.asked = True
        if self._action is not None:
            self._action()

    def then(self, action):
        self._action = action
        if self.asked:
            action()


def reprocess_only(conf, stop_signals):
    """No collector on a shared v2 storage: the API workers leave resets
    and reprocessing tasks (re-rated from the stored points) to this
    process, which does only that until stopped."""
    from ratekeeper import storage as rk_storage
    from ratekeeper.processor import reprocess

    storage = rk_storage.get_storage(conf)
    try:
        stop = reprocess.start_in_background(conf, storage)
        if stop is None:
            LOG.info('[orchestrator] max_workers_reprocessing = 0: nothing '
                     'to do')
            return 0
        stop_signals.then(stop.set)
        LOG.info('no collector: acting on resets and reprocessing tasks '
                 'only')
        while not stop.wait(1):
            pass
    finally:
        storage.close()
    return 0


def main(argv=None):
    stop_signals = StopSignals()
    one_malloc_arena()
    # imported once the signals are caught: they take seconds to load on
    # a busy host, and a stop asked meanwhile must not kill the process
    from ratekeeper import conf as rk_conf
    from ratekeeper.db import migration
    from ratekeeper.processor import reprocess
    from ratekeeper.processor import service

    conf = rk_conf.load(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO,
        format='%(asctime)s %(process)d %(levelname)s %(name)s %(message)s')
    behind = migration.behind_message(conf)
    if behind:
        LOG.error(behind)
        return 1
    if not conf.collect.collector:
        if conf.storage.version >= 2 and service.shared_storage(conf):
            return reprocess_only(conf, stop_signals)
        LOG.error('[collect] collector is not set: nothing to collect')
        return 1
    if conf.orchestrator.max_workers == 0:
        LOG.info('[orchestrator] max_workers = 0: nothing to do')
        return 0
    try:
        processor = service.build(conf)
    except service.ConfigurationError as exc:
        LOG.error('cannot start: %s', exc)
        return 1
    stop_signals.then(processor.stop)
    LOG.info('collecting with %s, scopes from %s, every %ds',
             conf.collect.collector, conf.fetcher.backend,
             conf.collect.period)
    # resets and reprocessing tasks asked of /v2, in threads beside
    reprocessing = reprocess.start_in_background(conf, processor.storage)
    try:
        processor.run()
    finally:
        if reprocessing is not None:
            reprocessing.set()
        processor.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
