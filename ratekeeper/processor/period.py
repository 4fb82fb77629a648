"""Collect and rate one scope-period: the unit of work of the processor,
and of reprocessing.

:meth:`PeriodProcessor.collect_and_rate` collects every metric of the
collector's definitions for one scope over [begin, begin + period), in a
thread pool shared by the process, rates the points with the enabled
modules (the rules valid at ``begin``) and drops those the skip
expression selects. It stores nothing: the caller pushes the batch
(:meth:`store_period` does it safely for the regular loop; a reprocessing
worker deletes its window first, then pushes).

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
class RatedPeriod:
    scope_id: str
    begin: datetime.datetime
    end: datetime.datetime
    batch: dataframe.PointBatch
    failed_metrics: dict     # metric key -> error message (left out)
    skipped_samples: int     # NaN/infinite samples not stored
    dropped_points: int      # points the skip expression removed


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

    def collect(self, scope_id, begin, end):
        """{definition key: MetricPoints} and {key: error} of the metrics
        refused; raises PeriodFailed on a transient error."""
        futures = {d.key: self.pool.submit(self.collector.retrieve, d,
                                           scope_id, begin, end)
                   for d in self.collector.definitions}
        collected, failed, transient = {}, {}, []
        for key, future in futures.items():
            try:
                collected[key] = future.result()
            except rk_collector.CollectError as exc:
                if exc.transient:
                    transient.append(exc)
                failed[key] = str(exc)
        if transient:
            raise PeriodFailed('scope %s, period %s: %s' % (
                scope_id, begin.isoformat(), transient[0]))
        for key, error in failed.items():
            LOG.error('scope %s, period %s: metric %s left out: %s',
                      scope_id, begin.isoformat(), key, error)
        return collected, failed

    @staticmethod
    def _batch(collected, begin, end):
        batch = dataframe.PointBatch()
        for points in collected.values():
            count = len(points)
            if not count:
                continue
            definition = points.definition
            batch.begin.extend([begin] * count)
            batch.end.extend([end] * count)
            batch.type.extend([definition.alt_name] * count)
            batch.unit.extend([definition.unit] * count)
            batch.qty.extend(float(qty) for qty in points.qty)
            batch.groupby.extend(points.groupby)
            batch.metadata.extend(points.metadata)
        batch.price = [0.0] * len(batch)
        return batch

    def _apply_skip_filters(self, batch, collected):
        """Drop the rated points the skip expressions select."""
        filter_of_type = {p.definition.alt_name: self.skip_filters[key]
                          for key, p in collected.items()}
        if all(f.constant is False for f in filter_of_type.values()):
            return
        keep = [i for i in range(len(batch)) if filter_of_type[
            batch.type[i]].keep(batch.unit[i], batch.qty[i], batch.price[i],
                                batch.groupby[i], batch.metadata[i])]
        for column in ('begin', 'end', 'type', 'unit', 'qty', 'price',
                       'groupby', 'metadata'):
            values = getattr(batch, column)
            setattr(batch, column, [values[i] for i in keep])
        batch.__dict__.pop('groupby_keys', None)
        batch.__dict__.pop('metadata_keys', None)

    def collect_and_rate(self, scope_id, begin):
        """The rated points of the scope for [begin, begin + period)."""
        end = begin + self.period
        collected, failed = self.collect(scope_id, begin, end)
        batch = self._batch(collected, begin, end)
        before = len(batch)
        if before:
            self.registry.rate(batch)
            self._apply_skip_filters(batch, collected)
        return RatedPeriod(
            scope_id=scope_id, begin=begin, end=end, batch=batch,
            failed_metrics=failed,
            skipped_samples=sum(p.skipped for p in collected.values()),
            dropped_points=before - len(batch))

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
