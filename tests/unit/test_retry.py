"""R9's waits: exponential backoff with full jitter, Retry-After, a 30 s cap."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from finauth import _retry
from finauth._retry import MAX_ATTEMPTS, MAX_DELAY, RETRY_STATUSES, delay
from finauth._retry import retry_after_seconds as seconds

BASE_DELAY = _retry.BASE_DELAY
"""The module's own value, read at import: a conftest may shrink it for flow tests."""


@pytest.fixture(autouse=True)
def real_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry, "BASE_DELAY", BASE_DELAY)


@pytest.fixture
def uniform_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Make the jitter pick the top of its range, and record every range asked for."""
    calls: list[tuple[float, float]] = []

    def top(a: float, b: float) -> float:
        calls.append((a, b))
        return b

    monkeypatch.setattr(random, "uniform", top)
    return calls


def http_date(offset: timedelta) -> str:
    return format_datetime(datetime.now(timezone.utc) + offset, usegmt=True)


def test_constants_match_r9() -> None:
    assert {429, 502, 503, 504} == RETRY_STATUSES
    assert MAX_ATTEMPTS == 3
    assert MAX_DELAY == 30.0


# --- delay -------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_backoff_range_doubles_per_attempt(
    uniform_calls: list[tuple[float, float]], attempt: int
) -> None:
    expected_top = BASE_DELAY * 2 ** (attempt - 1)
    assert delay(attempt, None) == expected_top
    assert uniform_calls == [(0, expected_top)]


@pytest.mark.parametrize("attempt", [1, 2, 3, 6])
def test_full_jitter_stays_within_zero_and_the_backoff(
    monkeypatch: pytest.MonkeyPatch, attempt: int
) -> None:
    rng = random.Random(1234)
    top = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))
    monkeypatch.setattr(random, "uniform", rng.uniform)
    waits = [delay(attempt, None) for _ in range(500)]
    assert all(0 <= w <= top for w in waits)
    # Full jitter: the waits spread over the whole range, not just near its top.
    assert min(waits) < top * 0.1
    assert max(waits) > top * 0.9


def test_jitter_can_be_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda a, b: a)
    assert delay(3, None) == 0.0


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        pytest.param(1, "10", 10.0, id="retry-after-larger"),
        pytest.param(3, "1", 2.0, id="backoff-larger"),
        pytest.param(2, "1", 1.0, id="equal"),
        pytest.param(1, "0", 0.5, id="retry-after-zero"),
        pytest.param(1, "2.5", 2.5, id="fractional"),
        pytest.param(1, "soon", 0.5, id="garbage-ignored"),
        pytest.param(1, "", 0.5, id="empty-ignored"),
        pytest.param(1, "nan", 0.5, id="nan-ignored"),
        pytest.param(1, "29.5", 29.5, id="just-under-cap"),
        pytest.param(1, "30", 30.0, id="at-cap"),
        pytest.param(1, "31", 30.0, id="capped"),
        pytest.param(1, "86400", 30.0, id="a-day-capped"),
        pytest.param(10, None, 30.0, id="backoff-capped"),
        pytest.param(10, "5", 30.0, id="large-backoff-capped"),
    ],
)
def test_delay_is_the_larger_wait_capped(
    uniform_calls: list[tuple[float, float]],
    attempt: int,
    retry_after: str | None,
    expected: float,
) -> None:
    assert delay(attempt, retry_after) == pytest.approx(expected)


def test_retry_after_as_an_http_date_counts(uniform_calls: list[tuple[float, float]]) -> None:
    assert 10 <= delay(1, http_date(timedelta(seconds=12))) <= 12
    assert delay(1, http_date(timedelta(hours=2))) == MAX_DELAY
    assert delay(1, http_date(timedelta(hours=-2))) == BASE_DELAY


# --- retry_after_seconds -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("120", 120.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("-3", 0.0),  # never a negative wait
    ],
)
def test_retry_after_delta_seconds(value: str, expected: float) -> None:
    assert seconds(value) == expected


def test_retry_after_http_date_in_the_future() -> None:
    value = seconds(http_date(timedelta(seconds=120)))
    assert value is not None
    assert 118 <= value <= 120


def test_retry_after_http_date_without_zone_is_utc() -> None:
    moment = datetime.now(timezone.utc) + timedelta(seconds=300)
    value = seconds(moment.strftime("%a, %d %b %Y %H:%M:%S -0000"))
    assert value is not None
    assert 298 <= value <= 300


@pytest.mark.parametrize("offset", [timedelta(seconds=-5), timedelta(days=-3650)])
def test_retry_after_http_date_in_the_past_is_zero(offset: timedelta) -> None:
    assert seconds(http_date(offset)) == 0.0


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "soon",
        "tomorrow at noon",
        "Wed, 99 Foo 2015 07:28:00 GMT",
        "12 seconds",
        "0x10",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e400",
        "Wed, 21 Oct 99999 07:28:00 GMT",  # past datetime's last year: ValueError
        "Wed, 21 Oct 99999999999999999999 07:28:00 GMT",  # past C's int: OverflowError
    ],
)
def test_retry_after_unusable_is_none(value: str | None) -> None:
    assert seconds(value) is None
