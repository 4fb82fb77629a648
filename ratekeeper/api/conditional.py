"""ETags and conditional requests, for any resource of any version.

The ETag of a resource is a digest of its JSON document (keys sorted), so
any change a client could see changes it. ``If-Match`` on a write guards
against lost updates (412 with the current document); ``If-None-Match``
on a read saves the body (304).
"""
import hashlib
import io

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


def _json_or_none(body):
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


# -- for apps that answer JSON themselves (v1's pecan controllers) ---------

class ConditionalPaths:
    """ETags for the member resources whose paths match ``pattern``
    (compiled, relative to the wrapped app), with no change to their
    controllers: one declaration, the pattern, opts a resource in.

    A 200 GET gets an ``ETag`` (or a 304 for a matching If-None-Match). A
    PUT, PATCH or DELETE with ``If-Match`` first reads the resource with
    the caller's own credentials (so policy applies as to any read) and
    gets 412 with the current document when the tag is stale; ``writes``
    (a pattern, by default ``pattern``) narrows the paths so checked, for
    an app that checks some itself. ``fault`` turns (status, message,
    code, details) into the app's error document.
    """

    def __init__(self, app, pattern, fault, writes=None):
        self.app = app
        self.pattern = pattern
        self.fault = fault
        self.writes = pattern if writes is None else writes

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        path = environ.get('PATH_INFO', '')
        if not self.pattern.match(path):
            return self.app(environ, start_response)
        if method == 'GET':
            return self._get(environ, start_response)
        if method in ('PUT', 'PATCH', 'DELETE') \
                and 'HTTP_IF_MATCH' in environ and self.writes.match(path):
            refusal = self._stale(environ, start_response)
            if refusal is not None:
                return refusal
        return self.app(environ, start_response)

    def _read(self, environ):
        """(status, headers, body) of the app's answer to ``environ``."""
        answer = {}

        def capture(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return lambda chunk: None
        result = self.app(environ, capture)
        try:
            body = b''.join(result)
        finally:
            if hasattr(result, 'close'):
                result.close()
        return answer['status'], answer['headers'], body

    def _get(self, environ, start_response):
        status, headers, body = self._read(environ)
        document = _json_or_none(body) if status.startswith('200') \
            else None
        if document is None:
            start_response(status, headers)
            return [body]
        tag = etag_of(document)
        headers = list(headers) + [('ETag', quoted(tag))]
        if not_modified(environ.get('HTTP_IF_NONE_MATCH'), tag):
            start_response('304 Not Modified',
                           [(k, v) for k, v in headers
                            if k.lower() not in ('content-type',
                                                 'content-length')])
            return [b'']
        start_response(status, headers)
        return [body]

    def _stale(self, environ, start_response):
        read = dict(environ, REQUEST_METHOD='GET', CONTENT_LENGTH='0',
                    QUERY_STRING='')
        read['wsgi.input'] = io.BytesIO()
        read.pop('HTTP_IF_NONE_MATCH', None)
        status, _, body = self._read(read)
        current = _json_or_none(body) if status.startswith('200') \
            else None
        if current is None:
            return None  # the write itself answers (404, 403...)
        try:
            check_if_match(environ['HTTP_IF_MATCH'], current)
        except errors.APIError as exc:
            data = orjson.dumps(self.fault(exc))
            start_response('412 Precondition Failed', [
                ('Content-Type', 'application/json'),
                ('Content-Length', str(len(data)))]
                + list(exc.headers.items()))
            return [data]
        return None
