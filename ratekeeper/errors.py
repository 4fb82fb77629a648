"""The one error shape of every API version, and its machine-readable codes.

Every error body is ``{"message": ..., "code": ..., "request_id": ...}``
(v1 adds the WSME fields its clients read). The code strings below are
published: never change or reuse one once released, only add new ones.
"""
import http

BAD_REQUEST = 'ratekeeper.bad_request'
INVALID_INPUT = 'ratekeeper.invalid_input'
MALFORMED_JSON = 'ratekeeper.malformed_json'
UNAUTHORIZED = 'ratekeeper.unauthorized'
FORBIDDEN = 'ratekeeper.forbidden'
NOT_FOUND = 'ratekeeper.not_found'
METHOD_NOT_ALLOWED = 'ratekeeper.method_not_allowed'
NOT_ACCEPTABLE = 'ratekeeper.not_acceptable'
CONFLICT = 'ratekeeper.conflict'
PRECONDITION_FAILED = 'ratekeeper.precondition_failed'
PAYLOAD_TOO_LARGE = 'ratekeeper.payload_too_large'
UNSUPPORTED_MEDIA_TYPE = 'ratekeeper.unsupported_media_type'
INTERNAL = 'ratekeeper.internal_error'
SERVICE_UNAVAILABLE = 'ratekeeper.service_unavailable'
V2_NEEDS_V2_STORAGE = 'ratekeeper.v2_needs_v2_storage'
NO_RESOURCE_FOUND = 'ratekeeper.no_resource_found'
UNKNOWN_MODULE = 'ratekeeper.unknown_module'

# Rating (hashmap and modules)
MODULE_NOT_CONFIGURABLE = 'ratekeeper.rating.module_not_configurable'
HASHMAP_NOT_FOUND = 'ratekeeper.hashmap.not_found'
HASHMAP_DUPLICATE = 'ratekeeper.hashmap.duplicate'
HASHMAP_INVALID_RULE = 'ratekeeper.hashmap.invalid_rule'
HASHMAP_RULE_RUNNING = 'ratekeeper.hashmap.rule_running'
RATING_FAILED = 'ratekeeper.rating.unpriceable_point'
PYSCRIPTS_NOT_FOUND = 'ratekeeper.pyscripts.not_found'
PYSCRIPTS_DUPLICATE = 'ratekeeper.pyscripts.duplicate'
PYSCRIPTS_INVALID_SCRIPT = 'ratekeeper.pyscripts.invalid_script'
PYSCRIPTS_RULE_RUNNING = 'ratekeeper.pyscripts.rule_running'
PYSCRIPTS_SCRIPT_FAILED = 'ratekeeper.pyscripts.script_failed'

# API versions and protocol (microversions, negotiation, preconditions)
INVALID_VERSION = 'ratekeeper.api_version.invalid'
UNSUPPORTED_VERSION = 'ratekeeper.api_version.unsupported'
MEDIA_TYPE_CONFLICT = 'ratekeeper.api_version.media_type_conflict'
STALE_ETAG = 'ratekeeper.precondition_failed.stale_etag'
OVERLOADED = 'ratekeeper.service_unavailable.overloaded'
URI_TOO_LONG = 'ratekeeper.uri_too_long'

DEFAULT_CODES = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    406: NOT_ACCEPTABLE,
    409: CONFLICT,
    412: PRECONDITION_FAILED,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    500: INTERNAL,
    503: SERVICE_UNAVAILABLE,
}


def default_code(status):
    if status in DEFAULT_CODES:
        return DEFAULT_CODES[status]
    return BAD_REQUEST if status < 500 else INTERNAL


def default_message(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return 'Error'


class APIError(Exception):
    """An error that reaches the client as the JSON error shape."""

    status = 400
    code = None

    def __init__(self, message, status=None, code=None, details=None,
                 headers=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code or self.code or default_code(self.status)
        self.details = details
        self.headers = headers or {}


class BadRequest(APIError):
    status = 400


class InvalidInput(APIError):
    status = 400
    code = INVALID_INPUT


class WrongType(InvalidInput):
    """A JSON value of another type than its field declares, refused in
    WSME's words (CloudKitty's v1): "Invalid input for field/attribute
    name. Value: '42'. Wrong type. Expected '<class 'str'>', got '<class
    'int'>'"."""

    def __init__(self, name, value, expected=str):
        super().__init__(
            "Invalid input for field/attribute %s. Value: '%s'. Wrong type. "
            "Expected '%s', got '%s'" % (name, str(value)[:64], expected,
                                         type(value)))


def text_field(value, name):
    """``value`` when it is text (or absent); WrongType for a number, a
    boolean, a list or an object, which are never turned into text."""
    if value is None or isinstance(value, str):
        return value
    raise WrongType(name, value)


class Forbidden(APIError):
    status = 403


class NotFound(APIError):
    status = 404


class Conflict(APIError):
    status = 409


class PayloadTooLarge(APIError):
    status = 413


class UnsupportedMediaType(APIError):
    status = 415


class ServiceUnavailable(APIError):
    status = 503


def error_body(status, message, code=None, request_id=None, details=None):
    body = {'message': message,
            'code': code or default_code(status),
            'request_id': request_id}
    if details is not None:
        body['details'] = details
    return body
