"""/v1/rating/module_config/hashmap: the hashmap configuration API.

The client reaches the same objects several ways: ids in the path or in a
JSON body (PUT and DELETE on collections), GET parameters in the query or in
a JSON body, and nested forms (services/<id>/fields, mappings/<id>/group).
Each way is one line of ROUTES. Texts, codes and JSON follow CloudKitty's
(see gabbits/v1-hashmap*.yaml).
"""
import pecan

from ratekeeper import errors
from ratekeeper.api.v1 import json_controllers as jc
from ratekeeper.api.v1 import module_config
from ratekeeper.api.v1.module_config import inputs
from ratekeeper.api.v1.module_config import routes
from ratekeeper.policies import hashmap as policies
from ratekeeper.rating.hashmap import models
from ratekeeper.rating.hashmap import database

MAX_NAME_LENGTH = 32


# -- input --------------------------------------------------------------------

def _parents(body):
    return {'service_id': inputs.uuid_value(body.get('service_id'),
                                            'service_id'),
            'field_id': inputs.uuid_value(body.get('field_id'), 'field_id'),
            'group_id': inputs.uuid_value(body.get('group_id'), 'group_id'),
            'tenant_id': inputs.text_value(body.get('tenant_id'),
                                           'tenant_id')}


def _map_type(body):
    return inputs.choice_value(body.get('type'), 'type', database.MAP_TYPES,
                               'flat')


def mapping_input(body):
    if body.get('cost') is None:
        raise inputs.missing('cost')
    data = _parents(body)
    data.update(
        mapping_id=inputs.uuid_value(body.get('mapping_id'), 'mapping_id'),
        value=inputs.text_value(body.get('value'), 'value'),
        type=_map_type(body),
        cost=inputs.decimal_value(body['cost'], 'cost',
                                  kept=models.stored_cost),
        start=inputs.datetime_value(body.get('start'), 'start'),
        end=inputs.datetime_value(body.get('end'), 'end', end_of_day=True),
        name=inputs.text_value(body.get('name'), 'name', MAX_NAME_LENGTH),
        description=inputs.text_value(body.get('description'),
                                      'description', 64 * 1024))
    return data


def mapping_update_input(body):
    """All attributes the body carries, parsed, for the running-rule
    comparison (CloudKitty compares every attribute sent)."""
    data = mapping_input(body)
    for key in ('created_at', 'deleted'):
        if body.get(key):
            data[key] = inputs.datetime_value(body[key], key)
    for key in ('created_by', 'updated_by', 'deleted_by'):
        if body.get(key):
            data[key] = inputs.text_value(body[key], key)
    return {key: value for key, value in data.items()
            if key in body or key == 'type'}


def threshold_input(body):
    if body.get('level') is None:
        raise inputs.missing('level')
    if body.get('cost') is None:
        raise inputs.missing('cost')
    data = _parents(body)
    data.update(
        threshold_id=inputs.uuid_value(body.get('threshold_id'),
                                       'threshold_id'),
        level=inputs.decimal_value(body['level'], 'level', minimum=0,
                                   kept=models.stored_level),
        type=_map_type(body),
        cost=inputs.decimal_value(body['cost'], 'cost',
                                  kept=models.stored_cost))
    return data


def name_input(body):
    name = inputs.text_value(body.get('name'), 'name')
    if not name:
        raise inputs.missing('name')
    return name


def _rule_filters(params):
    filters = {}
    for key in ('service_id', 'field_id', 'group_id'):
        filters[key] = inputs.uuid_value(params.get(key), key)
    filters['tenant_id'] = inputs.text_value(params.get('tenant_id'),
                                             'tenant_id')
    for key in ('no_group', 'filter_tenant'):
        filters[key] = inputs.boolean_value(params.get(key), key)
    return filters


def _mapping_filters(params):
    filters = _rule_filters(params)
    for key in ('deleted', 'is_active'):
        filters[key] = inputs.boolean_value(params.get(key), key)
    filters['all'] = inputs.boolean_value(params.get('all', True), 'all')
    filters['start'] = inputs.datetime_value(params.get('start'), 'start')
    filters['end'] = inputs.datetime_value(params.get('end'), 'end')
    for key in ('created_by', 'updated_by', 'deleted_by', 'description'):
        filters[key] = inputs.text_value(params.get(key), key)
    return filters


# -- output ----------------------------------------------------------------

def _cost_text(number):
    return format(models.stored_cost(number), 'f')


def service_document(row):
    return {'service_id': row.service_id, 'name': row.name}


def field_document(row):
    return {'field_id': row.field_id, 'name': row.name,
            'service_id': row.service_id}


def group_document(row):
    return {'group_id': row.group_id, 'name': row.name}


def mapping_document(row):
    moment = inputs.moment_text
    return {'mapping_id': row.mapping_id, 'value': row.value,
            'type': row.map_type, 'cost': _cost_text(row.cost),
            'service_id': row.service_id, 'field_id': row.field_id,
            'group_id': row.group_id, 'tenant_id': row.tenant_id,
            'created_at': moment(row.created_at),
            'start': moment(row.start), 'end': moment(row.end),
            'name': row.name, 'description': row.description,
            'deleted': moment(row.deleted), 'created_by': row.created_by,
            'updated_by': row.updated_by, 'deleted_by': row.deleted_by}


def threshold_document(row):
    return {'threshold_id': row.threshold_id,
            'level': format(models.stored_level(row.level), 'f'),
            'type': row.map_type,
            'cost': _cost_text(row.cost),
            'service_id': row.service_id, 'field_id': row.field_id,
            'group_id': row.group_id, 'tenant_id': row.tenant_id}


def _mappings(rows):
    return 200, {'mappings': [mapping_document(m) for m in rows]}


def _thresholds(rows):
    return 200, {'thresholds': [threshold_document(t) for t in rows]}


# -- handlers (each takes a routes.Call) -------------------------------------

def conf():
    return jc.conf()


def user():
    return jc.context().user_id or 'unknown'


def created(document, new_id):
    location = pecan.request.path_url.rstrip('/') + '/' + new_id
    return 201, document, {'Location': location}


def redirect_to_request():
    return 302, None, {'Location': pecan.request.path_url}


def _id(call, key, source):
    """The object id from the path, else from ``source`` (the query or
    the JSON body)."""
    return inputs.text_value(call.path.get(key) or source.get(key), key)


def list_types(call):
    return 200, list(database.MAP_TYPES)


def list_services(call):
    return 200, {'services': [service_document(s)
                              for s in database.list_services(conf())]}


def get_service(call):
    return 200, service_document(database.get_service(
        conf(), call.path['service_id']))


def create_service(call):
    row = database.create_service(
        conf(), name_input(call.body),
        inputs.uuid_value(call.body.get('service_id'), 'service_id'))
    return created(service_document(row), row.service_id)


def delete_service(call):
    database.delete_service(conf(), _id(call, 'service_id', call.params))
    return 204, None


def list_fields(call):
    service_id = _id(call, 'service_id', call.params)
    if not service_id:
        raise errors.InvalidInput('Missing argument: "service_id"')
    return 200, {'fields': [field_document(f) for f in
                            database.list_fields(conf(), service_id)]}


def get_field(call):
    return 200, field_document(database.get_field(conf(),
                                                  call.path['field_id']))


def create_field(call):
    service_id = inputs.uuid_value(call.body.get('service_id'),
                                   'service_id')
    if not service_id:
        raise inputs.missing('service_id')
    row = database.create_field(conf(), service_id, name_input(call.body),
                                inputs.uuid_value(call.body.get('field_id'),
                                                  'field_id'))
    return created(field_document(row), row.field_id)


def delete_field(call):
    database.delete_field(conf(), _id(call, 'field_id', call.params))
    return 204, None


def list_groups(call):
    return 200, {'groups': [group_document(g)
                            for g in database.list_groups(conf())]}


def get_group(call):
    return 200, group_document(database.get_group(conf(),
                                                  call.path['group_id']))


def create_group(call):
    row = database.create_group(conf(), name_input(call.body),
                                inputs.uuid_value(call.body.get('group_id'),
                                                  'group_id'))
    return created(group_document(row), row.group_id)


def delete_group(call):
    params = call.params
    database.delete_group(conf(), _id(call, 'group_id', params),
                          inputs.boolean_value(params.get('recursive'),
                                               'recursive'))
    return 204, None


def _group_rules(call, model):
    group_id = _id(call, 'group_id', call.params)
    if not group_id:
        raise errors.InvalidInput('Missing argument: "group_id"')
    return database.group_rules(conf(), model, group_id)


def list_group_mappings(call):
    return _mappings(_group_rules(call, models.Mapping))


def list_group_thresholds(call):
    return _thresholds(_group_rules(call, models.Threshold))


def _with_parent(call):
    """The parameters, with the parent (service or field) of a nested
    path (services/<id>/mappings) in place of any sent."""
    return dict(call.params, **call.path)


def list_mappings(call):
    return _mappings(database.list_mappings(
        conf(), **_mapping_filters(_with_parent(call))))


def get_mapping(call):
    return 200, mapping_document(database.get_mapping(conf(),
                                                      call.path['mapping_id']))


def create_mapping(call):
    force = inputs.boolean_value(pecan.request.GET.get('force'), 'force')
    row = database.create_mapping(conf(), mapping_input(call.body),
                                  force=force, user=user())
    return created(mapping_document(row), row.mapping_id)


def update_mapping(call):
    mapping_id = _id(call, 'mapping_id', call.body)
    database.get_mapping(conf(), mapping_id)
    database.update_mapping(conf(), mapping_id,
                            mapping_update_input(call.body), user=user())
    return redirect_to_request()


def delete_mapping(call):
    database.delete_mapping(conf(), _id(call, 'mapping_id', call.params),
                            user=user())
    return 204, None


def get_mapping_group(call):
    return 200, group_document(database.group_of(
        conf(), models.Mapping, _id(call, 'mapping_id', call.params)))


def list_thresholds(call):
    return _thresholds(database.list_thresholds(
        conf(), **_rule_filters(_with_parent(call))))


def get_threshold(call):
    return 200, threshold_document(database.get_threshold(
        conf(), call.path['threshold_id']))


def create_threshold(call):
    row = database.create_threshold(conf(), threshold_input(call.body))
    return created(threshold_document(row), row.threshold_id)


def update_threshold(call):
    threshold_id = _id(call, 'threshold_id', call.body)
    database.get_threshold(conf(), threshold_id)
    database.update_threshold(conf(), threshold_id, threshold_input(call.body))
    return redirect_to_request()


def delete_threshold(call):
    database.delete_threshold(conf(), _id(call, 'threshold_id', call.params))
    return 204, None


def get_threshold_group(call):
    return 200, group_document(database.group_of(
        conf(), models.Threshold, _id(call, 'threshold_id', call.params)))


READ, CREATE = policies.GET, policies.CREATE
UPDATE, DELETE = policies.UPDATE, policies.DELETE
route = routes.route

ROUTES = [
    route('types', GET=(list_types, READ)),
    route('services', GET=(list_services, READ),
          POST=(create_service, CREATE), DELETE=(delete_service, DELETE)),
    route('services/{service_id}', conditional=True,
          GET=(get_service, READ), DELETE=(delete_service, DELETE)),
    route('services/{service_id}/fields', GET=(list_fields, READ)),
    route('services/{service_id}/mappings', GET=(list_mappings, READ)),
    route('services/{service_id}/thresholds', GET=(list_thresholds, READ)),
    route('fields', GET=(list_fields, READ), POST=(create_field, CREATE),
          DELETE=(delete_field, DELETE)),
    route('fields/{field_id}', conditional=True,
          GET=(get_field, READ), DELETE=(delete_field, DELETE)),
    route('fields/{field_id}/mappings', GET=(list_mappings, READ)),
    route('fields/{field_id}/thresholds', GET=(list_thresholds, READ)),
    route('groups', GET=(list_groups, READ), POST=(create_group, CREATE),
          DELETE=(delete_group, DELETE)),
    route('groups/mappings', GET=(list_group_mappings, READ)),
    route('groups/thresholds', GET=(list_group_thresholds, READ)),
    route('groups/{group_id}', conditional=True,
          GET=(get_group, READ), DELETE=(delete_group, DELETE)),
    route('groups/{group_id}/mappings', GET=(list_group_mappings, READ)),
    route('groups/{group_id}/thresholds',
          GET=(list_group_thresholds, READ)),
    route('mappings', GET=(list_mappings, READ),
          POST=(create_mapping, CREATE), PUT=(update_mapping, UPDATE),
          DELETE=(delete_mapping, DELETE)),
    route('mappings/group', GET=(get_mapping_group, READ)),
    route('mappings/{mapping_id}', conditional=True,
          GET=(get_mapping, READ), PUT=(update_mapping, UPDATE),
          DELETE=(delete_mapping, DELETE)),
    route('mappings/{mapping_id}/group', GET=(get_mapping_group, READ)),
    route('thresholds', GET=(list_thresholds, READ),
          POST=(create_threshold, CREATE), PUT=(update_threshold, UPDATE),
          DELETE=(delete_threshold, DELETE)),
    route('thresholds/group', GET=(get_threshold_group, READ)),
    route('thresholds/{threshold_id}', conditional=True,
          GET=(get_threshold, READ), PUT=(update_threshold, UPDATE),
          DELETE=(delete_threshold, DELETE)),
    route('thresholds/{threshold_id}/group',
          GET=(get_threshold_group, READ)),
]

API = module_config.ConfigAPI('hashmap', ROUTES)
