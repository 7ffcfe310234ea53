"""Fault injection: every provider, login and refresh, every client, over loopback HTTP.

Login and refresh answers that fail (500, 502, 503, 504, 429, with and without
Retry-After), that cannot be used (HTML pages, empty or cut-short bodies, the wrong
content type, JSON with fields missing, null or of the wrong type), tokens that are
not JWTs or are expired on arrival, and answers lost to the network (a reset, a
read timeout, a refused connection). Each must end as SPEC says:

- R8: the right FinauthError, naming provider and endpoint, or the client's own
  network exception, unwrapped;
- R9: at most three attempts per auth call, and only for 429, 502, 503 and 504,
  each wait honouring Retry-After;
- R3: a failed refresh falls back to a login, except for a 429 that persists and
  network errors, which are raised;
- R4: the user's request is sent at most twice, and never when no token could be had.

Faults are injected at the emulator and cross real HTTP on 127.0.0.1, so the
transport is pinned to loopback. A "refresh" here is the one a 401 sets off (the
provider has expired the access token): the request has then been sent once
already, which is what makes "at most twice" bite. `test_a_proactive_refresh_*`
covers the refresh made before sending. Waits are recorded, never slept (see
`waits`), and nothing is timed by the wall clock: pytest-timeout bounds each test.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, Literal

import jwt
import pytest

import finauth._retry
from conftest import Rig, make_due
from finauth import FinauthError, LoginError, ProviderResponseError, RateLimitedError
from finauth._auth import ProviderAuth
from finauth._wire import MAX_ANSWER_BYTES
from finauth.testing import Call, Emulator, Reply
from finauth.testing._clients import Fetch
from finauth.testing._emulator import AuthKind, Change
from network_errors import network_error

pytestmark = [
    pytest.mark.parametrize("transport", ["loopback"]),
    pytest.mark.timeout(20),
]

READ_TIMEOUT = 0.5
"""Seconds a client waits for an answer in the network-fault tests. It bounds the calls
answered in full too, a whole login included where the auth's timeout is this: on two
busy cores such a login once took longer than 0.25 s."""
STALL = 5.0
"""Seconds a stalled answer is held back: far past READ_TIMEOUT (the server gives up
as soon as the client hangs up, so this costs nothing unless the timeout fails)."""
TRICKLE = 0.1
"""Seconds between the bytes of a trickled answer: each read within READ_TIMEOUT, the
whole answer a minute or more (the test's own timeout, unless the auth's cuts it off)."""
HTML = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)

Phase = AuthKind
OK: Literal["ok"] = "ok"
"""The answer is used: the request goes through."""
FALLBACK: Literal["fallback"] = "fallback"
"""The refresh fails and a login takes its place (R3); the request goes through."""
Outcome = type[BaseException] | Literal["ok", "fallback"]


# -- what the auth waited -----------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    retry_after: str | None
    """The Retry-After header the flow was given."""
    seconds: float
    """What R9 made of it: the pause the flow asked for."""


@pytest.fixture(autouse=True)
def waits(monkeypatch: pytest.MonkeyPatch) -> list[Wait]:
    """Every R9 wait the flow asks for, recorded; the pause itself is made 0 s."""
    asked: list[Wait] = []
    real = finauth._retry.delay

    def recorded(attempt: int, retry_after: str | None) -> float:
        asked.append(Wait(retry_after, real(attempt, retry_after)))
        return 0.0

    monkeypatch.setattr(finauth._retry, "delay", recorded)
    return asked


def backoff_only(waits: list[Wait]) -> bool:
    """Whether each wait is the bare jittered backoff (no Retry-After to stretch it)."""
    top = finauth._retry.BASE_DELAY * 2 ** (len(waits) - 1)
    return all(0 <= wait.seconds <= top for wait in waits)


# -- injecting faults -------------------------------------------------------------------


def failing(
    status: int, body: object = None, headers: tuple[tuple[str, str], ...] = (), times: int = 1
) -> Callable[[Emulator, Phase], None]:
    """The next `times` calls of the phase's kind answered `status` with `body`."""

    def inject(emulator: Emulator, kind: Phase) -> None:
        fail = emulator.fail_next_login if kind == "login" else emulator.fail_next_refresh
        for _ in range(times):
            fail(status, body, headers)

    return inject


def throttled(times: int, retry_after: str | None = None) -> Callable[[Emulator, Phase], None]:
    def inject(emulator: Emulator, kind: Phase) -> None:
        emulator.rate_limit(times, retry_after)

    return inject


def tampered(change: Change) -> Callable[[Emulator, Phase], None]:
    def inject(emulator: Emulator, kind: Phase) -> None:
        emulator.tamper_next(kind, change)

    return inject


def content_type(value: str) -> Change:
    """The provider's own answer, labelled `value`."""

    def change(reply: Reply) -> Reply:
        kept = tuple((name, v) for name, v in reply.headers if name.lower() != "content-type")
        return replace(reply, headers=(*kept, ("Content-Type", value)))

    return change


def html_labelled_json(reply: Reply) -> Reply:
    return Reply(200, HTML.encode(), (("Content-Type", "application/json"),))


def cut_short(reply: Reply) -> Reply:
    """The provider's answer, headers whole, its JSON body cut in half (Content-Length fits)."""
    return replace(reply, body=reply.body[: len(reply.body) // 2])


def json_edited(path: str, value: object = ...) -> Change:
    """The provider's JSON answer with the field at dotted `path` set to `value` (... : removed)."""
    *parents, name = path.split(".")

    def change(reply: Reply) -> Reply:
        payload = json.loads(reply.body)
        holder = payload
        for parent in parents:
            holder = holder[parent]
        if value is ...:
            del holder[name]
        else:
            holder[name] = value
        return replace(reply, body=json.dumps(payload).encode())

    return change


def without_cookies(*names: str) -> Change:
    def change(reply: Reply) -> Reply:
        kept = tuple(
            (name, value)
            for name, value in reply.headers
            if name.lower() != "set-cookie" or value.partition("=")[0] not in names
        )
        return replace(reply, headers=kept)

    return change


def tokens_in_body(reply: Reply) -> Reply:
    """Finvera's answer with its tokens moved from Set-Cookie to the body, as the seed's
    own Python example expects them."""
    cookies = dict(
        value.partition(";")[0].split("=", 1)
        for name, value in reply.headers
        if name.lower() == "set-cookie"
    )
    payload = json.loads(reply.body)
    payload.update(token=cookies["DT_AUTH_TOKEN"], refresh_token=cookies["DT_REFRESH_TOKEN"])
    headers = tuple((name, value) for name, value in reply.headers if name.lower() != "set-cookie")
    return Reply(reply.status, json.dumps(payload).encode(), headers)


# -- running one faulty request ---------------------------------------------------------


def prepared(rig: Rig, phase: Phase, auth: ProviderAuth | None = None, **options: Any) -> Fetch:
    """A client, using `auth` or a new one with `options`, whose next request logs in
    ("login") or, the provider having just expired its access token, is answered 401
    and refreshes ("refresh")."""
    fetch: Fetch = rig.open(auth or rig.auth(**options))
    if phase == "refresh":
        assert fetch("GET", rig.url()).status_code == 200
        rig.emulator.expire_tokens()
    return fetch


def auth_calls(rig: Rig, kind: Phase) -> list[Call]:
    return [call for call in rig.emulator.calls if rig.emulator.auth_kind(call) == kind]


def counts(rig: Rig) -> tuple[int, int, int]:
    """(logins, refreshes, times the user's request was sent), as the provider saw them."""
    return rig.emulator.logins, rig.emulator.refreshes, len(rig.calls_to())


def assert_reported(rig: Rig, error: BaseException, kind: Phase) -> None:
    """R8: a FinauthError names the provider and the endpoint; no error holds a secret."""
    assert not [secret for secret in rig.secrets() if secret in str(error) + repr(error)]
    if not isinstance(error, FinauthError):
        return  # a network failure: the client's own exception (its exact type is checked)
    *_, call = auth_calls(rig, kind)
    endpoint = f"POST {rig.base_url}{call.path}"
    assert error.provider == rig.emulator.name
    assert error.endpoint == endpoint
    assert rig.emulator.name in str(error)
    assert endpoint in str(error)


def send_through(
    rig: Rig, fetch: Fetch, phase: Phase, outcome: Outcome, attempts: int, **request: Any
) -> BaseException | None:
    """Send one request into the injected fault; check its end and what it cost.

    Costs, counted at the provider: `attempts` calls to the faulty endpoint, a login
    more when a refresh falls back to one, and the user's request sent once per
    token it could be sent with: never when the login failed, and after a 401 once
    more only if a token was had (R4).
    """
    error: BaseException | None = None
    if isinstance(outcome, str):
        assert fetch("GET", rig.url(), **request).status_code == 200
    else:
        with pytest.raises(outcome) as caught:
            fetch("GET", rig.url(), **request)
        error = caught.value
        assert type(error) is outcome
        assert_reported(rig, error, phase)
    went_through = error is None
    if phase == "login":
        assert outcome != FALLBACK
        assert counts(rig) == (attempts, 0, int(went_through))
    else:
        fell_back = int(outcome == FALLBACK)
        assert counts(rig) == (1 + fell_back, attempts, 2 + int(went_through))
    return error


# -- R8, R9 and R3: answers with a bad status or an unusable body ------------------------


@dataclass(frozen=True)
class Fault:
    inject: Callable[[Emulator, Phase], None]
    login: Outcome | None
    """How a login answered so ends; None where tests/clients/test_rules.py checks it."""
    refresh: Outcome
    attempts: int = 1
    """Calls to the faulty endpoint: R9 retries 429, 502, 503 and 504, 3 attempts in all."""
    retry_after: str | None = None
    """The Retry-After the faulty answers carry."""


PRE = ProviderResponseError
OVERSIZED = b'{"access": "' + b"a" * MAX_ANSWER_BYTES + b'"}'
"""An answer past R15's cap: read no further, and never left half-read (an async
generator abandoned unexhausted is a ResourceWarning under trio)."""
HTTP_FAULTS = {
    "500-html-with-retry-after": Fault(
        failing(500, HTML, (("Retry-After", "1"),)), login=PRE, refresh=FALLBACK
    ),
    "502-html-persisting": Fault(
        failing(502, HTML, times=3), login=PRE, refresh=FALLBACK, attempts=3
    ),
    "503-json-persisting-with-retry-after": Fault(
        failing(503, {"message": "maintenance"}, (("Retry-After", "2"),), times=3),
        login=PRE,
        refresh=FALLBACK,
        attempts=3,
        retry_after="2",
    ),
    "504-empty-persisting": Fault(
        failing(504, b"", times=3), login=PRE, refresh=FALLBACK, attempts=3
    ),
    "503-twice-then-ok": Fault(failing(503, HTML, times=2), login=None, refresh=OK, attempts=3),
    "429-twice-then-ok": Fault(throttled(2), login=None, refresh=OK, attempts=3),
    "200-empty": Fault(failing(200, b""), login=None, refresh=FALLBACK),
    "200-past-the-cap": Fault(failing(200, OVERSIZED), login=PRE, refresh=FALLBACK),
    "403": Fault(failing(403, {"detail": "Forbidden"}), login=None, refresh=FALLBACK),
    "json-labelled-text-html": Fault(
        tampered(content_type("text/html; charset=utf-8")), login=OK, refresh=OK
    ),
    "html-labelled-json": Fault(tampered(html_labelled_json), login=PRE, refresh=FALLBACK),
}


def cases(faults: dict[str, Fault]) -> list[Any]:
    """(phase, fault, outcome) for each phase a fault is checked in here."""
    return [
        pytest.param(phase, fault, outcome, id=f"{phase}-{name}")
        for name, fault in faults.items()
        for phase, outcome in (("login", fault.login), ("refresh", fault.refresh))
        if outcome is not None
    ]


@pytest.mark.parametrize(("phase", "fault", "outcome"), cases(HTTP_FAULTS))
def test_a_bad_auth_answer_ends_as_r3_r8_and_r9_say(
    rig: Rig, waits: list[Wait], phase: Phase, fault: Fault, outcome: Outcome
) -> None:
    fetch = prepared(rig, phase)
    fault.inject(rig.emulator, phase)

    send_through(rig, fetch, phase, outcome, fault.attempts)

    assert [wait.retry_after for wait in waits] == [fault.retry_after] * (fault.attempts - 1)
    if fault.retry_after is None:
        assert backoff_only(waits)
    else:
        assert [wait.seconds for wait in waits] == [float(fault.retry_after)] * len(waits)


# -- R9: a rate limit that persists, with every form of Retry-After -----------------------


def http_date(offset: timedelta) -> str:
    return format_datetime(datetime.now(timezone.utc) + offset, usegmt=True)


@pytest.mark.parametrize("phase", ["login", "refresh"])
@pytest.mark.parametrize("retry_after", ["none", "seconds", "http-date"])
def test_a_persisting_429_raises_rate_limited_error_carrying_retry_after(
    rig: Rig, waits: list[Wait], phase: Phase, retry_after: str
) -> None:
    header = {"none": None, "seconds": "7", "http-date": http_date(timedelta(seconds=20))}[
        retry_after
    ]
    fetch = prepared(rig, phase)
    rig.emulator.rate_limit(3, header)

    error = send_through(rig, fetch, phase, RateLimitedError, attempts=3)

    assert isinstance(error, RateLimitedError)
    assert [wait.retry_after for wait in waits] == [header, header]
    if header is None:
        assert error.retry_after is None
        assert backoff_only(waits)
    elif retry_after == "seconds":
        assert error.retry_after == 7.0
        assert [wait.seconds for wait in waits] == [7.0, 7.0]
    else:  # a date 20 s ahead, to the second, read a moment later
        assert error.retry_after is not None
        assert 15 < error.retry_after <= 20
        assert all(15 < wait.seconds <= 20 for wait in waits)


# -- R8 and R3: valid JSON, wrong fields ---------------------------------------------------

LE = LoginError
FIELD_FAULTS = [
    # Fincrux: {"success", "access", "refresh", ...}; its refresh answers {"access", "refresh"}.
    pytest.param("Fincrux", json_edited("access"), PRE, FALLBACK, id="Fincrux-no-access"),
    pytest.param("Fincrux", json_edited("access", None), PRE, FALLBACK, id="Fincrux-access-null"),
    pytest.param(
        "Fincrux", json_edited("access", 12345), PRE, FALLBACK, id="Fincrux-access-a-number"
    ),
    pytest.param(
        "Fincrux",
        json_edited("success", None),
        LE,  # a login whose success is not true was refused
        OK,  # refresh answers carry no success
        id="Fincrux-success-null",
    ),
    pytest.param("Fincrux", json_edited("refresh", None), OK, OK, id="Fincrux-refresh-null"),
    pytest.param("Fincrux", cut_short, PRE, FALLBACK, id="Fincrux-cut-short"),
    # Finvera: {"message", "expires_in"}, the tokens in Set-Cookie.
    pytest.param(
        "Finvera",
        without_cookies("DT_AUTH_TOKEN", "DT_REFRESH_TOKEN"),
        PRE,
        FALLBACK,
        id="Finvera-no-set-cookie",
    ),
    pytest.param(
        "Finvera", without_cookies("DT_AUTH_TOKEN"), PRE, FALLBACK, id="Finvera-no-auth-cookie"
    ),
    pytest.param("Finvera", json_edited("expires_in", None), OK, OK, id="Finvera-expires-in-null"),
    pytest.param(
        "Finvera", json_edited("expires_in", "3600"), OK, OK, id="Finvera-expires-in-a-string"
    ),
    pytest.param("Finvera", tokens_in_body, OK, OK, id="Finvera-tokens-in-the-body"),
    pytest.param("Finvera", cut_short, OK, OK, id="Finvera-cut-short"),  # tokens are cookies
    # FinHub: {"code", "message", "data": {"sessionId", "token", "refreshToken", ...}}.
    pytest.param(
        "FinHub", json_edited("data.token", 12345), PRE, FALLBACK, id="FinHub-token-a-number"
    ),
    pytest.param("FinHub", json_edited("data", None), PRE, FALLBACK, id="FinHub-data-null"),
    pytest.param("FinHub", json_edited("code"), PRE, FALLBACK, id="FinHub-no-code"),
    pytest.param("FinHub", json_edited("code", "200"), OK, OK, id="FinHub-code-a-string"),
    pytest.param("FinHub", json_edited("code", 401), LE, FALLBACK, id="FinHub-code-401"),
    pytest.param(
        "FinHub", json_edited("data.success", False), LE, FALLBACK, id="FinHub-success-false"
    ),
    pytest.param("FinHub", json_edited("data.sessionId", None), OK, OK, id="FinHub-no-session"),
    pytest.param("FinHub", cut_short, PRE, FALLBACK, id="FinHub-cut-short"),
]


@pytest.mark.parametrize("phase", ["login", "refresh"])
@pytest.mark.parametrize(("provider", "change", "login", "refresh"), FIELD_FAULTS)
def test_an_answer_with_wrong_fields_ends_as_r3_and_r8_say(
    rig: Rig, phase: Phase, change: Change, login: Outcome, refresh: Outcome
) -> None:
    fetch = prepared(rig, phase)
    rig.emulator.tamper_next(phase, change)

    send_through(rig, fetch, phase, login if phase == "login" else refresh, attempts=1)


# -- R7: tokens that are not JWTs, tokens expired on arrival --------------------------------


@pytest.mark.parametrize("phase", ["login", "refresh"])
@pytest.mark.parametrize("provider", ["Fincrux", "Finvera", "FinHub"])
def test_tokens_that_are_not_jwts_are_used_for_the_lifetime_the_answer_gives(
    rig: Rig, phase: Phase
) -> None:
    """R7: no JWT, so expiry comes from expires_in / expiresAt (Finvera, FinHub: the
    emulator's token_ttl), else 3600 s (Fincrux, whose seed says one hour)."""
    rig.emulator.token_ttl = 1800
    auth = rig.auth()
    fetch = prepared(rig, phase, auth)
    rig.emulator.opaque_tokens = True

    for _ in range(3):
        assert fetch("GET", rig.url()).status_code == 200

    token = auth.token
    assert token is not None
    assert token.access_token.startswith("opq_")
    lifetime = 3600 if rig.emulator.name == "Fincrux" else 1800
    assert lifetime - 60 < token.expires_in <= lifetime
    refreshes = int(phase == "refresh")
    assert counts(rig) == (1, refreshes, 3 + 2 * refreshes)


@pytest.mark.parametrize("phase", ["login", "refresh"])
def test_a_token_stamped_by_a_clock_hours_behind_is_used_for_its_lifetime(
    rig: Rig, phase: Phase
) -> None:
    """R7: `exp` already past on arrival, but `exp - iat` is an hour: the token is good
    for an hour from receipt. No refresh on every request, no loop."""
    auth = rig.auth()
    fetch = prepared(rig, phase, auth)
    rig.emulator.clock_skew = -2 * 3600.0

    for _ in range(3):
        assert fetch("GET", rig.url()).status_code == 200

    token = auth.token
    assert token is not None
    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert claims["exp"] < time.time() - 3000  # expired on arrival, by the local clock
    assert 3600 - 60 < token.expires_in <= 3600
    refreshes = int(phase == "refresh")
    assert counts(rig) == (1, refreshes, 3 + 2 * refreshes)


@pytest.mark.parametrize("phase", ["login", "refresh"])
@pytest.mark.parametrize("provider", ["Fincrux", "FinHub"])
def test_a_token_expired_on_arrival_is_tried_once_and_its_401_returned(
    rig: Rig, phase: Phase
) -> None:
    """R7 never rejects a token for its claims, and R4 re-sends once: a token whose
    lifetime is negative is sent, renewed once after the 401, and that 401 returned."""
    fetch = prepared(rig, phase)
    rig.emulator.token_ttl = -60

    first, second = fetch("GET", rig.url()), fetch("GET", rig.url())

    assert (first.status_code, second.status_code) == (401, 401)
    # One re-send each (httpx's history also holds the login and refresh answers).
    resent = int(rig.resends_in_history)
    assert (first.history.count(401), second.history.count(401)) == (resent, resent)
    # The first request logs in (or sends the token the provider just expired), sends,
    # is answered 401, refreshes, sends again, 401. That refresh did not help, so the
    # second logs in (R14): login, send, 401, refresh, send, 401.
    sent_before = int(phase == "refresh")
    assert counts(rig) == (1 + 1, 2, sent_before + 4)


@pytest.mark.parametrize("phase", ["login", "refresh"])
@pytest.mark.parametrize("provider", ["Finvera"])
def test_a_finvera_cookie_expired_on_arrival_is_no_token(rig: Rig, phase: Phase) -> None:
    """Finvera's DT_AUTH_TOKEN then comes with Max-Age < 0, which deletes the cookie
    rather than setting it: an answer with no token (R8), and a failed refresh falls
    back to a login (R3), which fails the same way."""
    fetch = prepared(rig, phase)
    rig.emulator.token_ttl = -60

    with pytest.raises(ProviderResponseError) as caught:
        fetch("GET", rig.url())

    assert_reported(rig, caught.value, "login")
    assert counts(rig) == ((1, 0, 0) if phase == "login" else (2, 1, 2))


# -- R8: network faults stay the client's own exceptions -----------------------------------


def break_next(emulator: Emulator, kind: Phase, fault: str) -> None:
    if fault == "stall":
        emulator.stall_next(kind, STALL)
    elif fault == "trickle":
        emulator.trickle_next(kind, TRICKLE)
    else:
        emulator.reset_next(kind, "before" if fault == "reset-before-answer" else "midway")


@pytest.mark.parametrize("phase", ["login", "refresh"])
@pytest.mark.parametrize("fault", ["reset-before-answer", "reset-midway", "stall", "trickle"])
def test_a_network_fault_raises_the_clients_own_error_and_costs_nothing_later(
    rig: Rig, phase: Phase, fault: str
) -> None:
    """Not retried (R9 retries statuses, not network errors), not wrapped (R8), not
    fallen back from (R3): raised after one attempt. The single-flight lock is
    released, so the next request gets on (a login; after a lost refresh, whose
    refresh token the provider has spent, a failed refresh then a login). A trickled
    answer, each read in time, is cut off at the auth's timeout (R15)."""
    fetch = prepared(rig, phase, timeout=READ_TIMEOUT)  # requests: login and refresh calls
    break_next(rig.emulator, phase, fault)
    error = network_error(rig, fault)
    if error is None:
        # aiohttp sends the user's request (a GET) once more, the auth call's error being
        # its own: the renewal is made again, a refresh with a refresh token already spent
        # falling back to a login.
        assert fetch("GET", rig.url(), timeout=READ_TIMEOUT).status_code == 200
        assert counts(rig)[:2] == ((2, 0) if phase == "login" else (2, 2))
        return

    send_through(rig, fetch, phase, error, 1, timeout=READ_TIMEOUT)

    assert fetch("GET", rig.url(), timeout=READ_TIMEOUT).status_code == 200
    assert counts(rig) == ((2, 0, 1) if phase == "login" else (2, 2, 4))


def test_a_login_whose_connection_is_refused_raises_the_clients_own_error(rig: Rig) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))  # the port is ours, and nobody listens on it
        port = placeholder.getsockname()[1]
        nowhere = f"http://127.0.0.1:{port}"
        auth = rig.emulator.auth(nowhere, timeout=READ_TIMEOUT)
        rig.stack.callback(auth.close)
        fetch = rig.open(auth)

        refused = network_error(rig, "refused")
        assert refused is not None
        with pytest.raises(refused) as caught:
            fetch("GET", nowhere + rig.emulator.sample_path, timeout=READ_TIMEOUT)

    assert type(caught.value) is refused
    assert rig.emulator.calls == []


# -- R3 with everything failing, and before sending ---------------------------------------


@pytest.mark.parametrize(
    ("refresh_fault", "login_fault", "expected", "logins"),
    [
        pytest.param(
            failing(503, HTML, times=3),
            failing(503, HTML, times=3),
            ProviderResponseError,
            3,
            id="503-then-503",
        ),
        pytest.param(
            failing(500, {"message": "boom"}),
            failing(401, {"message": "wrong password"}),
            LoginError,
            1,
            id="500-then-401",
        ),
        pytest.param(
            failing(502, HTML, times=3),
            failing(429, {"message": "slow down"}, (("Retry-After", "1"),), times=3),
            RateLimitedError,
            3,
            id="502-then-429",
        ),
    ],
)
def test_a_refresh_and_its_fallback_login_both_failing_raise_the_logins_error(
    rig: Rig,
    refresh_fault: Callable[[Emulator, Phase], None],
    login_fault: Callable[[Emulator, Phase], None],
    expected: type[FinauthError],
    logins: int,
) -> None:
    """Bounded: the refresh's attempts, then the login's, then the login's error."""
    fetch = prepared(rig, "refresh")
    refresh_fault(rig.emulator, "refresh")
    login_fault(rig.emulator, "login")

    with pytest.raises(expected) as caught:
        fetch("GET", rig.url())

    assert type(caught.value) is expected
    assert_reported(rig, caught.value, "login")
    refreshes = 1 if expected is LoginError else 3
    assert counts(rig) == (1 + logins, refreshes, 2)


@pytest.mark.parametrize(
    ("fault", "outcome", "attempts"),
    [
        pytest.param(failing(503, HTML, times=3), FALLBACK, 3, id="503-persisting"),
        pytest.param(throttled(3), RateLimitedError, 3, id="429-persisting"),
        pytest.param("reset-midway", "network", 1, id="reset-midway"),
    ],
)
def test_a_proactive_refresh_that_fails_before_sending(
    rig: Rig,
    fault: Callable[[Emulator, Phase], None] | str,
    outcome: Outcome | Literal["network"],
    attempts: int,
) -> None:
    """R3 before sending (the token is within the margin): a failing refresh falls back
    to a login; when it ends in an error instead, the request is not sent at all."""
    auth = rig.auth(timeout=READ_TIMEOUT)
    fetch = rig.open(auth)
    assert fetch("GET", rig.url()).status_code == 200
    make_due(auth)  # under every provider's refresh margin
    if isinstance(fault, str):
        break_next(rig.emulator, "refresh", fault)
        error = network_error(rig, fault)
        assert error is not None, "every client raises for an answer cut midway"
        outcome = error
    else:
        fault(rig.emulator, "refresh")

    if outcome == FALLBACK:
        assert fetch("GET", rig.url(), timeout=READ_TIMEOUT).status_code == 200
        assert counts(rig) == (2, attempts, 2)
    else:
        assert not isinstance(outcome, str)
        with pytest.raises(outcome) as caught:
            fetch("GET", rig.url(), timeout=READ_TIMEOUT)
        assert type(caught.value) is outcome
        assert_reported(rig, caught.value, "refresh")
        assert counts(rig) == (1, attempts, 1)
    assert rig.emulator.denials == 0
