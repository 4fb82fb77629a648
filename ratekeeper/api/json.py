"""JSON encoding shared by every app: fast, and exact about our types."""
import datetime
import decimal

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError('cannot encode %s' % type(value).__name__)


def dumps(document):
    """Bytes of ``document``; aware datetimes keep their offset."""
    return orjson.dumps(document, default=_default, option=_OPTIONS)


NUL_ESCAPE = b'\\u0000'
NUL_MESSAGE = 'NUL characters (\\u0000) are not accepted.'


def contains_nul(text):
    """Whether the JSON text ``text`` (bytes) holds a NUL character.

    NUL is refused in every input: PostgreSQL cannot store it in text and
    DuckDB not in names. In JSON it can only be written \\u0000; an escape
    preceded by an odd number of backslashes is that text, not a NUL.
    """
    if b'\\' not in text:
        # no escape at all, the usual body: a byte search is ~50x faster
        # than looking for the six-byte escape
        return False
    start = text.find(NUL_ESCAPE)
    while start != -1:
        backslashes = 0
        while start - backslashes - 1 >= 0 and \
                text[start - backslashes - 1] == 0x5c:
            backslashes += 1
        if backslashes % 2 == 0:
            return True
        start = text.find(NUL_ESCAPE, start + 1)
    return False
