"""HTTP dates (RFC 9110 §5.6.7), as in `Retry-After` and a cookie's `Expires`."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def http_date(value: str) -> datetime | None:
    """`value` as an aware UTC datetime; None for anything that is no date.

    The standard library's parser raises four kinds of error, OverflowError
    among them for a year too large for C; a server's typo is none of our users'
    business, so all of them mean "no date" here.
    """
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment
