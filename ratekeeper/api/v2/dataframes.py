# /v2/dataframes: push rated points; list them back, paginated by point.
import flask
import voluptuous as vo

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper import rating
from ratekeeper.api import idempotency
from ratekeeper.api.v2 import base
from ratekeeper.api import periods
from ratekeeper.api.v2 import validation as v
from ratekeeper.policies import dataframes as policies


def point_batch(frames):
    """The request's frames as one PointBatch (checked point by point)."""
    try:
        return dataframe.parse_dataframes(frames)
    except dataframe.InvalidDataframe as exc:
        raise vo.Invalid(exc.reason, path=[exc.path]) from None


dataframes_post_body = {vo.Required('dataframes'): point_batch}
dataframes_post_query = {
    # rate=true: the enabled rating modules price every point (a sent
    # price is replaced) before it is stored
    vo.Optional('rate'): v.SingleQueryParam(v.query_boolean),
}

dataframes_get_query = {
    vo.Optional('begin'): v.SingleQueryParam(v.datetime_value),
    vo.Optional('end'): v.SingleQueryParam(v.datetime_value),
    vo.Optional('filters'): v.DictQueryParam(multi=False),
}


def _is_text_mapping(value):
    return type(value) is dict and all(
        type(k) is str and type(v) is str for k, v in value.items())


def _is_usual_point(point):
    """point_response, checked inline (a page holds up to max_limit
    points)."""
    try:
        vol, rating = point['vol'], point['rating']
        return ((len(point) == 4 or (len(point) == 5 and type(
                    point.get('description')) is str))
                and len(vol) == 2 and len(rating) == 1
                and type(vol['unit']) is str
                and type(vol['qty']) in NUMBER_TYPES
                and type(rating['price']) in NUMBER_TYPES
                and _is_text_mapping(point['groupby'])
                and _is_text_mapping(point['metadata']))
    except (KeyError, TypeError):
        return False


NUMBER_TYPES = (int, float)
point_response = {
    vo.Required('vol'): {vo.Required('unit'): str,
                         vo.Required('qty'): vo.Any(int, float)},
    vo.Required('rating'): {vo.Required('price'): vo.Any(int, float)},
    vo.Required('groupby'): {str: str},
    vo.Required('metadata'): {str: str},
    # the metric's description, when the point has one (CloudKitty lost
    # them: its bug B9)
    vo.Optional('description'): str,
}
dataframes_get_response = {
    vo.Required('total'): int,
    vo.Optional('links'): base.links_schema,  # from 2.1
    vo.Required('dataframes'): [{
        vo.Required('period'): {vo.Required('begin'): str,
                                vo.Required('end'): str},
        vo.Required('usage'): {str: [v.fast_check(point_response,
                                                  _is_usual_point)]},
    }],
}


class DataFrames(base.BaseResource):
    relation = 'data_frames'

    @base.enforce(policies.ADD, target=base.no_target)
    @v.query_schema(dataframes_post_query)
    @v.body_schema(dataframes_post_body)
    def post(self, dataframes, rate=False):
        """Store points, all or nothing. With ``rate`` every point is
        priced first (a sent price is replaced); without it, only points
        sent without a rating are, and sent prices are kept."""
        registry = rating.get_registry(base.conf())
        if rate:
            registry.rate(dataframes)
        elif dataframes.unrated:
            registry.rate_points(dataframes, dataframes.unrated)
        idempotency.push_once(
            base.conf(), flask.request.headers.get(idempotency.HEADER),
            lambda: base.storage().push(dataframes))
        return None, 204

    @base.enforce(policies.GET)
    @v.query_schema(dataframes_get_query, paginated=True)
    @v.output_schema(dataframes_get_response)
    def get(self, begin=None, end=None, filters=None, offset=0, limit=100):
        """Stored points of the period, oldest first."""
        begin, end = periods.resolve(begin, end)
        filters = {k: [val] for k, val in (filters or {}).items()}
        filters = base.restrict_to_caller_project(filters)
        if filters is None:
            return {'total': 0, 'dataframes': []}
        metric_types = filters.pop('type', None)
        result = base.storage().retrieve(
            begin, end, filters=filters, metric_types=metric_types,
            offset=offset, limit=limit)
        if result['total'] < 1:
            raise errors.NotFound('No resource found for provided filters.',
                                  code=errors.NO_RESOURCE_FOUND)
        return base.paged(result, offset, limit, result['total'])


blueprint = flask.Blueprint('dataframes', __name__, url_prefix='/dataframes')
api = base.Api(blueprint)
api.add_resource(DataFrames, '')
