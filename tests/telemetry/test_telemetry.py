"""SPEC §8: the spans and metrics of every login, refresh and re-send, on every client.

Read from OpenTelemetry's SDK as the suite sets it up (`otel_sdk`): an in-memory span
exporter and a metric reader. The leak sweep searches the same spans and points after
each of these tests, as after every other (R10).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import finauth._retry
from conftest import Rig, make_due
from finauth import LoginError, RateLimitedError
from network_errors import network_error
from otel_sdk import SDK, Recorded

pytestmark = pytest.mark.parametrize("transport", ["loopback"])


@pytest.fixture
def recorded() -> Recorded:
    assert SDK is not None, "these tests need opentelemetry-sdk (the `tests` dependency group)"
    return SDK


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """R9's pauses made 0 s: a rate-limited login is retried at once."""
    monkeypatch.setattr(finauth._retry, "delay", lambda attempt, retry_after: 0.0)


def finauth_spans(recorded: Recorded) -> list[ReadableSpan]:
    return recorded.spans("finauth")


def only(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    [span] = [span for span in spans if span.name == name]
    return span


def renewals(recorded: Recorded) -> Counter[tuple[str, str, str]]:
    """finauth.renewals by (provider, kind, outcome)."""
    counted: Counter[tuple[str, str, str]] = Counter()
    for point in recorded.points():
        if point.metric == "finauth.renewals":
            counted[_labels(point.attributes)] += int(point.value)
    return counted


def durations(recorded: Recorded) -> dict[tuple[str, str, str], tuple[int, float]]:
    """finauth.renewal.duration by (provider, kind, outcome): (how many, seconds in all)."""
    timed: dict[tuple[str, str, str], tuple[int, float]] = {}
    for point in recorded.points():
        if point.metric == "finauth.renewal.duration":
            count, total = timed.get(_labels(point.attributes), (0, 0.0))
            timed[_labels(point.attributes)] = (count + int(point.value), total + point.total)
    return timed


def _labels(attributes: dict[str, Any]) -> tuple[str, str, str]:
    assert set(attributes) == {"finauth.provider", "finauth.renewal.kind", "finauth.outcome"}
    return (
        attributes["finauth.provider"],
        attributes["finauth.renewal.kind"],
        attributes["finauth.outcome"],
    )


def seconds(span: ReadableSpan) -> float:
    assert span.start_time is not None
    assert span.end_time is not None
    return (span.end_time - span.start_time) / 1e9


def assert_renewal(
    span: ReadableSpan, provider: str, error: type[BaseException] | str | None
) -> None:
    assert span.kind is SpanKind.INTERNAL
    if error is None:
        assert dict(span.attributes or {}) == {"finauth.provider": provider}
        assert span.status.status_code is StatusCode.UNSET
    else:
        assert dict(span.attributes or {}) == {
            "finauth.provider": provider,
            "error.type": error if isinstance(error, str) else error.__name__,
        }
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description is None  # a message may name the account (R10)
    assert span.events == ()


# -- what each renewal records, on every client ------------------------------------------


def test_a_login_is_a_span_a_count_and_a_duration(rig: Rig, recorded: Recorded) -> None:
    fetch = rig.open(rig.auth())
    assert fetch("GET", rig.url()).status_code == 200

    [span] = finauth_spans(recorded)
    assert span.name == "finauth.login"
    assert_renewal(span, rig.emulator.name, None)
    key = (rig.emulator.name, "login", "success")
    assert renewals(recorded) == {key: 1}
    [(count, total)] = durations(recorded).values()
    assert count == 1
    # Seconds, as long as the span give or take a thread switch between its end and the
    # clock's reading (in milliseconds, the figure would be a thousand times the span's).
    assert 0 < total <= seconds(span) + 0.5


def test_a_refresh_before_sending_is_a_span_and_a_count(rig: Rig, recorded: Recorded) -> None:
    auth = rig.auth()
    fetch = rig.open(auth)
    assert fetch("GET", rig.url()).status_code == 200
    make_due(auth)
    recorded.reset()

    assert fetch("GET", rig.url()).status_code == 200

    [span] = finauth_spans(recorded)
    assert span.name == "finauth.refresh"
    assert_renewal(span, rig.emulator.name, None)
    assert renewals(recorded) == {(rig.emulator.name, "refresh", "success"): 1}


def test_a_resend_after_a_401_is_a_span_of_its_own(rig: Rig, recorded: Recorded) -> None:
    """R4: the refresh's span, then the re-send's, marked as the semantic conventions
    mark a request sent again."""
    fetch = rig.open(rig.auth())
    assert fetch("GET", rig.url()).status_code == 200
    rig.emulator.expire_tokens()
    recorded.reset()

    assert fetch("GET", rig.url()).status_code == 200

    refresh, resend = finauth_spans(recorded)
    assert refresh.name == "finauth.refresh"
    assert_renewal(refresh, rig.emulator.name, None)
    assert resend.name == "finauth.resend"
    assert resend.kind is SpanKind.INTERNAL
    assert dict(resend.attributes or {}) == {
        "finauth.provider": rig.emulator.name,
        "http.request.resend_count": 1,
    }
    assert refresh.end_time is not None
    assert resend.start_time is not None
    assert refresh.end_time <= resend.start_time
    assert renewals(recorded) == {(rig.emulator.name, "refresh", "success"): 1}


def test_a_rejected_login_is_an_error_span_and_a_failure(rig: Rig, recorded: Recorded) -> None:
    fetch = rig.open(rig.auth(password="not-the-password"))

    with pytest.raises(LoginError):
        fetch("GET", rig.url())

    [span] = finauth_spans(recorded)
    assert span.name == "finauth.login"
    assert_renewal(span, rig.emulator.name, LoginError)
    assert renewals(recorded) == {(rig.emulator.name, "login", "failure"): 1}
    assert [count for count, _ in durations(recorded).values()] == [1]


@pytest.mark.usefixtures("no_backoff")
def test_a_rate_limited_login_is_one_span_over_its_attempts(rig: Rig, recorded: Recorded) -> None:
    """R9: three attempts, one login as far as telemetry tells."""
    fetch = rig.open(rig.auth())
    rig.emulator.rate_limit(3)

    with pytest.raises(RateLimitedError):
        fetch("GET", rig.url())

    assert rig.emulator.logins == 3
    [span] = finauth_spans(recorded)
    assert_renewal(span, rig.emulator.name, RateLimitedError)
    assert renewals(recorded) == {(rig.emulator.name, "login", "failure"): 1}


def test_a_login_the_network_fails_names_the_clients_error(
    rig: Rig, recorded: Recorded, unused_port: int
) -> None:
    """Nothing listens: the span's error.type is the client's own exception, which the
    client raised while the flow was suspended, and closes the flow as it unwinds.

    An httpx (httpx2) AsyncClient under trio closes it by `aclose()`, which tells an async
    generator nothing of the error: "_OTHER", the semantic conventions' value for a cause
    not known. Under asyncio the auth sends the login itself, from a task of its own, and
    knows.
    """
    auth = rig.emulator.auth(f"http://127.0.0.1:{unused_port}")
    rig.stack.callback(auth.close)
    fetch = rig.open(auth)

    refused = network_error(rig, "refused")
    assert refused is not None

    with pytest.raises(refused):
        fetch("GET", f"http://127.0.0.1:{unused_port}{rig.emulator.sample_path}")

    [span] = finauth_spans(recorded)
    unknown = rig.family == "httpx" and rig.is_async and not rig.renews_apart
    assert_renewal(span, rig.emulator.name, "_OTHER" if unknown else refused)
    assert renewals(recorded) == {(rig.emulator.name, "login", "failure"): 1}


@pytest.mark.parametrize("provider", ["Fincrux"])
def test_a_cached_token_records_nothing(rig: Rig, recorded: Recorded) -> None:
    """The common path creates no span and measures nothing (SPEC §8's cost)."""
    fetch = rig.open(rig.auth())
    assert fetch("GET", rig.url()).status_code == 200
    recorded.reset()

    for _ in range(3):
        assert fetch("GET", rig.url()).status_code == 200

    assert finauth_spans(recorded) == []
    assert recorded.points() == []


@pytest.fixture
def unused_port() -> Iterator[int]:
    """A loopback port nothing listens on (bound, never listening, while the test runs)."""
    import socket

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


# -- nested under finauth's spans, the clients' own instrumentation ------------------------


def instrumentor(client: str) -> BaseInstrumentor:
    if client == "requests":
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        return RequestsInstrumentor()
    if client.startswith("httpx"):
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        return HTTPXClientInstrumentor()
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

    return AioHttpClientInstrumentor()


@pytest.fixture
def instrumented(client_name: str) -> Iterator[None]:
    """The client's standard OpenTelemetry instrumentation, on for one test."""
    instrumenting = instrumentor(client_name)
    instrumenting.instrument()
    try:
        yield
    finally:
        instrumenting.uninstrument()


def http_spans(recorded: Recorded) -> list[ReadableSpan]:
    return [span for span in recorded.spans() if span.kind is SpanKind.CLIENT]


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


def method(span: ReadableSpan) -> object:
    attributes = span.attributes or {}
    return attributes.get("http.request.method", attributes.get("http.method"))


INSTRUMENTED = ["requests", "httpx", "httpx-asyncio", "httpx-trio", "aiohttp"]


@pytest.mark.parametrize("client_name", INSTRUMENTED)
@pytest.mark.usefixtures("instrumented")
def test_the_login_call_is_the_instrumentations_span_under_finauths(
    rig: Rig, recorded: Recorded
) -> None:
    fetch = rig.open(rig.auth())

    assert fetch("GET", rig.url()).status_code == 200

    http = http_spans(recorded)
    assert len(http) == len(rig.emulator.calls) == 2  # the login, the request
    login = only(finauth_spans(recorded), "finauth.login")
    [call] = children(http, login)
    assert method(call) == "POST"
    assert call.context.trace_id == login.context.trace_id


@pytest.mark.parametrize("client_name", INSTRUMENTED)
@pytest.mark.usefixtures("instrumented")
def test_the_refresh_and_the_resend_are_the_instrumentations_spans_under_finauths(
    rig: Rig, recorded: Recorded
) -> None:
    """Every request on the wire is a span of the client's instrumentation, requests'
    refresh and re-send included, which its response hook sends while requests'
    instrumentation is turned off for the request answered 401. aiohttp's records the
    request and its re-send, both sent within one `session.get`, as one span."""
    fetch = rig.open(rig.auth())
    assert fetch("GET", rig.url()).status_code == 200
    rig.emulator.expire_tokens()
    before = len(rig.emulator.calls)
    recorded.reset()

    assert fetch("GET", rig.url()).status_code == 200

    on_the_wire = len(rig.emulator.calls) - before
    assert on_the_wire == 3  # the 401, the refresh, the re-send
    http = http_spans(recorded)
    spans = finauth_spans(recorded)
    [refresh_call] = children(http, only(spans, "finauth.refresh"))
    assert method(refresh_call) == "POST"
    resent = children(http, only(spans, "finauth.resend"))
    if rig.family == "aiohttp":
        assert len(http) == on_the_wire - 1
        assert resent == []
    else:
        assert len(http) == on_the_wire
        assert [method(span) for span in resent] == ["GET"]
