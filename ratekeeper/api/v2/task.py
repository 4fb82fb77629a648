# /v2/task/reprocesses: schedule the reprocessing of a time window for some
# scopes, and list the tasks.
import datetime
import threading

import flask
import voluptuous as vo

from ratekeeper import errors
from ratekeeper.api.v2 import base
from ratekeeper.api.v2 import validation as v
from ratekeeper.policies import task as policies
from ratekeeper.processor import reprocess
from ratekeeper.processor import schedule
from ratekeeper.processor import state as scope_state

ALL = 'ALL'
MAX_REASON_LENGTH = 16383  # a TEXT column of MySQL holds 64 KB of UTF-8
# one scheduling at a time in this process: the overlap check and the
# insert it allows go together
_SCHEDULING = threading.Lock()


def reason_text(value):
    if type(value) is not str:
        raise vo.Invalid('expected str')
    if len(value) > MAX_REASON_LENGTH:
        raise vo.Invalid('at most %d characters' % MAX_REASON_LENGTH)
    return value


v.describe(reason_text, {'type': 'string', 'maxLength': MAX_REASON_LENGTH})


def order_value(value):
    order = value.lower()
    if order not in schedule.ORDERS:
        raise vo.Invalid('The order [%s] is not valid. Accepted values are '
                         "['asc', 'desc']." % value[:64])
    return order


v.describe(order_value, {'type': 'string', 'enum': ['asc', 'desc']})

reprocess_post_body = {
    vo.Required('scope_ids'): v.identifier_list(256),
    vo.Required('start_reprocess_time'): v.collect_time,
    vo.Required('end_reprocess_time'): v.collect_time,
    vo.Required('reason'): reason_text,
}

reprocess_get_query = {
    vo.Optional('scope_ids'): v.MultiQueryParam(v.identifier(256)),
    vo.Optional('order'): v.SingleQueryParam(order_value),
}

task_response = {
    vo.Required('scope_id'): str,
    vo.Required('reason'): str,
    vo.Required('start_reprocess_time'): str,
    vo.Required('end_reprocess_time'): str,
    vo.Required('current_reprocess_time'): str,
}
tasks_response = {vo.Required('results'): [task_response],
                  vo.Optional('links'): base.links_schema}


def _naive_text(moment):
    """CloudKitty's form of these times: naive UTC ISO 8601."""
    return '' if moment is None else moment.replace(tzinfo=None).isoformat()


def _task_document(task):
    return {'scope_id': task.scope_id, 'reason': task.reason,
            'start_reprocess_time': _naive_text(task.start),
            'end_reprocess_time': _naive_text(task.end),
            'current_reprocess_time': _naive_text(task.current)}


def _refuse(message):
    raise errors.InvalidInput(message)


def _check_window(start, end):
    period = base.conf().collect.period
    if end < start:
        _refuse('End reprocessing timestamp [%s] cannot be less than start '
                'reprocessing timestamp [%s].' % (end, start))
    floor_start = schedule.floor_to_period(start, period)
    floor_end = schedule.floor_to_period(end, period)
    if (floor_start, floor_end) != (start, end):
        if floor_start == floor_end:
            floor_end += datetime.timedelta(seconds=period)
        _refuse('The provided reprocess time window does not comply with '
                'the configured collector period. A valid time window near '
                'the provided one is %s'
                % ([str(floor_start), str(floor_end)],))


def _window_text(start, end):
    return '[start=%s, end=%s]' % (start, end)


def _scopes_to_reprocess(scope_ids, start, end):
    """The active states of the scopes named (every active one for ALL);
    400 for ids with no state, or with inactive states only."""
    states = scope_state.ScopeStates(base.conf())
    if scope_ids == [ALL]:
        return states.list(active=True, limit=None)
    found = states.list(scope_id=scope_ids, limit=None)
    known = {state.scope_id for state in found}
    missing = sorted(set(scope_ids) - known)
    if missing:
        _refuse('Scopes %s scheduled to reprocess %s do not exist.'
                % (missing, _window_text(start, end)))
    active = [state for state in found if state.active]
    inactive = sorted(known - {state.scope_id for state in active})
    if inactive:
        _refuse('Scopes %s scheduled to reprocess %s are not active; '
                'activate them first (PATCH /v2/scope).'
                % (inactive, _window_text(start, end)))
    return active


def _check_processed(state, start, end):
    """The window must be rated already: it ends by the last period the
    processor has stored for the scope."""
    last = state.last_processed_timestamp
    if start > last:
        _refuse('Cannot execute a reprocessing [start=%s] for scope [%s] '
                'starting after the last possible timestamp [%s].'
                % (start, state.scope_id, last))
    if end > last:
        _refuse('Cannot execute a reprocessing [end=%s] for scope [%s] '
                'ending after the last possible timestamp [%s].'
                % (end, state.scope_id, last))


def _check_no_overlap(scope_ids, start, end):
    for task in schedule.Schedule(base.conf()).unfinished(scope_ids):
        if task.overlaps(start, end):
            _refuse('Cannot schedule a reprocessing for scope [%s] for '
                    'reprocessing time %s, because it already has a '
                    'schedule for a similar time range %s.'
                    % (task.scope_id, _window_text(start, end),
                       _window_text(task.start, task.end)))


def _check_request(scope_ids, start, end, reason):
    """CloudKitty's checks, in its order (every failure a 400)."""
    if ALL in scope_ids and len(scope_ids) > 1:
        _refuse("Cannot use 'ALL' with scope ID %s. Either schedule a "
                "reprocessing for all active scopes using 'ALL' option, or "
                'inform only the scopes you desire to schedule a '
                'reprocessing.' % scope_ids)
    if not reason.strip():
        _refuse('Empty or blank reason text is not allowed. Please, do '
                'inform/register the reason for the reprocessing of a '
                'previously processed timestamp.')
    _check_window(start, end)


def _list_tasks(scope_ids, order, offset, limit):
    scope_ids = base.visible_scope_ids(scope_ids)
    if scope_ids == []:
        return {'results': []}
    tasks = schedule.Schedule(base.conf())
    found = tasks.list(scope_ids, order=order, offset=offset, limit=limit)
    return base.paged({'results': [_task_document(task) for task in found]},
                      offset, limit, lambda: tasks.count(scope_ids))


class Reprocesses(base.BaseResource):
    relation = 'reprocesses'

    @base.enforce(policies.SCHEDULE_REPROCESSING)
    @v.query_schema({})
    @v.body_schema(reprocess_post_body)
    @v.output_schema({}, status=202)
    def post(self, scope_ids, start_reprocess_time, end_reprocess_time,
             reason):
        """Schedule the reprocessing of [start, end] (end is the begin of
        the last period reprocessed) for the scopes, or every active one
        with ALL; 202."""
        start, end = start_reprocess_time, end_reprocess_time
        _check_request(scope_ids, start, end, reason)
        with _SCHEDULING:
            found = _scopes_to_reprocess(scope_ids, start, end)
            for state in found:
                _check_processed(state, start, end)
            ids = sorted({state.scope_id for state in found})
            _check_no_overlap(ids, start, end)
            schedule.Schedule(base.conf()).add(ids, start, end, reason)
        reprocess.wake()
        return {}, 202

    @base.enforce(policies.GET_REPROCESSING)
    @v.query_schema(reprocess_get_query, paginated=True)
    @v.output_schema(tasks_response)
    def get(self, scope_ids=None, order='desc', offset=0, limit=100):
        """Reprocessing tasks, finished or not, ordered by id."""
        return _list_tasks(scope_ids, order, offset, limit)


class ScopeReprocesses(base.BaseResource):
    relation = 'scope_reprocesses'

    @base.enforce(policies.GET_REPROCESSING)
    @v.query_schema(reprocess_get_query, paginated=True)
    @v.output_schema(tasks_response)
    def get(self, path_scope_id, scope_ids=None, order='desc', offset=0,
            limit=100):
        """The reprocessing tasks of one scope (the path's id wins over
        scope_ids)."""
        return _list_tasks([path_scope_id], order, offset, limit)


blueprint = flask.Blueprint('task', __name__, url_prefix='/task')
api = base.Api(blueprint)
api.add_resource(Reprocesses, '/reprocesses')
api.add_resource(ScopeReprocesses, '/reprocesses/<path_scope_id>')
