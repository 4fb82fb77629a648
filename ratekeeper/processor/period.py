"""Collect and rate one scope-period: the unit of work of the processor,
and of reprocessing.

:meth:`PeriodProcessor.collect_and_rate` collects every metric of the
collector's definitions for one scope over [begin, begin + period), in a
thread pool shared by the process, rates the points with the enabled
modules (the rules valid at ``begin``) and drops those the skip
expression selects. It stores nothing: the caller pushes the batch
(the orchestrator's :meth:`Processor.store_periods` does it safely for
the regular loop; a reprocessing worker deletes its window first, then
pushes). :meth:`PeriodProcessor.collect_and_rate_periods` does the same
for consecutive periods at once, rated and pushed as one batch.

Errors are isolated per metric (CloudKitty abandoned the period, and so
every scope, on any failing metric): a metric whose query the backend
refuses is left out with an error logged and reported, the other metrics
are stored. A transient failure (the backend out of reach, 5xx, garbage)
fails the period, which is retried later without advancing the state.
"""
import concurrent.futures
import dataclasses
import datetime
import logging

import simpleeval

from ratekeeper import collector as rk_collector
from ratekeeper import dataframe
from ratekeeper import rating

LOG = logging.getLogger(__name__)


class PeriodFailed(Exception):
    """The period could not be collected now; retry it later."""


class InvalidExpression(Exception):
    """A skip_datapoints_expression that does not parse."""


@dataclasses.dataclass
class RatedPeriods:
    """The rated points of consecutive periods of one scope."""

    scope_id: str
    begins: list = dataclasses.field(default_factory=list)  # periods done
    batch: dataframe.PointBatch = dataclasses.field(
        default_factory=dataframe.PointBatch)
    # period begin -> {metric key: error} of the metrics left out
    failed_metrics: dict = dataclasses.field(default_factory=dict)
    skipped_samples: int = 0     # NaN/infinite samples not stored
    dropped_points: int = 0      # points the skip expressions removed
    # why the periods were not done (PeriodFailed)
    failure: Exception = None
    # period begin -> {metric key: MetricPoints, quantities only} until
    # rated (PeriodProcessor.rate)
    collected: dict = dataclasses.field(default_factory=dict)


class SkipFilter:
    """skip_datapoints_expression, evaluated by simpleeval (CloudKitty
    used eval()) on each rated point as ``datapoint``."""

    def __init__(self, expression):
        self.expression = expression
        self.constant = None
        try:
            self.parsed = simpleeval.EvalWithCompoundTypes().parse(expression)
        except SyntaxError as exc:
            raise InvalidExpression('skip_datapoints_expression %r: %s'
                                    % (expression, exc)) from None
        if expression.strip() in ('False', 'None', '0', ''):
            self.constant = False

    def keep(self, unit, qty, price, groupby, metadata):
        if self.constant is False:
            return True
        datapoint = {'vol': {'unit': unit, 'qty': qty},
                     'rating': {'price': price},
                     'groupby': groupby, 'metadata': metadata}
        evaluator = simpleeval.EvalWithCompoundTypes(
            names={'datapoint': datapoint})
        return not evaluator.eval(self.expression,
                                  previously_parsed=self.parsed)


class PeriodProcessor:
    """Collects and rates scope-periods for one configuration; shared by
    the threads of a process."""

    def __init__(self, conf, collector, registry=None):
        self.conf = conf
        self.collector = collector
        self.period = datetime.timedelta(seconds=conf.collect.period)
        self.registry = registry or rating.get_registry(conf)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            conf.orchestrator.max_threads,
            thread_name_prefix='ratekeeper-collect')
        default = SkipFilter(conf.orchestrator.skip_datapoints_expression)
        self.skip_filters = {
            d.key: SkipFilter(d.skip_expression) if d.skip_expression
            else default for d in collector.definitions}

    def _collect(self, scope_id, begins):
        """{period begin: {definition key: MetricPoints}} and {period
        begin: {key: error}} of the metrics refused; raises PeriodFailed
        on a transient error (nothing of these periods is usable)."""
        futures = {d.key: self.pool.submit(
            self.collector.retrieve_periods, d, scope_id, begins,
            self.period, complete=False) for d in self.collector.definitions}
        collected = {begin: {} for begin in begins}
        failed, transient = {}, []
        for key, future in futures.items():
            try:
                for begin, points in future.result().items():
                    collected[begin][key] = points
            except rk_collector.CollectError as exc:
                if exc.transient:
                    transient.append(exc)
                failed[key] = str(exc)
        where = 'scope %s, periods %s to %s' % (
            scope_id, begins[0].isoformat(), begins[-1].isoformat())
        if transient:
            raise PeriodFailed('%s: %s' % (where, transient[0]))
        for key, error in failed.items():
            LOG.error('%s: metric %s left out: %s', where, key, error)
        return collected, {begin: failed for begin in begins} \
            if failed else {}

    def _add_points(self, batch, collected, scope_id, begin):
        end = begin + self.period
        for points in collected.values():
            count = len(points)
            if not count:
                continue
            points = self.collector.complete(points, scope_id, begin)
            definition = points.definition
            batch.begin.extend([begin] * count)
            batch.end.extend([end] * count)
            batch.type.extend([definition.alt_name] * count)
            batch.unit.extend([definition.unit] * count)
            batch.qty.extend(float(qty) for qty in points.qty)
            batch.groupby.extend(points.groupby)
            batch.metadata.extend(points.metadata)
            # B9: CloudKitty lost it on the way to storage
            batch.description.extend([definition.description] * count)

    def _apply_skip_filters(self, batch):
        """Drop the rated points the skip expressions select."""
        filter_of_type = {d.alt_name: self.skip_filters[d.key]
                          for d in self.collector.definitions}
        if all(f.constant is False for f in filter_of_type.values()):
            return
        keep = [i for i in range(len(batch)) if filter_of_type[
            batch.type[i]].keep(batch.unit[i], batch.qty[i], batch.price[i],
                                batch.groupby[i], batch.metadata[i])]
        batch.description = batch.descriptions()
        for column in ('begin', 'end', 'type', 'unit', 'qty', 'price',
                       'groupby', 'metadata', 'description'):
            values = getattr(batch, column)
            setattr(batch, column, [values[i] for i in keep])
        batch.__dict__.pop('groupby_keys', None)
        batch.__dict__.pop('metadata_keys', None)

    def collect_periods(self, scope_id, begins):
        """The quantities of the scope for the consecutive periods
        beginning at ``begins``, collected at once (one query per metric
        when the collector can), in ``collected``; rate them with
        :meth:`rate`, some periods at a time. On a transient failure
        nothing is done: ``begins`` of the result is empty and ``failure``
        says why."""
        rated = RatedPeriods(scope_id)
        try:
            rated.collected, rated.failed_metrics = self._collect(scope_id,
                                                                  begins)
        except PeriodFailed as exc:
            rated.failure = exc
            return rated
        rated.begins = list(begins)
        for points in rated.collected.values():
            rated.skipped_samples += sum(p.skipped for p in points.values())
        return rated

    def chunks(self, rated, points=None):
        """``rated.begins`` in runs of consecutive periods holding about
        ``points`` points (``[orchestrator] max_points_per_push``) each:
        what is rated and stored at once."""
        limit = points or self.conf.orchestrator.max_points_per_push
        run, count = [], 0
        for begin in rated.begins:
            size = sum(map(len, rated.collected[begin].values()))
            if run and count + size > limit:
                yield run
                run, count = [], 0
            run.append(begin)
            count += size
        if run:
            yield run

    def rate(self, rated, begins):
        """The rated points of the periods ``begins`` (collected in
        ``rated``), the skip expressions applied; their quantities are
        then forgotten (a processor holds one chunk of points per scope at
        a time)."""
        batch = dataframe.PointBatch()
        for begin in begins:
            self._add_points(batch, rated.collected.pop(begin),
                             rated.scope_id, begin)
        before = len(batch)
        if before:
            self.registry.rate(batch)
            self._apply_skip_filters(batch)
        rated.dropped_points += before - len(batch)
        return batch

    def collect_and_rate_periods(self, scope_id, begins):
        """The rated points of the scope for the consecutive periods
        beginning at ``begins``, all in ``batch`` (see
        :meth:`collect_periods`)."""
        rated = self.collect_periods(scope_id, begins)
        if rated.failure is None:
            rated.batch = self.rate(rated, rated.begins)
        return rated

    def collect_and_rate(self, scope_id, begin):
        """The rated points of the scope for [begin, begin + period);
        raises PeriodFailed when it cannot be collected now."""
        rated = self.collect_and_rate_periods(scope_id, [begin])
        if rated.failure is not None:
            raise rated.failure
        return rated

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
