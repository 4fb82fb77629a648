# /v2/summary: totals of qty and rate over a period, grouped and filtered.
import csv
import io
import re

import flask
import voluptuous as vo

from ratekeeper.api import microversion
from ratekeeper.api.v2 import base
from ratekeeper.api import periods
from ratekeeper.api.v2 import validation as v
from ratekeeper.policies import summary as policies

# the calendar attribute each time-X groupby stands for
TIME_GROUPBY_ATTRIBUTES = {'time-d': 'day_of_the_year',
                           'time-w': 'week_of_the_year',
                           'time-m': 'month', 'time-y': 'year'}
RESPONSE_FORMATS = ('table', 'object')


def groupby_key(value):
    """A groupby attribute; ``time-d|w|m|y`` name calendar attributes."""
    if value in TIME_GROUPBY_ATTRIBUTES:
        return TIME_GROUPBY_ATTRIBUTES[value]
    if value.startswith('time-'):
        raise vo.Invalid('Invalid groupby time option. There is no groupby '
                         'processing for [%s].' % value[:64])
    if not value or len(value) > 255:
        raise vo.Invalid('a groupby key has 1 to 255 characters')
    return value


v.describe(groupby_key, {'type': 'string', 'minLength': 1,
                         'maxLength': 255})


# CloudKitty's InfluxDB backend took aggregate expressions here; its
# other backends, and every one of ratekeeper's, sum qty and rate.
CUSTOM_FIELDS_FORBIDDEN = re.compile(
    r'\b(select|from|drop|delete|create|alter|insert|update)\b', re.I)


def custom_fields_value(value):
    """Accepted as CloudKitty accepts it, and not used: the sums of qty and
    rate are what every ratekeeper backend answers."""
    if len(value) > 1024 or CUSTOM_FIELDS_FORBIDDEN.search(value):
        raise vo.Invalid('custom_fields may not hold SQL statements')
    return value


v.describe(custom_fields_value, {'type': 'string', 'maxLength': 1024})


summary_get_query = {
    vo.Optional('begin'): v.SingleQueryParam(v.datetime_value),
    vo.Optional('end'): v.SingleQueryParam(v.datetime_value),
    vo.Optional('groupby'): v.MultiQueryParam(groupby_key),
    vo.Optional('filters'): v.DictQueryParam(multi=True),
    vo.Optional('custom_fields'): v.SingleQueryParam(custom_fields_value),
    vo.Optional('response_format'): v.SingleQueryParam(
        vo.In(RESPONSE_FORMATS, msg='response_format must be one of: %s'
              % ', '.join(RESPONSE_FORMATS))),
}

CSV_FORMAT_VERSION = '2.2'
summary_get_query_v2_2 = {
    **summary_get_query,
    vo.Optional('response_format'): v.SingleQueryParam(
        vo.In(RESPONSE_FORMATS + ('csv',),
              msg='response_format must be one of: %s'
              % ', '.join(RESPONSE_FORMATS + ('csv',)))),
}

summary_table_response = {
    vo.Required('total'): int,
    vo.Required('columns'): [str],
    vo.Required('results'): [list],
    vo.Required('format'): 'table',
}
summary_object_response = {
    vo.Required('total'): int,
    vo.Required('results'): [dict],
    vo.Required('format'): 'object',
}
# From 2.1 on, both formats carry the page links.
summary_table_response[vo.Optional('links')] = base.links_schema
summary_object_response[vo.Optional('links')] = base.links_schema
NO_SCOPE_RESPONSE = {'total': 0, 'columns': [], 'results': []}
summary_get_response = vo.Any(summary_table_response, summary_object_response,
                              NO_SCOPE_RESPONSE)


def _csv_value(value):
    """Dates as in the JSON formats (ISO 8601), the rest as it is."""
    return value.isoformat() if hasattr(value, 'isoformat') else value


def _csv_response(total):
    """The table format as text/csv: a header row, then one per result."""
    rows = total['results']
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\r\n')
    if rows:
        writer.writerow(list(rows[0]))
        writer.writerows([_csv_value(value) for value in row.values()]
                         for row in rows)
    return flask.Response(out.getvalue(), mimetype='text/csv')


def _format(total, response_format):
    rows = total['results']
    if response_format == 'csv':
        return _csv_response(total)
    if response_format == 'object':
        return {'total': total['total'], 'results': rows, 'format': 'object'}
    return {'total': total['total'],
            'columns': list(rows[0]) if rows else [],
            'results': [list(row.values()) for row in rows],
            'format': 'table'}


def _summary(begin, end, groupby, filters, response_format, offset, limit):
    """Totals of qty and rate for the period, grouped and filtered."""
    begin, end = periods.resolve(begin, end)
    if groupby:
        # a key asked for twice is one column of the answer
        groupby = list(dict.fromkeys(groupby))
    filters = base.restrict_to_caller_project(dict(filters or {}))
    if filters is None:
        total = {'total': 0, 'results': []}
        if response_format != 'csv':
            # a caller without a project: CloudKitty's answer, whose shape
            # names no format
            return dict(NO_SCOPE_RESPONSE)
    else:
        metric_types = filters.pop('type', None)
        total = base.storage().total(
            begin, end, groupby=groupby, filters=filters,
            metric_types=metric_types, offset=offset, limit=limit)
    document = _format(total, response_format)
    if isinstance(document, flask.Response):
        return document
    return base.paged(document, offset, limit, total['total'])


class Summary(base.BaseResource):
    relation = 'summary'

    @microversion.version_handler('2.0', '2.1')
    @base.enforce(policies.GET)
    @v.query_schema(summary_get_query, paginated=True)
    @v.output_schema(summary_get_response)
    def get(self, begin=None, end=None, groupby=None, filters=None,
            response_format='table', offset=0, limit=100,
            custom_fields=None):
        """Totals of qty and rate for the period, grouped and filtered."""
        return _summary(begin, end, groupby, filters, response_format,
                        offset, limit)

    @microversion.version_handler(CSV_FORMAT_VERSION)
    @base.enforce(policies.GET)
    @v.query_schema(summary_get_query_v2_2, paginated=True)
    @v.output_schema(summary_get_response)
    def get(self, begin=None, end=None, groupby=None,  # noqa: F811
            filters=None, response_format='table', offset=0, limit=100,
            custom_fields=None):
        """As 2.0, and response_format=csv answers text/csv."""
        return _summary(begin, end, groupby, filters, response_format,
                        offset, limit)


blueprint = flask.Blueprint('summary', __name__, url_prefix='/summary')
api = base.Api(blueprint)
api.add_resource(Summary, '')
