"""Default report periods: the current calendar month, in UTC."""
import datetime

from ratekeeper import errors

UTC = datetime.timezone.utc


def month_start(now=None):
    now = now or datetime.datetime.now(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(now=None):
    start = month_start(now)
    return (start + datetime.timedelta(days=32)).replace(day=1)


def resolve(begin, end):
    """(begin, end) with the current month's bounds for what is missing.

    Raises errors.InvalidInput when the period is empty or reversed.
    """
    begin, end = begin or month_start(), end or next_month_start()
    if end <= begin:
        raise errors.InvalidInput('end must be after begin.')
    return begin, end
