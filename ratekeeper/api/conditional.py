"""ETags and conditional requests, for any resource of any version.

The ETag of a resource is a digest of its JSON document (keys sorted), so
any change a client could see changes it. ``If-Match`` on a write guards
against lost updates (412 with the current document); ``If-None-Match``
on a read saves the body (304).
"""
import hashlib

import orjson

from ratekeeper import errors


def etag_of(document):
    """The entity tag (unquoted) of a JSON-able document."""
    data = orjson.dumps(document, option=orjson.OPT_SORT_KEYS,
                        default=str)
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def quoted(tag):
    return '"%s"' % tag


def _tags(header_value):
    """The entity tags of an If-Match / If-None-Match value; '*' kept."""
    tags = set()
    for item in header_value.split(','):
        item = item.strip()
        if item.startswith('W/'):
            item = item[2:]
        tags.add(item.strip('"'))
    return tags


def matches(header_value, tag):
    tags = _tags(header_value)
    return '*' in tags or tag in tags


def check_if_match(header_value, current_document):
    """Raise 412 (with the current document) when ``If-Match`` names
    another version of the resource. ``header_value`` None: no check."""
    if header_value is None:
        return
    tag = etag_of(current_document)
    if not matches(header_value, tag):
        raise errors.APIError(
            'The resource has changed since it was read: its ETag is %s.'
            % quoted(tag), status=412, code=errors.STALE_ETAG,
            details={'current': current_document},
            headers={'ETag': quoted(tag)})


def not_modified(header_value, tag):
    """Whether a read with ``If-None-Match`` can be answered 304."""
    return header_value is not None and matches(header_value, tag)
