"""OpenTelemetry spans and metrics of logins, refreshes and re-sends (SPEC §8).

opentelemetry-api is optional (`finauth[otel]`) and imported at the first renewal or
re-send, never on the cached-token path, which records nothing. Without it nothing is
recorded; with it but no SDK, its tracer and meter do nothing; with an SDK they report to
whatever the application set up, whenever it sets it up.

The flow makes the spans, ended by the flow. It never makes one current: a flow moves
between tasks and threads, and a context made current in one must be reset in the same.
The adapters make a step's span current only while they send that step's HTTP call,
so that the client's own instrumentation nests its span for the call under it.

Nothing here carries an error's message, which may name the account (R10): a failure is
told by the exception's class alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter
    from opentelemetry.trace import Span, Tracer

    RenewalKind = Literal["login", "refresh"]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
"""Seconds: the semantic conventions' buckets for HTTP durations, where a renewal falls."""


class _Instruments(NamedTuple):
    tracer: Tracer
    renewals: Counter
    duration: Histogram


@cache
def _instruments() -> _Instruments | None:
    """finauth's tracer and instruments, or None without opentelemetry-api.

    Made once: the API's tracer and meter delegate to the providers an application sets
    later, so a renewal before the SDK is configured loses nothing after it.
    """
    try:
        from opentelemetry import metrics, trace
    except ImportError:
        return None
    meter = metrics.get_meter("finauth")
    return _Instruments(
        trace.get_tracer("finauth"),
        meter.create_counter(
            "finauth.renewals", unit="{renewal}", description="Logins and refreshes made."
        ),
        _duration_histogram(meter),
    )


def _duration_histogram(meter: Meter) -> Histogram:
    name, unit = "finauth.renewal.duration", "s"
    description = "How long a login or refresh took, its retries (R9) included."
    try:
        return meter.create_histogram(
            name, unit, description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS
        )
    except TypeError:  # opentelemetry-api before 1.30, which another package may pin
        return meter.create_histogram(name, unit, description)


@contextmanager
def renewal(provider: str, kind: RenewalKind) -> Iterator[Span | None]:
    """A login or refresh: its span `finauth.login` or `finauth.refresh`, counted in
    `finauth.renewals` and timed in `finauth.renewal.duration` as it ends."""
    instruments = _instruments()
    if instruments is None:
        yield None
        return
    outcome = "failure"
    started = time.perf_counter()
    try:
        with _span(instruments, f"finauth.{kind}", {"finauth.provider": provider}) as span:
            yield span
        outcome = "success"
    finally:
        took = time.perf_counter() - started
        labels = {
            "finauth.provider": provider,
            "finauth.renewal.kind": kind,
            "finauth.outcome": outcome,
        }
        instruments.renewals.add(1, labels)
        instruments.duration.record(took, labels)


@contextmanager
def resend(provider: str) -> Iterator[Span | None]:
    """The re-send of a request answered 401 (R4): its span `finauth.resend`, marked with
    the semantic conventions' `http.request.resend_count`, under which the client's own
    instrumentation records the HTTP request sent again."""
    instruments = _instruments()
    if instruments is None:
        yield None
        return
    attributes: dict[str, str | int] = {
        "finauth.provider": provider,
        "http.request.resend_count": 1,
    }
    with _span(instruments, "finauth.resend", attributes) as span:
        yield span


@contextmanager
def _span(instruments: _Instruments, name: str, attributes: dict[str, str | int]) -> Iterator[Span]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    span = instruments.tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes)
    try:
        yield span
    except BaseException as error:
        span.set_attribute("error.type", _error_type(error))
        span.set_status(Status(StatusCode.ERROR))
        raise
    finally:
        span.end()


def _error_type(error: BaseException) -> str:
    """The class of what ended a span.

    A flow closed by its client (GeneratorExit) was closed while the client handled the
    error that ended it, if any, through as many generators as stood between them.
    """
    while isinstance(error, GeneratorExit) and error.__context__ is not None:
        error = error.__context__
    if isinstance(error, GeneratorExit):
        return "_OTHER"  # the semantic conventions' word for a cause not known
    return type(error).__name__


def sending(span: Span | None) -> AbstractContextManager[object]:
    """`span` made current while the HTTP call it covers is sent, so that the client's
    instrumentation records that call under it.

    requests' instrumentation turns HTTP instrumentation off while it sends a request,
    the response hooks included, where a 401's renewal and re-send are made; each is an
    HTTP call of its own, so it is turned back on for them.
    """
    if span is None:
        return nullcontext()
    return _made_current(span)


@contextmanager
def _made_current(span: Span) -> Iterator[None]:
    from opentelemetry import context, trace

    current = trace.set_span_in_context(span)
    suppressed = getattr(context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", None)
    if suppressed is not None:
        current = context.set_value(suppressed, False, current)
    token = context.attach(current)
    try:
        yield
    finally:
        context.detach(token)
