"""/v1/rating/module_config/hashmap: the hashmap configuration API.

Routes are one table (path shape and method -> handler), because the
client reaches the same objects several ways: ids in the path or in a JSON
body (PUT and DELETE on collections), GET parameters in the query or in a
JSON body, and nested forms (services/<id>/fields, mappings/<id>/group).
Texts, codes and JSON follow CloudKitty's (see the gabbits/hashmap*.yaml).
"""
import datetime
import decimal
import re
import uuid

import pecan

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.api.v1.controllers import rating as v1
from ratekeeper.policies import rating as policies
from ratekeeper.rating.hashmap import models
from ratekeeper.rating.hashmap import rules

MAX_DIGITS_BEFORE_POINT = 12   # Numeric(40,28) / Numeric(20,8)
MAX_NAME_LENGTH = 32
# what Decimal() reads, less its extras (other scripts' digits, "1_000",
# NaN and Infinity)
ASCII_NUMBER = re.compile(r'[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?', re.ASCII)


# -- input --------------------------------------------------------------------

def _invalid(name, value, reason):
    return errors.InvalidInput(
        "Invalid input for field/attribute %s. Value: '%s'. %s"
        % (name, str(value)[:64], reason))


def _missing(name):
    return _invalid(name, None, 'Mandatory field missing.')


def uuid_value(value, name):
    if value is None or value == '':
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise _invalid(name, value, "Invalid UUID, got '%s'"
                       % str(value)[:64]) from None


def decimal_value(value, name, minimum=None, kept=None):
    """A decimal of the body, as sent; ``kept`` rounds it as it will be
    stored, and that must be in range too (999999999999.999999995 would be
    kept with 13 digits before the point)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _invalid(name, value, 'Wrong type. Expected a decimal.')
    text = str(value).strip()
    if not ASCII_NUMBER.fullmatch(text):
        raise _invalid(name, value, 'Unable to convert to a decimal.')
    number = decimal.Decimal(text)
    limit = 10 ** MAX_DIGITS_BEFORE_POINT
    # copy_abs, unlike abs(), needs no context: 1e+999999999 is no overflow
    if not number.is_finite() or number.copy_abs() >= limit:
        raise _invalid(name, value, 'Value out of range.')
    if kept is not None and kept(number).copy_abs() >= limit:
        raise _invalid(name, value, 'Value out of range.')
    if minimum is not None and number < minimum:
        raise _invalid(name, value, 'Value must be at least %s.' % minimum)
    return number


def text_value(value, name, max_length=255):
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _invalid(name, value, "Wrong type. Expected 'str'.")
    text = str(value)
    if len(text) > max_length:
        raise _invalid(name, text[:64], 'Value too long (at most %d '
                       'characters).' % max_length)
    return text


def type_value(value):
    if value is None:
        return 'flat'
    if value not in rules.MAP_TYPES:
        raise _invalid('type', value,
                       'Value should be one of: %s' % ', '.join(
                           rules.MAP_TYPES))
    return value


def datetime_value(value, name, end_of_day=False):
    """Naive UTC; a date alone is midnight, or 23:59:59 for an end."""
    if value is None or value == '':
        return None
    if not isinstance(value, str):
        raise _invalid(name, value, 'Unable to convert to datetime.')
    text = value.strip()
    try:
        if len(text) == 10:
            day = datetime.date.fromisoformat(text)
            moment = datetime.datetime.combine(
                day, datetime.time(23, 59, 59) if end_of_day
                else datetime.time())
            return moment
        moment = dataframe.parse_datetime(text)
    except ValueError:
        raise _invalid(name, value, 'Unable to convert to datetime.') \
            from None
    return moment.replace(tzinfo=None)


def boolean_value(value, name):
    """A flag of the query or body; False when absent."""
    return False if value is None else v1.boolean_argument(value, name)


def _parents(body):
    return {'service_id': uuid_value(body.get('service_id'), 'service_id'),
            'field_id': uuid_value(body.get('field_id'), 'field_id'),
            'group_id': uuid_value(body.get('group_id'), 'group_id'),
            'tenant_id': text_value(body.get('tenant_id'), 'tenant_id')}


def mapping_input(body):
    if body.get('cost') is None:
        raise _missing('cost')
    data = _parents(body)
    data.update(
        mapping_id=uuid_value(body.get('mapping_id'), 'mapping_id'),
        value=text_value(body.get('value'), 'value'),
        type=type_value(body.get('type')),
        cost=decimal_value(body['cost'], 'cost', kept=models.stored_cost),
        start=datetime_value(body.get('start'), 'start'),
        end=datetime_value(body.get('end'), 'end', end_of_day=True),
        name=text_value(body.get('name'), 'name', MAX_NAME_LENGTH),
        description=text_value(body.get('description'), 'description',
                               64 * 1024))
    return data


def mapping_update_input(body):
    """All attributes the body carries, parsed, for the running-rule
    comparison (CloudKitty compares every attribute sent)."""
    data = mapping_input(body)
    for key in ('created_at', 'deleted'):
        if body.get(key):
            data[key] = datetime_value(body[key], key)
    for key in ('created_by', 'updated_by', 'deleted_by'):
        if body.get(key):
            data[key] = text_value(body[key], key)
    return {key: value for key, value in data.items()
            if key in body or key == 'type'}


def threshold_input(body):
    if body.get('level') is None:
        raise _missing('level')
    if body.get('cost') is None:
        raise _missing('cost')
    data = _parents(body)
    data.update(
        threshold_id=uuid_value(body.get('threshold_id'), 'threshold_id'),
        level=decimal_value(body['level'], 'level', minimum=0,
                            kept=models.stored_level),
        type=type_value(body.get('type')),
        cost=decimal_value(body['cost'], 'cost', kept=models.stored_cost))
    return data


def name_input(body):
    name = text_value(body.get('name'), 'name')
    if not name:
        raise _missing('name')
    return name


# -- output ----------------------------------------------------------------

def _cost_text(number):
    return format(models.stored_cost(number), 'f')


def _moment(value):
    return value.isoformat() if value is not None else None


def service_document(row):
    return {'service_id': row.service_id, 'name': row.name}


def field_document(row):
    return {'field_id': row.field_id, 'name': row.name,
            'service_id': row.service_id}


def group_document(row):
    return {'group_id': row.group_id, 'name': row.name}


def mapping_document(row):
    return {'mapping_id': row.mapping_id, 'value': row.value,
            'type': row.map_type, 'cost': _cost_text(row.cost),
            'service_id': row.service_id, 'field_id': row.field_id,
            'group_id': row.group_id, 'tenant_id': row.tenant_id,
            'created_at': _moment(row.created_at),
            'start': _moment(row.start), 'end': _moment(row.end),
            'name': row.name, 'description': row.description,
            'deleted': _moment(row.deleted), 'created_by': row.created_by,
            'updated_by': row.updated_by, 'deleted_by': row.deleted_by}


def threshold_document(row):
    return {'threshold_id': row.threshold_id,
            'level': format(models.stored_level(row.level), 'f'),
            'type': row.map_type,
            'cost': _cost_text(row.cost),
            'service_id': row.service_id, 'field_id': row.field_id,
            'group_id': row.group_id, 'tenant_id': row.tenant_id}


# -- handlers --------------------------------------------------------------

def conf():
    return v1.conf()


def user():
    return v1.context().user_id or 'unknown'


def created(document, new_id):
    location = pecan.request.path_url.rstrip('/') + '/' + new_id
    return 201, document, {'Location': location}


def redirect_to_request():
    return 302, None, {'Location': pecan.request.path_url}


def _id_from(item_id, params, key):
    """The object id from the path, else from the query or JSON body."""
    return text_value(item_id or params.get(key), key)


class Services:
    @staticmethod
    def list(params):
        return 200, {'services': [service_document(s)
                                  for s in rules.list_services(conf())]}

    @staticmethod
    def get(item_id, params):
        return 200, service_document(rules.get_service(conf(), item_id))

    @staticmethod
    def create(body):
        row = rules.create_service(
            conf(), name_input(body),
            uuid_value(body.get('service_id'), 'service_id'))
        return created(service_document(row), row.service_id)

    @staticmethod
    def delete(item_id, params):
        rules.delete_service(conf(), _id_from(item_id, params, 'service_id'))
        return 204, None


class Fields:
    @staticmethod
    def list(params):
        service_id = text_value(params.get('service_id'), 'service_id')
        if not service_id:
            raise errors.InvalidInput('Missing argument: "service_id"')
        return 200, {'fields': [field_document(f) for f in
                                rules.list_fields(conf(), service_id)]}

    @staticmethod
    def get(item_id, params):
        return 200, field_document(rules.get_field(conf(), item_id))

    @staticmethod
    def create(body):
        service_id = uuid_value(body.get('service_id'), 'service_id')
        if not service_id:
            raise _missing('service_id')
        row = rules.create_field(conf(), service_id, name_input(body),
                                 uuid_value(body.get('field_id'),
                                            'field_id'))
        return created(field_document(row), row.field_id)

    @staticmethod
    def delete(item_id, params):
        rules.delete_field(conf(), _id_from(item_id, params, 'field_id'))
        return 204, None


class Groups:
    @staticmethod
    def list(params):
        return 200, {'groups': [group_document(g)
                                for g in rules.list_groups(conf())]}

    @staticmethod
    def get(item_id, params):
        return 200, group_document(rules.get_group(conf(), item_id))

    @staticmethod
    def create(body):
        row = rules.create_group(conf(), name_input(body),
                                 uuid_value(body.get('group_id'),
                                            'group_id'))
        return created(group_document(row), row.group_id)

    @staticmethod
    def delete(item_id, params):
        rules.delete_group(conf(), _id_from(item_id, params, 'group_id'),
                           boolean_value(params.get('recursive'),
                                         'recursive'))
        return 204, None

    @staticmethod
    def rules_of(model, group_id):
        group_id = text_value(group_id, 'group_id')
        if not group_id:
            raise errors.InvalidInput('Missing argument: "group_id"')
        found = rules.group_rules(conf(), model, group_id)
        if model is models.Mapping:
            return 200, {'mappings': [mapping_document(m) for m in found]}
        return 200, {'thresholds': [threshold_document(t) for t in found]}


def _rule_filters(params):
    filters = {}
    for key in ('service_id', 'field_id', 'group_id'):
        filters[key] = uuid_value(params.get(key), key)
    filters['tenant_id'] = text_value(params.get('tenant_id'), 'tenant_id')
    for key in ('no_group', 'filter_tenant'):
        filters[key] = boolean_value(params.get(key), key)
    return filters


class Mappings:
    @staticmethod
    def list(params):
        filters = _rule_filters(params)
        for key in ('deleted', 'is_active'):
            filters[key] = boolean_value(params.get(key), key)
        filters['all'] = boolean_value(params.get('all', True), 'all')
        filters['start'] = datetime_value(params.get('start'), 'start')
        filters['end'] = datetime_value(params.get('end'), 'end')
        for key in ('created_by', 'updated_by', 'deleted_by',
                    'description'):
            filters[key] = text_value(params.get(key), key)
        return 200, {'mappings': [mapping_document(m) for m in
                                  rules.list_mappings(conf(), **filters)]}

    @staticmethod
    def get(item_id, params):
        return 200, mapping_document(rules.get_mapping(conf(), item_id))

    @staticmethod
    def create(body):
        force = boolean_value(pecan.request.GET.get('force'), 'force')
        row = rules.create_mapping(conf(), mapping_input(body), force=force,
                                   user=user())
        return created(mapping_document(row), row.mapping_id)

    @staticmethod
    def update(item_id, body):
        mapping_id = _id_from(item_id, body, 'mapping_id')
        rules.get_mapping(conf(), mapping_id)
        rules.update_mapping(conf(), mapping_id, mapping_update_input(body),
                             user=user())
        return redirect_to_request()

    @staticmethod
    def delete(item_id, params):
        rules.delete_mapping(conf(), _id_from(item_id, params, 'mapping_id'),
                             user=user())
        return 204, None

    @staticmethod
    def group(item_id, params):
        return 200, group_document(rules.group_of(
            conf(), models.Mapping, _id_from(item_id, params, 'mapping_id')))


class Thresholds:
    @staticmethod
    def list(params):
        return 200, {'thresholds': [
            threshold_document(t) for t in
            rules.list_thresholds(conf(), **_rule_filters(params))]}

    @staticmethod
    def get(item_id, params):
        return 200, threshold_document(rules.get_threshold(conf(), item_id))

    @staticmethod
    def create(body):
        row = rules.create_threshold(conf(), threshold_input(body))
        return created(threshold_document(row), row.threshold_id)

    @staticmethod
    def update(item_id, body):
        threshold_id = _id_from(item_id, body, 'threshold_id')
        rules.get_threshold(conf(), threshold_id)
        rules.update_threshold(conf(), threshold_id, threshold_input(body))
        return redirect_to_request()

    @staticmethod
    def delete(item_id, params):
        rules.delete_threshold(conf(), _id_from(item_id, params,
                                                'threshold_id'))
        return 204, None

    @staticmethod
    def group(item_id, params):
        return 200, group_document(rules.group_of(
            conf(), models.Threshold,
            _id_from(item_id, params, 'threshold_id')))


COLLECTIONS = {'services': Services, 'fields': Fields, 'groups': Groups,
               'mappings': Mappings, 'thresholds': Thresholds}
RULE_MODELS = {'mappings': models.Mapping, 'thresholds': models.Threshold}


def _nested(kind, item_id, child, params):
    """GET <kind>/<id>/<child>: a filtered list or a rule's group."""
    if child == 'group' and kind in ('mappings', 'thresholds'):
        return COLLECTIONS[kind].group(item_id, params)
    if kind == 'groups' and child in RULE_MODELS:
        return Groups.rules_of(RULE_MODELS[child], item_id)
    if kind in ('services', 'fields') and child in COLLECTIONS:
        if child == 'fields' and kind == 'services':
            return Fields.list({'service_id': item_id})
        if child in ('mappings', 'thresholds'):
            key = 'service_id' if kind == 'services' else 'field_id'
            return COLLECTIONS[child].list(dict(params, **{key: item_id}))
    raise errors.NotFound('The resource could not be found.')


def route(method, parts, params):
    if parts == ['types'] and method == 'GET':
        return 200, list(rules.MAP_TYPES)
    if not parts or parts[0] not in COLLECTIONS or len(parts) > 3:
        raise errors.NotFound('The resource could not be found.')
    kind, rest = parts[0], parts[1:]
    handler = COLLECTIONS[kind]
    if method == 'GET':
        return _get(kind, handler, rest, params)
    if method == 'POST' and not rest:
        return handler.create(v1.request_body())
    if method == 'PUT' and len(rest) <= 1 and hasattr(handler, 'update'):
        return handler.update(rest[0] if rest else None, v1.request_body())
    if method == 'DELETE' and len(rest) <= 1:
        return handler.delete(rest[0] if rest else None,
                              v1.request_params(params))
    raise errors.APIError('The method is not allowed for the requested '
                          'URL.', status=405)


def _get(kind, handler, rest, params):
    params = v1.request_params(params)
    if not rest:
        return handler.list(params)
    if len(rest) == 1:
        if kind in ('mappings', 'thresholds') and rest[0] == 'group':
            return handler.group(None, params)
        if kind == 'groups' and rest[0] in RULE_MODELS:
            return Groups.rules_of(RULE_MODELS[rest[0]],
                                   params.get('group_id'))
        return handler.get(rest[0], params)
    return _nested(kind, rest[0], rest[1], params)


class HashMapConfigController:
    """Every hashmap path: policy first (one rule per method), then the
    route table."""

    @v1.endpoint
    def _default(self, *parts, **params):
        method = pecan.request.method
        rule = policies.HASHMAP_RULES_BY_METHOD.get(method)
        if rule is None:
            raise errors.APIError('The method is not allowed for the '
                                  'requested URL.', status=405)
        v1.authorize(rule)
        return route(method, list(parts), params)
