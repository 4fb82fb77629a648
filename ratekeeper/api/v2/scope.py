# /v2/scope: list, reset, change and create scope states.
import flask
import voluptuous as vo

from ratekeeper import errors
from ratekeeper.api.v2 import base
from ratekeeper.api.v2 import validation as v
from ratekeeper.policies import scope as policies
from ratekeeper.processor import reprocess
from ratekeeper.processor import schedule
from ratekeeper.processor import state as scope_state

SCOPE_ID = v.identifier(256)
SCOPE_FIELD = v.identifier(40)  # scope_key, fetcher, collector
NO_SCOPE = 'No resource found for provided filters.'


def active_flag(value):
    """0 or 1, as CloudKitty's integer filter (``true`` is refused)."""
    number = v.integer_value(0)(value)
    if number > 1:
        raise vo.Invalid('value must be 0 or 1')
    return number


v.describe(active_flag, {'type': 'integer', 'enum': [0, 1]})

scope_get_query = {
    vo.Optional('scope_id'): v.MultiQueryParam(SCOPE_ID),
    vo.Optional('scope_key'): v.MultiQueryParam(SCOPE_FIELD),
    vo.Optional('fetcher'): v.MultiQueryParam(SCOPE_FIELD),
    vo.Optional('collector'): v.MultiQueryParam(SCOPE_FIELD),
    vo.Optional('active'): v.MultiQueryParam(active_flag),
}

# CloudKitty's field is last_processed_timestamp; python-cloudkittyclient
# 6.2.0 sends the timestamp as "state" (CloudKitty 25 refuses it).
scope_reset_body = {
    vo.Optional('all_scopes'): v.boolean_value,
    vo.Optional('scope_id'): v.identifier_list(256),
    vo.Optional('scope_key'): v.identifier_list(40),
    vo.Optional('fetcher'): v.identifier_list(40),
    vo.Optional('collector'): v.identifier_list(40),
    vo.Optional('last_processed_timestamp'): v.collect_time,
    vo.Optional('state'): v.collect_time,
}

scope_patch_body = {
    vo.Required('scope_id'): SCOPE_ID,
    vo.Optional('scope_key'): SCOPE_FIELD,
    vo.Optional('fetcher'): SCOPE_FIELD,
    vo.Optional('collector'): SCOPE_FIELD,
    vo.Optional('active'): v.boolean_value,
    vo.Optional('last_processed_timestamp'): v.collect_time,
}

scope_post_body = {
    vo.Required('scope_id'): SCOPE_ID,
    vo.Required('last_processed_timestamp'): v.collect_time,
    vo.Optional('scope_key'): SCOPE_FIELD,
    vo.Optional('fetcher'): SCOPE_FIELD,
    vo.Optional('collector'): SCOPE_FIELD,
    vo.Optional('active'): v.boolean_value,
}

scope_response = {
    vo.Required('scope_id'): str,
    vo.Required('scope_key'): vo.Any(str, None),
    vo.Required('fetcher'): vo.Any(str, None),
    vo.Required('collector'): vo.Any(str, None),
    vo.Required('last_processed_timestamp'): str,
    vo.Required('active'): bool,
    vo.Required('scope_activation_toggle_date'): str,
    # last_processed_timestamp again, under the name python-cloudkittyclient
    # 6.2.0 reads for its "State" column (CloudKitty 25 leaves it out)
    vo.Required('state'): str,
}
scopes_response = {vo.Required('results'): [scope_response],
                   vo.Optional('links'): base.links_schema}


def _states():
    return scope_state.ScopeStates(base.conf())


def _period_begin(moment):
    """A timestamp inside a collect period stands for that period."""
    return schedule.floor_to_period(moment, base.conf().collect.period)


def _scope_document(state):
    last_processed = state.last_processed_timestamp.isoformat()
    return {
        'scope_id': state.scope_id, 'scope_key': state.scope_key,
        'fetcher': state.fetcher, 'collector': state.collector,
        'last_processed_timestamp': last_processed,
        'active': state.active,
        'scope_activation_toggle_date':
            state.scope_activation_toggle_date.isoformat(),
        'state': last_processed,
    }


def _active_filter(flags):
    """[0], [1] or both/none (None: active and inactive scopes)."""
    values = set(flags or ())
    return bool(values.pop()) if len(values) == 1 else None


def _reset_timestamp(last_processed_timestamp, state):
    if (last_processed_timestamp and state
            and last_processed_timestamp != state):
        raise errors.InvalidInput("'state' and 'last_processed_timestamp' "
                                  'name the same value; they differ.')
    timestamp = last_processed_timestamp or state
    if timestamp is None:
        raise errors.InvalidInput("Variable 'last_processed_timestamp' "
                                  'cannot be empty/None.')
    return _period_begin(timestamp)


def _check_selector(all_scopes, scope_id):
    if all_scopes and scope_id:
        raise errors.InvalidInput('two or more values in the same group of '
                                  "exclusion 'scope_selector'")
    if not all_scopes and not scope_id:
        raise errors.InvalidInput('Either all_scopes or a scope_id should be '
                                  'specified.')


def _check_keys_free(current, changes):
    """409 when the new scope key, fetcher or collector would make the
    state collide with another state of the same scope."""
    keys = {key: changes.get(key, getattr(current, key))
            for key in ('scope_key', 'fetcher', 'collector')}
    if keys == {key: getattr(current, key) for key in keys}:
        return
    if _states().count(scope_id=[current.scope_id], **{
            key: [value] for key, value in keys.items()
            if value is not None}):
        raise errors.Conflict('A state of scope %s with these scope_key, '
                              'fetcher and collector already exists.'
                              % current.scope_id)


class Scopes(base.BaseResource):
    relation = 'scope'

    @base.enforce(policies.GET_STATE)
    @v.query_schema(scope_get_query, paginated=True)
    @v.output_schema(scopes_response)
    def get(self, scope_id=None, scope_key=None, fetcher=None,
            collector=None, active=None, offset=0, limit=100):
        """Scope states matching the filters, ordered by scope id."""
        scope_id = base.visible_scope_ids(scope_id)
        if scope_id == []:
            raise errors.NotFound(NO_SCOPE, code=errors.NO_RESOURCE_FOUND)
        filters = dict(scope_id=scope_id, scope_key=scope_key,
                       fetcher=fetcher, collector=collector,
                       active=_active_filter(active))
        found = _states().list(offset=offset, limit=limit, **filters)
        if not found:
            raise errors.NotFound(NO_SCOPE, code=errors.NO_RESOURCE_FOUND)
        return base.paged({'results': [_scope_document(s) for s in found]},
                          offset, limit, lambda: _states().count(**filters))

    @base.enforce(policies.RESET_STATE)
    @v.query_schema({})
    @v.body_schema(scope_reset_body)
    @v.output_schema({}, status=202)
    def put(self, all_scopes=False, scope_id=None, scope_key=None,
            fetcher=None, collector=None, last_processed_timestamp=None,
            state=None):
        """Reset scopes (every one with all_scopes) to a timestamp: their
        rated data after that period is deleted and collected again, by a
        processor within seconds; 202."""
        _check_selector(all_scopes, scope_id)
        timestamp = _reset_timestamp(last_processed_timestamp, state)
        found = _states().list(
            scope_id=None if all_scopes else scope_id, scope_key=scope_key,
            fetcher=fetcher, collector=collector, limit=None)
        if not found:
            raise errors.NotFound(NO_SCOPE, code=errors.NO_RESOURCE_FOUND)
        schedule.Resets(base.conf()).request(found, timestamp)
        reprocess.wake()
        return {}, 202

    @base.enforce(policies.PATCH_STATE)
    @v.query_schema({})
    @v.body_schema(scope_patch_body)
    @v.output_schema(scope_response)
    @v.may_refuse(409, 'Another state of the scope has these keys.')
    def patch(self, scope_id, last_processed_timestamp=None, **changes):
        """Change a scope's active flag, scope key, fetcher, collector or
        last processed timestamp (no data is deleted)."""
        current = _states().get(scope_id)
        if current is None:
            raise errors.NotFound(NO_SCOPE, code=errors.NO_RESOURCE_FOUND)
        _check_keys_free(current, changes)
        match = {key: getattr(current, key)
                 for key in ('scope_key', 'fetcher', 'collector')}
        updated = _states().patch(scope_id, match=match, **changes)
        if last_processed_timestamp is not None:
            _states().reset(_period_begin(last_processed_timestamp),
                            scope_id=[scope_id], scope_key=updated.scope_key,
                            fetcher=updated.fetcher,
                            collector=updated.collector)
            updated = _states().get(scope_id)
        return _scope_document(updated)

    @base.enforce(policies.POST_STATE)
    @v.query_schema({})
    @v.body_schema(scope_post_body)
    @v.output_schema(scope_response)
    @v.may_refuse(409, 'The scope has a state already.')
    def post(self, scope_id, last_processed_timestamp, scope_key=None,
             fetcher=None, collector=None, active=True):
        """Create a scope state; the keys not given take the configured
        scope key, fetcher and collector."""
        if _states().count(scope_id=[scope_id]):
            raise errors.Conflict('Cannot create a scope with an already '
                                  'existing scope_id: %s.' % scope_id)
        conf = base.conf()
        created = _states().create(
            scope_id, _period_begin(last_processed_timestamp),
            scope_key=scope_key or conf.collect.scope_key,
            fetcher=fetcher or conf.fetcher.backend,
            collector=collector or conf.collect.collector, active=active)
        return _scope_document(created)


blueprint = flask.Blueprint('scope', __name__, url_prefix='/scope')
api = base.Api(blueprint)
api.add_resource(Scopes, '')
