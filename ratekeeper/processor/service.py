"""Running processors: in their own process (ratekeeper-processor) or in
a thread of the API process when the storage is the embedded DuckDB file,
which one process only may open.

On a storage several processes share (v1 SQL on a server database,
ClickHouse, InfluxDB) the API workers neither collect nor reprocess:
ratekeeper-processor processes do both, as many as wanted, beside them."""
import logging
import threading

from ratekeeper import collector as rk_collector
from ratekeeper import fetcher as rk_fetcher
from ratekeeper import storage as rk_storage
from ratekeeper.collector import definitions
from ratekeeper.processor import orchestrator
from ratekeeper.processor import period as rk_period

LOG = logging.getLogger(__name__)


class ConfigurationError(Exception):
    """The processor cannot start with this configuration."""


def build(conf, storage=None, clock=None):
    """A Processor for ``conf``; ConfigurationError with a message naming
    the option or metric at fault."""
    try:
        return orchestrator.Processor(conf, storage, clock=clock)
    except (definitions.InvalidConfiguration,
            rk_fetcher.InvalidConfiguration,
            rk_period.InvalidExpression) as exc:
        raise ConfigurationError(str(exc)) from None


def shared_storage(conf):
    """Whether the configured storage is one several processes share."""
    return bool(rk_storage.backend_class(conf).shared_by_processes)


def reprocesses_in_api(conf):
    """Whether the API process runs the reprocessing workers: on the
    embedded v2 storage only (elsewhere ratekeeper-processor does)."""
    return conf.storage.version >= 2 and not shared_storage(conf)


def api_role(conf):
    """What the API process does besides serving, in a sentence for its
    start log (None: nothing to say)."""
    if embedded(conf):
        return ('collecting with %s and reprocessing in this process '
                '(embedded storage)' % conf.collect.collector)
    if reprocesses_in_api(conf):
        return 'reprocessing in this process (embedded storage)'
    work = []
    if conf.collect.collector:
        work.append('collect')
    if conf.storage.version >= 2:
        work.append('reprocess')
    if not work:
        return None
    return ('the API workers do not %s: the %s storage is shared by '
            'processes, so run ratekeeper-processor --config-file FILE '
            'beside them (one or more, on any host, with a shared '
            '[orchestrator] coordination_url)'
            % (' nor '.join(work), rk_storage.backend_name(conf)))


def embedded(conf):
    """Whether the API process runs the processor: a collector is
    configured and the storage is the embedded DuckDB file."""
    return bool(conf.collect.collector) and conf.storage.version == 2 \
        and rk_storage.backend_name(conf) == 'duckdb' \
        and conf.orchestrator.max_workers > 0


_RUNNING = {}


def running(conf):
    """The processor running in this process for ``conf``, or None."""
    thread = _RUNNING.get(id(conf))
    return thread.processor if thread is not None else None


def check(conf):
    """Raise ConfigurationError when the processor of ``conf`` could not
    start (metrics.yml, collector, fetcher, skip expressions), without
    opening storage or locks."""
    try:
        collector = rk_collector.get_collector(conf)
        try:
            for definition in collector.definitions:
                rk_period.SkipFilter(definition.skip_expression or 'False')
            rk_period.SkipFilter(
                conf.orchestrator.skip_datapoints_expression)
        finally:
            collector.close()
        rk_fetcher.get_fetcher(conf).close()
    except (definitions.InvalidConfiguration,
            rk_fetcher.InvalidConfiguration,
            rk_period.InvalidExpression) as exc:
        raise ConfigurationError(str(exc)) from None


def start_thread(conf, storage):
    """Run the processor of ``conf`` in a thread of this process, on
    ``storage``; the Thread, or None when nothing is to collect here."""
    if not embedded(conf):
        return None
    try:
        processor = build(conf, storage)
    except Exception:  # e.g. the coordination backend out of reach
        LOG.exception('the processor could not start; the API serves '
                      'without collecting')
        return None
    thread = _RUNNING[id(conf)] = Thread(processor).start()
    return thread


class Thread:
    """A processor running in a daemon thread of this process."""

    def __init__(self, processor):
        self.processor = processor
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name='ratekeeper-processor')

    def _run(self):
        try:
            self.processor.run()
        except Exception as exc:  # logged and reported; the API serves on
            self.processor.stopped_by_error = '%s: %s' % (
                type(exc).__name__, exc)
            LOG.exception('the processor thread stopped')

    def start(self):
        self.thread.start()
        return self

    def stop(self, timeout=30):
        self.processor.stop()
        self.thread.join(timeout)
        self.processor.close()
        for key, thread in list(_RUNNING.items()):
            if thread is self:
                del _RUNNING[key]
