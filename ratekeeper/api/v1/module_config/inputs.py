"""Reading the fields of a module configuration request, with WSME's
messages (CloudKitty's clients show them): 400 for a value of the wrong type
or out of range."""
import datetime
import decimal
import re
import uuid

from ratekeeper import dataframe
from ratekeeper import errors

MAX_DIGITS_BEFORE_POINT = 12   # Numeric(40,28) / Numeric(20,8)
# what Decimal() reads, less its extras (other scripts' digits, "1_000",
# NaN and Infinity)
ASCII_NUMBER = re.compile(r'[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?', re.ASCII)


def invalid(name, value, reason):
    return errors.InvalidInput(
        "Invalid input for field/attribute %s. Value: '%s'. %s"
        % (name, str(value)[:64], reason))


def missing(name):
    return invalid(name, None, 'Mandatory field missing.')


def uuid_value(value, name):
    if value is None or value == '':
        return None
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise invalid(name, value, "Invalid UUID, got '%s'"
                      % str(value)[:64]) from None


def decimal_value(value, name, minimum=None, kept=None):
    """A decimal of the body, as sent; ``kept`` rounds it as it will be
    stored, and that must be in range too (999999999999.999999995 would be
    kept with 13 digits before the point)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(name, value, 'Wrong type. Expected a decimal.')
    text = str(value).strip()
    if not ASCII_NUMBER.fullmatch(text):
        raise invalid(name, value, 'Unable to convert to a decimal.')
    number = decimal.Decimal(text)
    limit = 10 ** MAX_DIGITS_BEFORE_POINT
    # copy_abs, unlike abs(), needs no context: 1e+999999999 is no overflow
    if not number.is_finite() or number.copy_abs() >= limit:
        raise invalid(name, value, 'Value out of range.')
    if kept is not None and kept(number).copy_abs() >= limit:
        raise invalid(name, value, 'Value out of range.')
    if minimum is not None and number < minimum:
        raise invalid(name, value, 'Value must be at least %s.' % minimum)
    return number


def text_value(value, name, max_length=255):
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise invalid(name, value, "Wrong type. Expected 'str'.")
    text = str(value)
    if len(text) > max_length:
        raise invalid(name, text[:64], 'Value too long (at most %d '
                      'characters).' % max_length)
    return text


def choice_value(value, name, choices, default):
    if value is None:
        return default
    if value not in choices:
        raise invalid(name, value,
                      'Value should be one of: %s' % ', '.join(choices))
    return value


def datetime_value(value, name, end_of_day=False):
    """Naive UTC; a date alone is midnight, or 23:59:59 for an end."""
    if value is None or value == '':
        return None
    if not isinstance(value, str):
        raise invalid(name, value, 'Unable to convert to datetime.')
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
        raise invalid(name, value, 'Unable to convert to datetime.') \
            from None
    return moment.replace(tzinfo=None)


def boolean_value(value, name):
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ('true', '1', 'false',
                                                    '0', ''):
        return value.lower() in ('true', '1')
    raise invalid(name, value, "Wrong type. Expected 'bool'.")


def moment_text(value):
    """A datetime as v1 shows it (naive ISO 8601), None kept."""
    return value.isoformat() if value is not None else None
