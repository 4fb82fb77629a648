"""Collectors: metrics.yml -> usage points, for one scope and one period.

A collector is a class registered under the entry point group
``ratekeeper.collector.backends`` (CloudKitty's
``cloudkitty.collector.backends`` is the model) and chosen by
``[collect] collector``. It reads its backend's samples for one metric
definition (:mod:`ratekeeper.collector.definitions`); this base class
turns them into points: exact quantities, the scope key and the other
groupby labels (a missing label reads ''), metadata, and the time
attributes CloudKitty adds to groupby.
"""
import dataclasses
import logging

import voluptuous as vol
from stevedore import driver

from ratekeeper.collector import definitions as metric_definitions

LOG = logging.getLogger(__name__)
NAMESPACE = 'ratekeeper.collector.backends'


class CollectError(Exception):
    """A metric could not be collected. ``transient`` errors (the backend
    out of reach, timing out, answering 5xx or garbage) are worth retrying
    as they are; the others (the backend refusing the query) will fail
    again until the configuration changes."""

    def __init__(self, message, transient=True):
        super().__init__(message)
        self.transient = transient


@dataclasses.dataclass
class Sample:
    value: str              # as the backend gave it ('1.5', 'NaN', ...)
    labels: dict


@dataclasses.dataclass
class MetricPoints:
    """The points of one definition for one scope and period."""

    definition: metric_definitions.MetricDefinition
    qty: list = dataclasses.field(default_factory=list)      # Decimals
    groupby: list = dataclasses.field(default_factory=list)
    metadata: list = dataclasses.field(default_factory=list)
    skipped: int = 0        # NaN and infinite samples
    labels: list = None     # until complete(): each point's labels

    def __len__(self):
        return len(self.qty)


def time_attributes(begin):
    """CloudKitty's time groupbys of a period begin, in local time."""
    local = begin.astimezone()
    return {'week_of_the_year': local.strftime('%U'),
            'day_of_the_year': str(local.timetuple().tm_yday),
            'month': str(local.month),
            'year': local.strftime('%Y')}


class BaseCollector:
    """What every collector provides."""

    name = None
    extra_args_schema = vol.Schema(dict)

    def __init__(self, conf):
        self.conf = conf
        self.scope_key = conf.collect.scope_key
        self.definitions = metric_definitions.load(
            conf, self.extra_args_schema)

    def fetch(self, definition, scope_id, begin, end):
        """The samples of ``definition`` for the scope over [begin, end);
        raises CollectError."""
        raise NotImplementedError

    def fetch_periods(self, definition, scope_id, begins, period):
        """{begin: samples} of consecutive periods of ``period``; one
        fetch per period unless the backend does better."""
        return {begin: self.fetch(definition, scope_id, begin,
                                  begin + period) for begin in begins}

    def quantities(self, definition, scope_id, begin, samples):
        """The samples of one period as MetricPoints holding quantities
        and labels only (``labels``; ``groupby`` and ``metadata`` come
        with :meth:`complete`): a bad value raises CollectError here,
        before anything is stored."""
        points = MetricPoints(definition)
        points.labels = []
        for sample in samples:
            try:
                qty = definition.quantity(sample.value)
            except (ArithmeticError, ValueError, TypeError):
                raise CollectError('metric %s: sample value %.50r is not '
                                   'a number' % (definition.key,
                                                 sample.value)) from None
            if qty is None:
                points.skipped += 1
                continue
            points.qty.append(qty)
            points.labels.append(sample.labels)
        if points.skipped:
            LOG.warning('metric %s, scope %s, period %s: %d sample(s) not '
                        'finite (NaN or infinite) skipped',
                        definition.key, scope_id, begin.isoformat(),
                        points.skipped)
        return points

    def complete(self, points, scope_id, begin):
        """``points`` (from :meth:`quantities`) with their groupby (the
        scope key and the time attributes added) and metadata."""
        definition, times = points.definition, time_attributes(begin)
        for labels in points.labels:
            groupby = {key: labels.get(key, '') for key in definition.groupby}
            groupby[self.scope_key] = scope_id
            groupby.update(times)
            points.groupby.append(groupby)
            points.metadata.append(
                {key: labels.get(key, '') for key in definition.metadata})
        points.labels = None
        return points

    def _points(self, definition, scope_id, begin, samples):
        return self.complete(self.quantities(definition, scope_id, begin,
                                             samples), scope_id, begin)

    def retrieve(self, definition, scope_id, begin, end):
        """The points of ``definition`` for the scope over [begin, end)."""
        return self._points(definition, scope_id, begin,
                            self.fetch(definition, scope_id, begin, end))

    def retrieve_periods(self, definition, scope_id, begins, period,
                         complete=True):
        """{begin: MetricPoints} of ``definition`` for the scope over the
        consecutive periods beginning at ``begins``; their quantities only
        (see :meth:`quantities`) unless ``complete``."""
        fetched = self.fetch_periods(definition, scope_id, begins, period)
        make = self._points if complete else self.quantities
        return {begin: make(definition, scope_id, begin,
                            fetched.get(begin, ()))
                for begin in begins}

    def close(self):
        """Release connections."""


def extra_args_schema(conf):
    """The configured collector's schema of a metric's extra_args (any
    mapping when no known collector is configured): metrics.yml read as
    the processor reads it, without starting a collector."""
    if conf.collect.collector:
        try:
            return driver.DriverManager(
                NAMESPACE, conf.collect.collector).driver.extra_args_schema
        except Exception:  # stevedore's NoMatches and the import's
            pass
    return BaseCollector.extra_args_schema


def get_collector(conf):
    """The configured collector; raises InvalidConfiguration when the
    name or metrics.yml is wrong."""
    name = conf.collect.collector
    try:
        plugin = driver.DriverManager(NAMESPACE, name).driver
    except Exception as exc:  # stevedore's NoMatches and the import's
        raise metric_definitions.InvalidConfiguration(
            '[collect] collector = %s: no such collector (%s)'
            % (name, exc)) from None
    return plugin(conf)
