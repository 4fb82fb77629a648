"""Voluptuous schemas on every v2 input and output, as decorators.

``query_schema`` and ``body_schema`` validate and pass the values to the
method as keyword arguments; ``output_schema`` checks what the method
returns (``[api] response_validation`` says what a mismatch does). The
decorators keep the method's name and docstring, and record the schemas on
it so that other tools (documentation, OpenAPI) can read them.
"""
import datetime
import functools
import logging
import re

import flask
import orjson
import voluptuous

from ratekeeper import dataframe
from ratekeeper import errors
from ratekeeper.api import booleans
from ratekeeper.api import json as api_json

LOG = logging.getLogger(__name__)


def _describe(exc):
    path = '.'.join(str(p) for p in exc.path) if exc.path else ''
    return ("Invalid value for '%s': %s" % (path, exc.msg)) if path \
        else exc.msg


def _invalid(exc, location):
    first = exc.errors[0] if isinstance(exc, voluptuous.MultipleInvalid) \
        else exc
    return errors.InvalidInput(
        '%s (in %s)' % (_describe(first), location),
        details=[_describe(e) for e in getattr(exc, 'errors', [exc])])


def describe(validator, json_schema):
    """Give a plain function validator the JSON Schema of the values it
    accepts (the OpenAPI document reads it); returns the validator."""
    validator.json_schema = json_schema
    return validator


def boolean_value(value):
    """A JSON boolean, or a word voluptuous reads as one ("true", "yes",
    "off"...); not a number, list, object or null."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return voluptuous.Boolean()(value)
    raise voluptuous.Invalid('expected boolean')


describe(boolean_value, {'type': 'boolean'})


def query_boolean(value):
    """A boolean of the query string, read by ratekeeper.api.booleans."""
    try:
        return booleans.parse(value)
    except booleans.NotABoolean as exc:
        raise voluptuous.Invalid(str(exc)) from None


describe(query_boolean, {'type': 'boolean'})


def strict_int(value):
    """A JSON integer (``bool`` is an ``int`` to Python, not here)."""
    if type(value) is not int:
        raise voluptuous.Invalid('expected int')
    return value


describe(strict_int, {'type': 'integer'})


MAX_LIST_ITEMS = 1000


def identifier(max_length):
    """A non-empty string of at most ``max_length`` characters."""
    def validate(value):
        if type(value) is not str:
            raise voluptuous.Invalid('expected str')
        if not value or len(value) > max_length:
            raise voluptuous.Invalid('length of value must be 1 to %d'
                                     % max_length)
        return value
    return describe(validate, {'type': 'string', 'minLength': 1,
                               'maxLength': max_length})


def identifier_list(max_length):
    """A string (comma-separated items) or a list of strings, flattened
    into a list of at most MAX_LIST_ITEMS identifiers."""
    item = identifier(max_length)

    def validate(value):
        if isinstance(value, str):
            value = [value]
        if type(value) is not list or not all(
                type(text) is str for text in value):
            raise voluptuous.Invalid('expected str or list of str')
        items = [part for text in value for part in text.split(',')]
        if len(items) > MAX_LIST_ITEMS:
            raise voluptuous.Invalid('at most %d items are accepted'
                                     % MAX_LIST_ITEMS)
        return [item(part) for part in items]
    return describe(validate, {'anyOf': [
        {'type': 'string'},
        {'type': 'array', 'items': {'type': 'string'},
         'maxItems': MAX_LIST_ITEMS}]})


# -- query string parameters ---------------------------------------------
# Query values arrive as lists (a parameter may repeat); these turn them
# into the single value or the flattened list a method wants.

def _apply(validator, value):
    try:
        return validator(value)
    except voluptuous.Invalid:
        raise
    except (TypeError, ValueError) as exc:
        raise voluptuous.Invalid(str(exc) or 'invalid value') from None


class SingleQueryParam:
    """Exactly one value, passed through ``validator``."""

    def __init__(self, validator):
        self.validator = validator

    def __call__(self, values):
        if len(values) != 1:
            raise voluptuous.Invalid('length of value must be 1')
        return _apply(self.validator, values[0])


class MultiQueryParam:
    """Repeated and/or comma-separated values, each through ``validator``."""

    def __init__(self, validator):
        self.validator = validator

    def __call__(self, values):
        items = [item for value in values for item in value.split(',')]
        return [_apply(self.validator, item) for item in items]


class DictQueryParam:
    """``key:value`` tokens, repeated and/or comma-separated.

    With ``multi`` a key may repeat and maps to the list of its values
    (OR-ed by storage); without it a repeated key is an error.
    """

    def __init__(self, multi):
        self.multi = multi

    def __call__(self, values):
        result = {}
        for token in (t for value in values for t in value.split(',')):
            key, sep, item = token.partition(':')
            if not sep or not key or not item or ':' in item:
                raise voluptuous.Invalid(
                    'invalid key:value association %s' % token[:64])
            if self.multi:
                result.setdefault(key, []).append(item)
            elif key in result:
                raise voluptuous.Invalid('key %s already provided' % key)
            else:
                result[key] = item
        return result


def datetime_value(value):
    try:
        return dataframe.parse_datetime(value)
    except ValueError as exc:
        raise voluptuous.Invalid(str(exc)) from None


describe(datetime_value, {'type': 'string', 'format': 'date-time'})

_EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def collect_time(value):
    """A datetime_value that collect periods are counted from (a scope's
    last processed timestamp, a reprocessing window): floored to its
    period, which must stay a datetime, and before dataframe.LATEST_END,
    as the periods stored after it end by then."""
    moment = datetime_value(value)
    period = flask.current_app.config['RATEKEEPER_CONF'].collect.period
    if (moment >= dataframe.LATEST_END
            or moment - _EARLIEST < datetime.timedelta(seconds=period)):
        raise voluptuous.Invalid(
            'date out of range %r: a collect time is before %s and a '
            'period after 0001-01-01' % (value[:64],
                                         dataframe.LATEST_END.date()))
    return moment


describe(collect_time, {'type': 'string', 'format': 'date-time'})


MAX_INTEGER = 2 ** 62  # far beyond any count, within SQL's BIGINT
ASCII_INTEGER = re.compile(r'[+-]?[0-9]+')


def integer_value(minimum):
    def validate(value):
        text = str(value).strip()
        # int() also reads other scripts' digits and '1_0'
        if not ASCII_INTEGER.fullmatch(text):
            raise voluptuous.Invalid('expected int')
        number = int(text)
        if number < minimum:
            raise voluptuous.Invalid('value must be at least %d' % minimum)
        if number > MAX_INTEGER:
            raise voluptuous.Invalid('value must be at most %d'
                                     % MAX_INTEGER)
        return number
    return describe(validate, {'type': 'integer', 'minimum': minimum,
                               'maximum': MAX_INTEGER})


def _limit(value):
    number = integer_value(1)(value)
    maximum = flask.current_app.config['RATEKEEPER_CONF'].api.max_limit
    if number > maximum:
        raise voluptuous.Invalid('value must be at most %d' % maximum)
    return number


describe(_limit, {'type': 'integer', 'minimum': 1})

PAGINATION = {
    voluptuous.Optional('offset'): SingleQueryParam(integer_value(0)),
    voluptuous.Optional('limit'): SingleQueryParam(_limit),
}


class fast_check:
    """``schema`` for values that usually pass ``is_usual``.

    voluptuous walks nested dicts at ~50 µs a value; a long list of small
    documents (a dataframes page) is checked by the inline predicate, and
    only a value it rejects goes through the schema, for the exact error.
    ``schema`` stays the declaration (documentation reads it).
    """

    def __init__(self, schema, is_usual):
        self.schema = schema
        self._validate = voluptuous.Schema(schema)
        self._is_usual = is_usual

    def __call__(self, value):
        if self._is_usual(value):
            return value
        self._validate(value)
        raise voluptuous.Invalid('unexpected value')


# -- decorators ----------------------------------------------------------

def _record(wrapper, kind, schema):
    schemas = dict(getattr(wrapper, 'schemas', {}))
    schemas[kind] = schema
    wrapper.schemas = schemas


def query_schema(fields, paginated=False):
    """Validate the query string; unknown parameters are rejected."""
    if paginated:
        fields = {**fields, **PAGINATION}
    schema = voluptuous.Schema(fields, extra=voluptuous.PREVENT_EXTRA)

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                values = schema(dict(flask.request.args.lists()))
            except voluptuous.Invalid as exc:
                raise _invalid(exc, 'query') from None
            return method(self, *args, **kwargs, **values)
        _record(wrapper, 'query', schema)
        return wrapper
    return decorator


def read_json_body():
    """The request's JSON document; 415 or 400 when it is not one."""
    request = flask.request
    if request.mimetype != 'application/json':
        raise errors.UnsupportedMediaType(
            'Expected a body of type application/json, got %s.'
            % (request.mimetype or 'none'))
    data = request.get_data(cache=False)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise errors.APIError('Malformed JSON in request body: %s' % exc,
                              code=errors.MALFORMED_JSON) from None
    if api_json.contains_nul(data):
        raise errors.InvalidInput(api_json.NUL_MESSAGE)
    return document


def body_schema(fields):
    """Validate the JSON body; unknown keys are rejected."""
    schema = voluptuous.Schema(fields, extra=voluptuous.PREVENT_EXTRA)

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            document = read_json_body()
            try:
                values = schema(document)
            except voluptuous.Invalid as exc:
                raise _invalid(exc, 'body') from None
            return method(self, *args, **kwargs, **values)
        _record(wrapper, 'body', schema)
        return wrapper
    return decorator


def output_schema(fields, status=200):
    """Check the returned document; it is never modified. ``status`` is
    the one a success answers (documentation reads it)."""
    schema = voluptuous.Schema(fields)

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            result = method(self, *args, **kwargs)
            document = result[0] if isinstance(result, tuple) else result
            _check_output(schema, document, method.__qualname__)
            return result
        _record(wrapper, 'output', schema)
        wrapper.success_status = status
        return wrapper
    return decorator


def may_refuse(status, description):
    """Document an error status a method answers beyond the usual ones
    (a 409 for a conflict)."""
    def decorator(method):
        statuses = dict(getattr(method, 'extra_statuses', {}))
        statuses[str(status)] = description
        method.extra_statuses = statuses
        return method
    return decorator


def _check_output(schema, document, name):
    mode = flask.current_app.config['RATEKEEPER_CONF'].api.response_validation
    if mode == 'ignore' or isinstance(document, flask.Response):
        return  # a non-JSON answer (text/csv) is not a document
    try:
        schema(document)
    except voluptuous.Invalid as exc:
        if mode == 'error':
            raise RuntimeError('response of %s does not match its schema: %s'
                               % (name, exc)) from None
        LOG.warning('response of %s does not match its schema: %s', name, exc)
