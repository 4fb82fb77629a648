"""The root app: the versions document at ``/`` and JSON for the rest."""
import flask

from ratekeeper import errors
from ratekeeper.api import json as api_json
from ratekeeper.api import versions as api_versions


def versions(conf):
    """(id, status) of the versions this deployment serves."""
    return [(version_id, api_versions.status(conf, version_id))
            for version_id in api_versions.served(conf)]


def versions_document(conf, url_root):
    """CloudKitty's shape; links honour the script root (path prefixes)."""
    return api_versions.versions_document(conf, url_root)


def _json(document, status=200, headers=None):
    return flask.Response(api_json.dumps(document), status=status,
                          headers=headers, mimetype='application/json')


def _error(status, message, code=None, headers=None):
    body = errors.error_body(
        status, message, code, flask.request.environ.get(
            'openstack.request_id'))
    return _json(body, status, headers)


def create_app(conf):
    app = flask.Flask(__name__)

    @app.route('/', methods=['GET', 'HEAD'])
    def version_list():
        return _json(versions_document(conf, flask.request.url_root))

    @app.route('/', methods=['POST', 'PUT', 'PATCH', 'DELETE'])
    def version_list_other_methods():
        return _error(405, 'The method is not allowed for the requested URL.',
                      headers={'Allow': 'GET, HEAD'})

    @app.route('/v2', defaults={'rest': ''}, methods=ALL_METHODS)
    @app.route('/v2/<path:rest>', methods=ALL_METHODS)
    def v2_without_v2_storage(rest):
        return _error(404, 'API v2 needs a v2 storage backend: this '
                           'deployment runs [storage] version = 1.',
                      errors.V2_NEEDS_V2_STORAGE)

    @app.errorhandler(404)
    def not_found(_exc):
        return _error(404, 'The resource could not be found.')

    return app


ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
