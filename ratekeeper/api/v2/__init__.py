"""The v2 API: a Flask app, one blueprint per endpoint family.

Endpoint families are plugins: each is a Flask blueprint (with its
Flask-RESTful resources, subclasses of base.BaseResource) registered under
the entry point group ``ratekeeper.api.v2.families``, the built-in ones as
any other package's. Registering them is all the app factory does besides
error handling and the policy check; JSON-home, OpenAPI and the policy walk
test read the routing table, so a family gets its entries there for free.

A new family (another package, or /v2/<family> here) provides:

1. a module with ``blueprint = flask.Blueprint('<family>', __name__,
   url_prefix='/<family>')``, its resources added through
   ``base.Api(blueprint)``; each resource declares ``relation`` (its
   published name) and wraps every method in ``base.enforce(rule)``;
2. a policy module (``list_rules()``), see ratekeeper.policies;
3. two entry points: ``<family> = "<module>:blueprint"`` under
   ``ratekeeper.api.v2.families`` and ``<family> = "<policy module>"``
   under ``ratekeeper.policies``;

plus its API reference section (tests/docs check every route has one).
"""
import importlib.metadata

import flask

from ratekeeper import context as rk_context
from ratekeeper.api import microversion
from ratekeeper.api.v2 import base
from ratekeeper.api.v2 import routes
from ratekeeper.api.v2 import versions

NAMESPACE = 'ratekeeper.api.v2.families'


def families():
    """The blueprint of every installed family, by entry point name."""
    entry_points = importlib.metadata.entry_points(group=NAMESPACE)
    return [ep.load() for ep in sorted(entry_points, key=lambda e: e.name)]


def create_app(conf, storage):
    app = flask.Flask(__name__)
    app.config['RATEKEEPER_CONF'] = conf
    app.config['RATEKEEPER_STORAGE'] = storage
    app.config['MAX_CONTENT_LENGTH'] = conf.api.max_request_body_size
    app.url_map.strict_slashes = False
    # werkzeug answers '//' with an HTML redirect; here it is no route (404)
    app.url_map.merge_slashes = False
    app.register_blueprint(versions.blueprint)
    for blueprint in families():
        app.register_blueprint(blueprint)
    for _rule, resource in routes.resource_rules(app):
        routes.relation(resource)  # a resource without one fails here
    app.register_error_handler(Exception, base.error_response)
    app.before_request(_select_microversion)
    app.after_request(_check_policy_enforced)
    app.after_request(_add_version_headers)
    return app


def _select_microversion():
    """The request's microversion, from OpenStack-API-Version (400 or 406
    when it cannot be served)."""
    environ = flask.request.environ
    environ[microversion.ENVIRON_KEY] = microversion.from_header(
        environ.get('HTTP_OPENSTACK_API_VERSION'))


def _add_version_headers(response):
    version = flask.request.environ.get(microversion.ENVIRON_KEY)
    if version is not None:
        response.headers[microversion.HEADER] = '%s %s' % (
            microversion.SERVICE_TYPE, version)
    response.vary.add(microversion.HEADER)
    link = flask.g.get('link_header')
    if link:
        response.headers['Link'] = link
    return response


def _check_policy_enforced(response):
    """Fail loudly when a resource answered without asking the policy
    (redirects, such as werkzeug's from '//' to '/', show nothing)."""
    if response.status_code >= 300 or flask.request.method == 'OPTIONS':
        return response
    view = flask.current_app.view_functions.get(flask.request.endpoint)
    resource = getattr(view, 'view_class', None)
    if resource is not None and getattr(resource, 'public', False):
        return response
    ctx = flask.request.environ.get(rk_context.ENVIRON_KEY)
    if ctx is None or not ctx.policy_checked:
        return base.error_response(RuntimeError(
            'no policy was enforced on %s %s'
            % (flask.request.method, flask.request.path)))
    return response
