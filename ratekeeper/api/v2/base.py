"""What every v2 resource shares: context, policy, storage, errors."""
import functools
import urllib.parse

import flask
import flask_restful
import voluptuous

from ratekeeper import context as rk_context
from ratekeeper import policy
from ratekeeper.api import conditional
from ratekeeper.api import errors as api_errors
from ratekeeper.api import json as api_json
from ratekeeper.api import microversion


def request_context():
    return flask.request.environ[rk_context.ENVIRON_KEY]


def authorize(rule, target):
    policy.authorize(request_context(), rule, target)


def caller_project_target():
    return {'project_id': request_context().project_id}


def no_target():
    return {}


def enforce(rule, target=caller_project_target):
    """Authorize ``rule`` before anything else runs: before the query or
    the body is parsed, so a refused caller learns nothing from validation.
    Put it outermost, above the schema decorators."""
    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            authorize(rule, target())
            if self.conditional and method.__name__ != 'get':
                self.check_preconditions(kwargs)
            return method(self, *args, **kwargs)
        wrapper.policy_rule = rule
        return wrapper
    return decorator


def storage():
    return flask.current_app.config['RATEKEEPER_STORAGE']


def conf():
    return flask.current_app.config['RATEKEEPER_CONF']


def request_id():
    return flask.request.environ.get('openstack.request_id')


def restrict_to_caller_project(filters):
    """Filters a non-admin may use: its own project, whatever it asked.

    Returns None for a non-admin without a project, who sees nothing.
    """
    scope_key = conf().collect.scope_key
    projects = rk_context.readable_projects(request_context(),
                                            filters.get(scope_key))
    if projects == []:
        return None
    if projects is None:
        return filters
    return dict(filters, **{scope_key: projects})


def visible_scope_ids(asked):
    """The scope ids a caller may read: all those asked (None: every one)
    for an admin, a non-admin's own project's only ([]: none of them)."""
    ctx = request_context()
    if ctx.is_admin:
        return asked
    if not ctx.project_id or (asked and ctx.project_id not in asked):
        return []
    return [ctx.project_id]


def json_response(document, status=200, headers=None):
    if status == 204:
        response = flask.Response(status=204, headers=headers)
        del response.headers['Content-Type']
        return response
    return flask.Response(api_json.dumps(document), status=status,
                          headers=headers, mimetype='application/json')


def error_response(exc):
    """The JSON error for any exception raised while serving a request."""
    fault = api_errors.describe(exc)
    return json_response(api_errors.document(fault, request_id()),
                         fault.status, fault.headers)


class Api(flask_restful.Api):
    """Flask-RESTful with the project's error shape and encoder."""

    def handle_error(self, e):
        return error_response(e)


# -- pagination links (microversion 2.1) ---------------------------------
LINKS_VERSION = '2.1'
link_schema = {voluptuous.Required('rel'): voluptuous.In(
                   ('self', 'next', 'prev')),
               voluptuous.Required('href'): str}
links_schema = [link_schema]


def _page_href(offset, limit):
    args = [(k, v) for k, v in flask.request.args.items(multi=True)
            if k not in ('offset', 'limit')]
    args += [('offset', str(offset)), ('limit', str(limit))]
    return flask.request.base_url + '?' + urllib.parse.urlencode(args)


def page_links(offset, limit, total):
    """self, and next/prev when there is such a page."""
    links = [{'rel': 'self', 'href': _page_href(offset, limit)}]
    if offset + limit < total:
        links.append({'rel': 'next', 'href': _page_href(offset + limit,
                                                        limit)})
    if offset > 0:
        links.append({'rel': 'prev',
                      'href': _page_href(max(offset - limit, 0), limit)})
    return links


def paged(document, offset, limit, total):
    """A page of a list: from 2.1 on it carries ``links`` and the
    response a ``Link`` header; at 2.0 it is left as it is. ``total``
    may be a function, called only when the links need it."""
    if not microversion.request_version().matches(LINKS_VERSION):
        return document
    if callable(total):
        total = total()
    links = page_links(offset, limit, total)
    flask.g.link_header = ', '.join(
        '<%s>; rel="%s"' % (link['href'], link['rel']) for link in links)
    return dict(document, links=links)


class BaseResource(flask_restful.Resource):
    """A resource whose methods return (document, status) or a document.

    ``conditional = True`` gives a member resource ETags: its ``get``
    (called with the path arguments) is the document they digest; GET
    answers 304 to a matching If-None-Match, and a PUT, PATCH or DELETE
    whose If-Match names another ETag gets 412 with the current document.
    """

    # the published name (JSON-home relation, OpenAPI operation ids),
    # declared by every routed resource: a class may be renamed freely
    relation = None
    public = False  # True only for documents every caller may read
    conditional = False

    def dispatch_request(self, *args, **kwargs):
        result = super().dispatch_request(*args, **kwargs)
        if isinstance(result, flask.Response):
            return result
        document, status = result if isinstance(result, tuple) \
            else (result, 200)
        if self.conditional and status < 300:
            return self._conditional_response(document, status, kwargs)
        return json_response(document, status)

    def current_document(self, path_kwargs):
        return self.get(**path_kwargs)

    def check_preconditions(self, path_kwargs):
        """412 on a write whose If-Match is stale (runs after the policy
        check, so a refused caller never sees the current document)."""
        if flask.request.method in ('PUT', 'PATCH', 'DELETE'):
            header = flask.request.headers.get('If-Match')
            if header is not None:
                conditional.check_if_match(
                    header, self.current_document(path_kwargs))

    def _conditional_response(self, document, status, path_kwargs):
        if flask.request.method != 'GET':
            if flask.request.method == 'DELETE':
                return json_response(document, status)
            document_now = self.current_document(path_kwargs)
            tag = conditional.etag_of(document_now)
            return json_response(document, status,
                                 {'ETag': conditional.quoted(tag)})
        tag = conditional.etag_of(document)
        headers = {'ETag': conditional.quoted(tag)}
        if conditional.not_modified(
                flask.request.headers.get('If-None-Match'), tag):
            response = flask.Response(status=304, headers=headers)
            del response.headers['Content-Type']
            return response
        return json_response(document, status, headers)
