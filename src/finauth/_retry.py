"""When a login or refresh call is tried again, and how long to wait first (R9).

Only the auth's own calls are retried: the user's requests are never retried
for these codes, that is their retry policy's job.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timezone

from ._dates import http_date

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_ATTEMPTS = 3
BASE_DELAY = 0.5
MAX_DELAY = 30.0


def delay(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait after failed `attempt` (1-based).

    The larger of an exponential backoff with full jitter and the server's
    Retry-After, capped at MAX_DELAY.
    """
    backoff = random.uniform(0, BASE_DELAY * 2 ** (attempt - 1))
    return min(MAX_DELAY, max(backoff, retry_after_seconds(retry_after) or 0.0))


def renewal_budget(call_timeout: float) -> float:
    """Seconds a whole renewal may take: a refresh and the login it falls back to, each
    tried MAX_ATTEMPTS times, each attempt bounded by `call_timeout`, with the longest
    backoff between attempts.

    What another caller waiting for that renewal must be ready to wait (R6).
    """
    one_call = MAX_ATTEMPTS * call_timeout + (MAX_ATTEMPTS - 1) * MAX_DELAY
    return 2 * one_call


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        moment = http_date(value)
        if moment is None:
            return None
        seconds = (moment - datetime.now(timezone.utc)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
