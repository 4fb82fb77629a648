"""The v2 API: a Flask app, one blueprint per endpoint family.

Each family module exposes ``blueprint`` (a Flask blueprint with its
Flask-RESTful resources); FAMILIES lists them, and registering them is all
the app factory does besides error handling and the policy check.
"""
import flask

from ratekeeper import context as rk_context
from ratekeeper.api import microversion
from ratekeeper.api.v2 import base
from ratekeeper.api.v2 import dataframes
from ratekeeper.api.v2 import rating
from ratekeeper.api.v2 import scope
from ratekeeper.api.v2 import summary
from ratekeeper.api.v2 import task
from ratekeeper.api.v2 import versions

FAMILIES = (summary, dataframes, rating, scope, task)


def create_app(conf, storage):
    app = flask.Flask(__name__)
    app.config['RATEKEEPER_CONF'] = conf
    app.config['RATEKEEPER_STORAGE'] = storage
    app.config['MAX_CONTENT_LENGTH'] = conf.api.max_request_body_size
    app.url_map.strict_slashes = False
    # werkzeug answers '//' with an HTML redirect; here it is no route (404)
    app.url_map.merge_slashes = False
    app.register_blueprint(versions.blueprint)
    for family in FAMILIES:
        app.register_blueprint(family.blueprint)
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
