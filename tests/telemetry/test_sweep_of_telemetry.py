"""The leak sweep searches spans and metric points too (SPEC §8, R10)."""

from __future__ import annotations

from opentelemetry import metrics, trace

from finauth import FincruxAPIKeyAuth, FincruxJWTAuth
from leak_sweep import Sweep, sweep_telemetry
from otel_sdk import SDK

EMAIL = "analyst@example.com"
PASSWORD = "a-password-to-leak"
API_KEY = "an-api-key-to-leak"
REQUESTS = "opentelemetry.instrumentation.requests"


def test_a_secret_or_the_account_in_a_span_or_a_metric_is_found(leak_sweep: Sweep) -> None:
    FincruxJWTAuth(EMAIL, PASSWORD)
    with trace.get_tracer("finauth").start_as_current_span("finauth.login") as span:
        span.add_event("answered", {"body": PASSWORD})
    with trace.get_tracer(REQUESTS).start_as_current_span(
        "POST", attributes={"http.url": f"https://example.com/login?user={EMAIL}"}
    ):
        pass
    metrics.get_meter("finauth").create_counter("finauth.sweep_test").add(1, {"who": EMAIL})

    sweep_telemetry(leak_sweep)

    assert leak_sweep.leaks() == [
        "the email of a FincruxJWTAuth in a point of the metric 'finauth.sweep_test'",
        f"the email of a FincruxJWTAuth in a span 'POST' of {REQUESTS!r}",
        "the password of a FincruxJWTAuth in a span 'finauth.login' of 'finauth'",
    ]
    forget(leak_sweep)


def test_the_api_key_is_exempt_only_in_the_clients_spans(leak_sweep: Sweep) -> None:
    FincruxAPIKeyAuth(API_KEY)
    url = {"url.full": f"https://api.fincrux.org/search?api_key={API_KEY}"}
    with trace.get_tracer("opentelemetry.instrumentation.httpx").start_as_current_span(
        "GET", attributes=url
    ):
        pass
    sweep_telemetry(leak_sweep)
    assert leak_sweep.leaks() == []

    forget(leak_sweep)
    with trace.get_tracer("finauth").start_as_current_span("finauth.resend", attributes=url):
        pass
    sweep_telemetry(leak_sweep)
    assert leak_sweep.leaks() == [
        "the api_key of a FincruxAPIKeyAuth in a span 'finauth.resend' of 'finauth'"
    ]
    forget(leak_sweep)


def forget(sweep: Sweep) -> None:
    """Leave the test itself clean: what it made leaks on purpose."""
    sweep.forget()
    assert SDK is not None
    SDK.reset()
