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
