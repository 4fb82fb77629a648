"""The OpenAPI 3.1 document of v2, generated from what routes and checks
requests: the Flask routing table, each resource method's voluptuous
schemas (recorded by the validation decorators), its policy rule and its
versioned implementations. Nothing here describes an endpoint by hand.

Operations describe what a client gets without a version header (the
minimum microversion); later behaviours are named in the description.
"""
import voluptuous as vo

from ratekeeper.api import microversion
from ratekeeper.api.v2 import validation as v
from ratekeeper.api.v2 import routes

_TYPES = {int: {'type': 'integer'}, float: {'type': 'number'},
          str: {'type': 'string'}, bool: {'type': 'boolean'},
          dict: {'type': 'object'}, list: {'type': 'array'},
          type(None): {'type': 'null'}}
_KEY_PATTERN = '[^:,]+'
_BOOLEAN = vo.Boolean().__wrapped__

ERROR_SCHEMA = {
    'type': 'object', 'required': ['message', 'code', 'request_id'],
    'properties': {'message': {'type': 'string'}, 'code': {'type': 'string'},
                   'request_id': {'type': ['string', 'null']},
                   'details': {}},
}


def _dict_schema(fields):
    properties, required, extra = {}, [], None
    for key, value in fields.items():
        name = key.schema if isinstance(key, vo.Marker) else key
        if isinstance(name, str):
            properties[name] = to_json_schema(value)
            if isinstance(key, vo.Required):
                required.append(name)
        else:
            extra = to_json_schema(value)
    schema = {'type': 'object', 'properties': properties}
    if required:
        schema['required'] = required
    if extra is not None:
        schema['additionalProperties'] = extra
    return schema


def _dict_query_schema(_validator):
    pair = '%s:%s' % (_KEY_PATTERN, _KEY_PATTERN)
    return {'type': 'string', 'pattern': '^%s(,%s)*$' % (pair, pair)}


def _all_schema(validator):
    merged = {}
    for part in validator.validators:
        merged.update(to_json_schema(part))
    return merged


def _range_schema(validator):
    schema = {}
    if validator.min is not None:
        schema['minimum'] = validator.min
    if validator.max is not None:
        schema['maximum'] = validator.max
    return schema


_CONVERTERS = [
    (vo.Schema, lambda s: to_json_schema(s.schema)),
    (v.fast_check, lambda s: to_json_schema(s.schema)),
    (v.SingleQueryParam, lambda s: to_json_schema(s.validator)),
    (v.MultiQueryParam, lambda s: {'type': 'array',
                                   'items': to_json_schema(s.validator)}),
    (v.DictQueryParam, _dict_query_schema),
    (vo.Any, lambda s: {'anyOf': [to_json_schema(x) for x in s.validators]}),
    (vo.All, _all_schema),
    (vo.In, lambda s: {'enum': list(s.container)}),
    (vo.Range, _range_schema),
]


def to_json_schema(schema):
    """JSON Schema of a voluptuous schema (or one of our validators)."""
    if isinstance(schema, dict):
        return _dict_schema(schema)
    if isinstance(schema, list):
        if not schema:
            return {'type': 'array'}
        items = [to_json_schema(item) for item in schema]
        return {'type': 'array',
                'items': items[0] if len(items) == 1 else {'anyOf': items}}
    if isinstance(schema, type):
        return dict(_TYPES.get(schema, {}))
    if isinstance(schema, (str, int, float, bool)):
        return {'const': schema}
    if getattr(schema, 'json_schema', None) is not None:
        return dict(schema.json_schema)
    for kind, convert in _CONVERTERS:
        if isinstance(schema, kind):
            return convert(schema)
    if getattr(schema, '__wrapped__', None) is _BOOLEAN:
        return {'type': 'boolean'}  # vo.Boolean() also takes "true"/"yes"
    return {}


# -- operations ----------------------------------------------------------

def _query_parameters(query_schema):
    parameters = []
    for key, value in query_schema.schema.items():
        schema = to_json_schema(value) or {'type': 'string'}
        parameter = {'name': key.schema, 'in': 'query',
                     'required': isinstance(key, vo.Required),
                     'schema': schema}
        if schema.get('type') == 'array':
            parameter.update(style='form', explode=True)
        parameters.append(parameter)
    return parameters


def _error_responses(conditional_write, conditional_read):
    statuses = {'400': 'Invalid input or version header.',
                '401': 'Not authenticated.', '403': 'Refused by policy.',
                '404': 'No such resource.', '405': 'Method not allowed.',
                '406': 'Unsupported API version or media type.',
                '413': 'Body too large.', '414': 'URI too long.',
                '415': 'Body is not JSON.',
                '503': 'Storage unavailable or overloaded.'}
    if conditional_write:
        statuses['412'] = 'If-Match names a stale ETag.'
    responses = {
        status: {'description': text, 'content': {
            'application/json': {'schema': {'$ref':
                                            '#/components/schemas/Error'}}}}
        for status, text in statuses.items()}
    if conditional_read:
        responses['304'] = {'description': 'If-None-Match matched.'}
    return responses


def _success_response(function, resource):
    output = function.schemas.get('output') if hasattr(
        function, 'schemas') else None
    if output is None:
        return '204', {'description': 'Done.'}
    status = getattr(function, 'success_status', 200)
    response = {'description': 'OK' if status == 200 else 'Accepted',
                'content': {'application/json': {
                    'schema': to_json_schema(output)}}}
    if resource.conditional:
        response['headers'] = {'ETag': {'schema': {'type': 'string'}}}
    return str(status), response


def _later_versions(implementations):
    notes = ['%s to %s: %s' % (low, high or microversion.MAX_VERSION,
                               (function.__doc__ or '').strip()
                               .split('\n')[0])
             for low, high, function in implementations[1:]]
    return ('Other microversions: ' + '; '.join(notes)) if notes else ''


def operation(resource, http_method, rule):
    method = getattr(resource, http_method.lower())
    implementations = microversion.implementations(method)
    function = implementations[0][2]
    schemas = getattr(function, 'schemas', {})
    conditional = resource.conditional
    is_write = http_method in ('PUT', 'PATCH', 'DELETE')
    status, success = _success_response(function, resource)
    responses = {status: success}
    responses.update(_error_responses(conditional and is_write,
                                      conditional and http_method == 'GET'))
    for extra, text in getattr(function, 'extra_statuses', {}).items():
        responses[extra] = {'description': text, 'content': {
            'application/json': {'schema': {
                '$ref': '#/components/schemas/Error'}}}}
    summary = (function.__doc__ or '').strip().split('\n')[0]
    op = {'operationId': '%s_%s' % (routes.relation(resource),
                                    http_method.lower()),
          'summary': summary or '%s %s' % (http_method, rule.rule),
          'parameters': [{'name': name, 'in': 'path', 'required': True,
                          'schema': {'type': 'string'}}
                         for name in sorted(rule.arguments)],
          'responses': responses}
    if 'query' in schemas:
        op['parameters'] += _query_parameters(schemas['query'])
    if 'body' in schemas:
        op['requestBody'] = {'required': True, 'content': {
            'application/json': {'schema': to_json_schema(schemas['body'])}}}
    description = _later_versions(implementations)
    policy_rule = getattr(method, 'policy_rule', None) or getattr(
        function, 'policy_rule', None)
    if policy_rule:
        description = ('Policy: %s. %s' % (policy_rule, description)).strip()
    if description:
        op['description'] = description
    return op


def document(app, server_url):
    """The OpenAPI 3.1 document of the v2 ``app``."""
    paths = {}
    for rule, resource in routes.resource_rules(app):
        path = '/v2' + routes.template(rule)
        for http_method in sorted(rule.methods - {'HEAD', 'OPTIONS'}):
            paths.setdefault(path, {})[http_method.lower()] = operation(
                resource, http_method, rule)
    return {
        'openapi': '3.1.0',
        'info': {'title': 'ratekeeper rating API', 'version': str(
            microversion.MAX_VERSION), 'description': (
            'CloudKitty-compatible v2. Microversions %s to %s via the '
            'OpenStack-API-Version header ("rating 2.N"); without it a '
            'request gets %s.' % (microversion.MIN_VERSION,
                                  microversion.MAX_VERSION,
                                  microversion.MIN_VERSION))},
        'servers': [{'url': server_url}],
        'paths': paths,
        'components': {'schemas': {'Error': ERROR_SCHEMA}},
    }
