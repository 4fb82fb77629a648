"""Microversions of the v2 API.

A v2 request names the behaviour it wants with
``OpenStack-API-Version: rating 2.N`` (or ``rating latest``); without the
header it gets the minimum, 2.0, which is CloudKitty's v2 exactly. VERSIONS
is the one list of versions: add a line, with what the version changed,
every time a v2 behaviour changes (and a section to
doc/api-ref/source/history.rst).

A resource method serving a range is declared with ``version_handler``;
several implementations of one method may sit side by side, each with its
range, and the request's version picks one. Inside a handler,
``request_version().matches(...)`` tests a version.
"""
import functools
import re

import flask

from ratekeeper import errors

SERVICE_TYPE = 'rating'
HEADER = 'OpenStack-API-Version'
ENVIRON_KEY = 'ratekeeper.microversion'

VERSIONS = [
    '2.0',  # CloudKitty 25's v2: summary, dataframes, rating modules
    '2.1',  # paged lists carry "links" (self/next/prev) and a Link header
    '2.2',  # GET /v2/summary takes response_format=csv (text/csv)
]

_VERSION_TEXT = re.compile(r'^([1-9]\d*|0)\.([1-9]\d*|0)$')


class Version(tuple):
    """(major, minor), comparable, printed as ``major.minor``."""

    def __new__(cls, major, minor):
        return super().__new__(cls, (major, minor))

    def __str__(self):
        return '%d.%d' % self

    def matches(self, min_version=None, max_version=None):
        """Whether this version lies within [min_version, max_version]."""
        return ((min_version is None or self >= parse(min_version))
                and (max_version is None or self <= parse(max_version)))


def parse(text):
    """A Version from ``'2.1'`` (or a Version/tuple, returned as one)."""
    if isinstance(text, tuple):
        return Version(*text)
    match = _VERSION_TEXT.match(text.strip())
    if not match:
        raise ValueError('invalid version string %r' % text[:32])
    return Version(int(match.group(1)), int(match.group(2)))


MIN_VERSION = parse(VERSIONS[0])
MAX_VERSION = parse(VERSIONS[-1])


def _range_text():
    return 'minimum %s, maximum %s' % (MIN_VERSION, MAX_VERSION)


def _requested_text(header_value):
    """The version named for our service in the header, or None."""
    for item in header_value.split(','):
        service, _, version = item.strip().partition(' ')
        if service.lower() == SERVICE_TYPE:
            return version.strip()
    return None


def from_header(header_value):
    """The version a request asks for (errors.APIError 400/406 when it
    cannot be served)."""
    if not header_value:
        return MIN_VERSION
    text = _requested_text(header_value)
    if text is None:
        return MIN_VERSION
    if text.lower() == 'latest':
        return MAX_VERSION
    try:
        version = parse(text)
    except ValueError:
        raise errors.APIError(
            'Invalid %s header %r: expected "%s 2.N" or "%s latest" (%s).'
            % (HEADER, header_value[:64], SERVICE_TYPE, SERVICE_TYPE,
               _range_text()),
            code=errors.INVALID_VERSION,
            details={'min_version': str(MIN_VERSION),
                     'max_version': str(MAX_VERSION)}) from None
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise errors.APIError(
            'Version %s is not supported by the API (%s).'
            % (version, _range_text()), status=406,
            code=errors.UNSUPPORTED_VERSION,
            details={'min_version': str(MIN_VERSION),
                     'max_version': str(MAX_VERSION)})
    return version


def request_version():
    """The version of the request being served (set by the v2 app)."""
    return flask.request.environ.get(ENVIRON_KEY, MIN_VERSION)


# -- versioned methods ---------------------------------------------------
# qualname ('Summary.get') -> [(min, max, function)], the functions being
# the implementations declared with version_handler.
VERSIONED_METHODS = {}


def version_handler(min_version, max_version=None):
    """Serve the decorated method only for versions within the range.

    Declare another implementation with the same name and another range
    to change the behaviour from some version on; a request outside every
    range gets 404, as a resource that did not exist then.
    """
    low = parse(min_version)
    high = parse(max_version) if max_version else None

    def decorator(method):
        name = method.__qualname__
        candidates = VERSIONED_METHODS.setdefault(name, [])
        candidates.append((low, high, method))
        candidates.sort(key=lambda item: item[0])

        @functools.wraps(method)
        def dispatch(self, *args, **kwargs):
            version = request_version()
            for first, last, function in candidates:
                if first <= version and (last is None or version <= last):
                    return function(self, *args, **kwargs)
            raise errors.NotFound(
                'The resource could not be found at version %s.' % version)
        dispatch.versioned = candidates
        return dispatch
    return decorator


def implementations(method):
    """[(min, max, function)] of a resource method; an unversioned one
    serves every version."""
    return getattr(method, 'versioned', [(MIN_VERSION, None, method)])
