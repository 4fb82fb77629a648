"""/v1/rating/module_config/pyscripts: the pyscripts configuration API.

Scripts are reached by id in the path or, as CloudKitty's tempest client
does, in a JSON body on the collection (PUT, DELETE); list parameters come
in the query or in a JSON body on GET. Texts, codes and JSON follow
CloudKitty's (see gabbits/v1-pyscripts*.yaml).
"""
import pecan

from ratekeeper.api.v1 import json_controllers as jc
from ratekeeper.api.v1 import module_config
from ratekeeper.api.v1.module_config import inputs
from ratekeeper.api.v1.module_config import routes
from ratekeeper.policies import pyscripts as policies
from ratekeeper.rating.pyscripts import scripts

MAX_DESCRIPTION_LENGTH = 64 * 1024
DATES = ('created_at', 'start', 'end', 'deleted')


# -- input --------------------------------------------------------------------

def _data_value(value):
    """The script text: a string (its size and syntax are checked by the
    rating layer, in a worker)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise inputs.invalid('data', value, "Wrong type. Expected 'str'.")
    return value


def script_input(body, require_data=True):
    if not body.get('name'):
        raise inputs.missing('name')
    if require_data and body.get('data') is None:
        raise inputs.missing('data')
    return {
        'script_id': inputs.uuid_value(body.get('script_id'), 'script_id'),
        'name': inputs.text_value(body['name'], 'name'),
        'data': _data_value(body.get('data')),
        'start': inputs.datetime_value(body.get('start'), 'start'),
        'end': inputs.datetime_value(body.get('end'), 'end',
                                     end_of_day=True),
        'description': inputs.text_value(body.get('description'),
                                         'description',
                                         MAX_DESCRIPTION_LENGTH)}


def script_update_input(body):
    """The attributes a script's update may change or must leave alone
    (sent back unchanged by the client), parsed for the comparison."""
    data = script_input(body, require_data=False)
    return {key: data[key] for key in ('name', 'data', 'start', 'end',
                                       'description') if key in body}


def _filters(params):
    text = {key: inputs.text_value(params.get(key), key)
            for key in ('created_by', 'updated_by', 'deleted_by',
                        'description')}
    return dict(
        text,
        deleted=inputs.boolean_value(params.get('deleted'), 'deleted'),
        start=inputs.datetime_value(params.get('start'), 'start'),
        end=inputs.datetime_value(params.get('end'), 'end'),
        is_active=inputs.boolean_value(params.get('is_active'),
                                       'is_active'))


# -- output -------------------------------------------------------------------

def script_document(row, with_data=True):
    document = {'script_id': row.script_id, 'name': row.name,
                'data': row.data, 'checksum': row.checksum}
    if not with_data:
        del document['data']
    for key in DATES:
        document[key] = inputs.moment_text(getattr(row, key))
        if key == 'end':
            document['description'] = row.description
    for key in ('created_by', 'updated_by', 'deleted_by'):
        document[key] = getattr(row, key)
    return document


# -- handlers (each takes a routes.Call) -------------------------------------

def list_scripts(call):
    no_data = inputs.boolean_value(call.params.get('no_data'), 'no_data')
    rows = scripts.list_scripts(jc.conf(), **_filters(call.params))
    return 200, {'scripts': [script_document(row, not no_data)
                             for row in rows]}


def get_script(call):
    return 200, script_document(scripts.get_script(
        jc.conf(), call.path['script_id']))


def create_script(call):
    force = inputs.boolean_value(pecan.request.GET.get('force'), 'force')
    row = scripts.create_script(jc.conf(), script_input(call.body),
                                force=force, user=routes.user())
    return routes.created(script_document(row), row.script_id)


def update_script(call):
    """201 with the script; its Location is the request URL and the id,
    as CloudKitty's (the id twice for PUT .../scripts/<id>)."""
    script_id = routes.object_id(call, 'script_id')
    scripts.get_script(jc.conf(), script_id)
    row = scripts.update_script(jc.conf(), script_id,
                                script_update_input(call.body),
                                user=routes.user())
    location = pecan.request.path_url
    location += ('' if location.endswith('/') else '/') + row.script_id
    return 201, script_document(row), {'Location': location}


def delete_script(call):
    scripts.delete_script(jc.conf(),
                          routes.object_id(call, 'script_id'),
                          user=routes.user())
    return 204, None


READ, CREATE = policies.GET, policies.CREATE
UPDATE, DELETE = policies.UPDATE, policies.DELETE
route = routes.route

ROUTES = [
    route('scripts', names='script_id', GET=(list_scripts, READ),
          POST=(create_script, CREATE),
          PUT=(update_script, UPDATE), DELETE=(delete_script, DELETE)),
    route('scripts/{script_id}', conditional=True,
          GET=(get_script, READ), PUT=(update_script, UPDATE),
          DELETE=(delete_script, DELETE)),
]

API = module_config.ConfigAPI('pyscripts', ROUTES)
