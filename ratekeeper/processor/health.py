"""How far behind the processor is, per scope, for the health check."""
import datetime

from ratekeeper.processor import state as scope_state

UTC = datetime.timezone.utc
MAX_SCOPES = 1000


def _due_periods(last, period, wait_periods, now):
    """Periods after ``last`` already due (ended, plus the wait)."""
    waited = (now - last).total_seconds() / period - 1 - wait_periods
    return max(0, int(waited))


def report(conf, processor=None, now=None):
    """(healthy, reason, details). Healthy unless the processor of this
    process stopped; details list every scope's lag and last error."""
    now = now or datetime.datetime.now(UTC)
    period = conf.collect.period
    states = scope_state.ScopeStates(conf).list(
        collector=conf.collect.collector or None, limit=MAX_SCOPES)
    errors = dict(processor.errors) if processor is not None else {}
    scopes = []
    for state in states:
        next_begin = state.last_processed_timestamp + \
            datetime.timedelta(seconds=period)
        scopes.append({
            'scope_id': state.scope_id,
            'active': state.active,
            'last_processed_timestamp':
                state.last_processed_timestamp.isoformat(),
            'lag_seconds': max(0, int((now - next_begin).total_seconds())),
            'periods_due': _due_periods(state.last_processed_timestamp,
                                        period, conf.collect.wait_periods,
                                        now) if state.active else 0,
            'error': errors.get(state.scope_id),
        })
    details = {'collector': conf.collect.collector,
               'scopes': scopes,
               'failing_scopes': sorted(errors)}
    if processor is not None and processor.fetch_error:
        details['fetcher_error'] = processor.fetch_error
    if processor is not None and processor.stopped_by_error:
        return False, 'the processor stopped: %s' % \
            processor.stopped_by_error, details
    failing = len(errors) + bool(details.get('fetcher_error'))
    reason = 'OK' if not failing else \
        'OK (processor: %d scope(s) failing)' % failing
    return True, reason, details
