# /v2 and /v2/: this version's document, or its JSON-home with
# Accept: application/json-home; /v2/openapi.json: the OpenAPI document.
# Both are generated from the app's routing table and the resources'
# declarations, so a new resource appears in them with nothing to edit.
import flask

from ratekeeper.api import versions as api_versions
from ratekeeper.api.v2 import base
from ratekeeper.api.v2 import openapi
from ratekeeper.api.v2 import routes

JSON_HOME = 'application/json-home'
REL_PREFIX = 'https://docs.openstack.org/api/rating/2/rel/'
PARAM_PREFIX = 'https://docs.openstack.org/api/rating/2/param/'
_HIDDEN_METHODS = frozenset(('HEAD', 'OPTIONS'))


def _json_home_entry(rule, resource, root):
    methods = sorted(set(rule.methods) - _HIDDEN_METHODS)
    hints = {'allow': methods, 'formats': {'application/json': {}}}
    if 'POST' in methods or 'PUT' in methods or 'PATCH' in methods:
        hints['accept-post' if 'POST' in methods else 'accept-put'] = \
            ['application/json']
    if resource.conditional:
        hints['preconditions'] = ['etag']
    entry = {'hints': hints}
    template = routes.template(rule)
    if rule.arguments:
        entry['href-template'] = root + template
        entry['href-vars'] = {name: PARAM_PREFIX + name
                              for name in sorted(rule.arguments)}
    else:
        entry['href'] = root + template
    return entry


def json_home(app, root):
    """The JSON-home document (draft-nottingham-json-home) of v2."""
    resources = {}
    for rule, resource in routes.resource_rules(app):
        resources[REL_PREFIX + routes.relation(resource)] = \
            _json_home_entry(rule, resource, root)
    return {'resources': resources}


def _url_root():
    return flask.request.host_url.rstrip('/') + flask.request.script_root \
        .rsplit('/v2', 1)[0] + '/'


def _wants_json_home():
    accept = flask.request.accept_mimetypes
    return accept.quality(JSON_HOME) > accept.quality('application/json')


class Version(base.BaseResource):
    public = True

    def get(self):
        """This version's document; its JSON-home when asked for."""
        if _wants_json_home():
            document = json_home(flask.current_app, flask.request.script_root)
            return flask.Response(base.api_json.dumps(document),
                                  mimetype=JSON_HOME)
        return {'version': api_versions.describe(base.conf(), 'v2',
                                                 _url_root())}


class OpenAPI(base.BaseResource):
    public = True

    def get(self):
        """The OpenAPI 3.1 document of v2 (built once per app)."""
        app = flask.current_app
        if 'RATEKEEPER_OPENAPI' not in app.config:
            app.config['RATEKEEPER_OPENAPI'] = openapi.document(app, '/')
        document = dict(app.config['RATEKEEPER_OPENAPI'])
        document['servers'] = [{'url': _url_root().rstrip('/') or '/'}]
        return document


blueprint = flask.Blueprint('versions', __name__)
api = base.Api(blueprint)
api.add_resource(Version, '/')
api.add_resource(OpenAPI, '/openapi.json')
