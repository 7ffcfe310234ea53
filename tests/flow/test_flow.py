"""TokenFlow as a sans-IO state machine: every step answered from a script, no HTTP.

The `Driver` below plays the adapter's part. It answers `Acquire` with the
flight's real thread lock (or None, a wait that ran out), `AuthCall` from a
script of `Reply`s, `Pause` by writing the seconds down (never sleeping) and
`Send` with a scripted status code, runs `Blocking` store calls, and it records every step in order.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

import jwt
import pytest
from requests.structures import CaseInsensitiveDict

from finauth import LoginError, MemoryTokenStore, ProviderResponseError, RateLimitedError
from finauth._flow import Acquire, Blocking, Pause, Send, Step, Steps, TokenFlow
from finauth._origin import Origin, origin_of, parse_base_url
from finauth._token import Token
from finauth._wire import Answer, AuthCall, Outgoing
from finauth.providers.fincrux import Fincrux

T = TypeVar("T")
S = TypeVar("S", bound=Step)

SIGNING_KEY = "a-test-signing-key-of-32-bytes-or-more!!"
BASE_URL = "https://api.fincrux.org"
API_URL = f"{BASE_URL}/api/search/RELIANCE"
LOGIN_URL = f"{BASE_URL}/api/auth/login"
REFRESH_URL = f"{BASE_URL}/api/auth/token/refresh/"
EMAIL = "analyst@example.com"
PASSWORD = "correct-horse-battery-staple"
MARGIN = 60.0
FRESH = 3600  # seconds a freshly issued access token lives
EXPIRING = 30  # inside MARGIN: such a token must be renewed before use


# --- tokens and scripted answers -------------------------------------------------------------


def make_jwt(kind: str = "access", lifetime: int = FRESH, span: int = FRESH) -> str:
    """A real HS256 JWT shaped like SimpleJWT's, unique on every call, with `lifetime`
    seconds left: one with less than `span` left was issued `span` seconds before it
    expires, a while ago (see `Pair.age`)."""
    now = int(time.time())
    claims = {
        "token_type": kind,
        "iat": now + min(lifetime, span) - span,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "user_id": 42,
    }
    return jwt.encode(claims, SIGNING_KEY, algorithm="HS256")


@dataclass(frozen=True)
class Pair:
    """An access and a refresh token, as one login or refresh hands them out."""

    access: str
    refresh: str | None
    age: int = 0
    """Seconds ago they were handed out. A token inside the margin is an old one: R14 never
    renews a token that has lived less than half its lifetime, however short."""

    @classmethod
    def issue(cls, lifetime: int = FRESH, *, refresh: bool = True, span: int = FRESH) -> Pair:
        """Tokens with `lifetime` seconds left, of a `span` lifetime when that is less."""
        refresh_token = make_jwt("refresh", 86400) if refresh else None
        access = make_jwt("access", lifetime, span)
        return cls(access, refresh_token, span - min(lifetime, span))


@dataclass(frozen=True)
class Reply:
    """A scripted answer to whatever AuthCall comes next."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    age: int = 0
    """Seconds ago it was received."""

    @classmethod
    def json(cls, status: int, data: object, *headers: tuple[str, str], age: int = 0) -> Reply:
        content = json.dumps(data).encode()
        return cls(status, content, (("Content-Type", "application/json"), *headers), age)

    def to(self, call: AuthCall) -> Answer:
        received_at = datetime.now(timezone.utc) - timedelta(seconds=self.age)
        return Answer(call, self.status, self.headers, self.body, received_at)


def login_ok(pair: Pair) -> Reply:
    body: dict[str, str] = {
        "success": "true",
        "access": pair.access,
        "full_name": "A. Analyst",
        "email": EMAIL,
        "profile_img_url": "https://cdn.fincrux.org/a.png",
    }
    if pair.refresh is not None:
        body["refresh"] = pair.refresh
    return Reply.json(200, body, age=pair.age)


def refresh_ok(pair: Pair) -> Reply:
    body = {"access": pair.access}
    if pair.refresh is not None:
        body["refresh"] = pair.refresh
    return Reply.json(200, body, age=pair.age)


def status(code: int, *headers: tuple[str, str]) -> Reply:
    return Reply.json(code, {"detail": f"HTTP {code}"}, *headers)


# --- the user's request, as the flow sees it -------------------------------------------------


class FakeRequest:
    """A minimal `Outgoing`: headers, url, origin, replayable, and a rewind counter."""

    def __init__(self, url: str = API_URL, *, replayable: bool = True) -> None:
        self.url = url
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        self.replayable = replayable
        self.rewinds = 0

    @property
    def origin(self) -> Origin | None:
        return origin_of(self.url)

    def rewind(self) -> None:
        self.rewinds += 1


# --- the driver -------------------------------------------------------------------------------


class Driver(Generic[T]):
    """Runs a flow's steps, answering each from a script and recording them all.

    `log` holds one entry per event in order: "acquire", "acquire timed out",
    "release", "login", "refresh", "pause", "send".
    """

    def __init__(
        self,
        steps: Steps[T],
        replies: Sequence[Reply] | Callable[[AuthCall], Reply] = (),
        sends: Sequence[int] = (),
        *,
        lock: bool = True,
    ) -> None:
        self.steps = steps
        if callable(replies):
            self._reply: Callable[[AuthCall], Reply] = replies
        else:
            scripted: Iterator[Reply] = iter(list(replies))

            def reply(call: AuthCall) -> Reply:
                nxt = next(scripted, None)
                assert nxt is not None, f"unexpected {call!r}: the script has run out"
                return nxt

            self._reply = reply
        self._sends = list(sends)
        self._lock = lock
        self.log: list[str] = []
        self.calls: list[AuthCall] = []
        self.pauses: list[float] = []
        self.sent: list[str | None] = []  # the Authorization header at each Send
        self.acquires: list[Acquire] = []
        self.pending: Step | None = None
        self.started = False
        self.done = False
        self._result: T | None = None

    # running

    def step(self) -> None:
        """Answer the pending step (or start), and take the next one."""
        assert not self.done, "the flow has already ended"
        if not self.started:
            self.started = True
            reply: object = None
        else:
            assert self.pending is not None
            reply = self._answer(self.pending)
        try:
            self.pending = self.steps.send(reply)
        except StopIteration as stop:
            self.done = True
            self.pending = None
            self._result = stop.value

    def until(self, kind: type[S]) -> S:
        """Run until the flow yields a step of `kind`, left unanswered."""
        while True:
            if self.started and isinstance(self.pending, kind):
                return self.pending
            assert not self.done, f"the flow ended without yielding a {kind.__name__}"
            self.step()

    def finish(self) -> T:
        while not self.done:
            self.step()
        return self._result  # type: ignore[return-value]

    # answering

    def _answer(self, step: Step) -> object:
        if isinstance(step, Acquire):
            return self._acquire(step)
        if isinstance(step, AuthCall):
            self.log.append(step.purpose)
            self.calls.append(step)
            return self._reply(step).to(step)
        if isinstance(step, Pause):
            self.log.append("pause")
            self.pauses.append(step.seconds)
            return None
        if isinstance(step, Blocking):
            return step.call()
        self.log.append("send")
        self.sent.append(step.request.headers.get("Authorization"))
        return self._sends.pop(0) if self._sends else 200

    def _acquire(self, step: Acquire) -> Callable[[], None] | None:
        self.acquires.append(step)
        if not self._lock:
            self.log.append("acquire timed out")
            return None
        lock = step.flight.thread_lock
        assert lock.acquire(blocking=False), "the flight's lock is held by another flow"
        self.log.append("acquire")

        def release() -> None:
            self.log.append("release")
            lock.release()

        return release

    # reading

    @property
    def purposes(self) -> list[str]:
        return [call.purpose for call in self.calls]


def run(
    steps: Steps[T],
    replies: Sequence[Reply] | Callable[[AuthCall], Reply] = (),
    sends: Sequence[int] = (),
    *,
    lock: bool = True,
) -> Driver[T]:
    driver = Driver(steps, replies, sends, lock=lock)
    driver.finish()
    return driver


def jwt_header(pair: Pair) -> str:
    return f"JWT {pair.access}"


def body_of(call: AuthCall) -> object:
    return json.loads(call.body)


# --- fixtures ---------------------------------------------------------------------------------


def make_provider(base_url: str = BASE_URL) -> Fincrux:
    return Fincrux(
        EMAIL, PASSWORD, parse_base_url(base_url, provider="Fincrux", allow_insecure=False)
    )


def make_flow(store: MemoryTokenStore, provider: Fincrux | None = None) -> TokenFlow:
    return TokenFlow(provider or make_provider(), store, refresh_margin=MARGIN, timeout=5.0)


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()


@pytest.fixture
def flow(store: MemoryTokenStore) -> TokenFlow:
    return make_flow(store)


def logged_in(flow: TokenFlow, pair: Pair) -> None:
    """Bring `flow` to holding `pair`, through a request like any other."""
    driver = run(flow.authenticate(FakeRequest()), [login_ok(pair)])
    assert driver.purposes == ["login"]
    assert driver.sent == [jwt_header(pair)]


def flight_lock(flow: TokenFlow) -> threading.Lock:
    """The thread lock of `flow`'s flight, as its Acquire steps hand it out."""
    driver = Driver(flow.login(), [])
    lock = driver.until(Acquire).flight.thread_lock
    driver.steps.close()
    return lock


# --- R1 origin scoping ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/api/search/RELIANCE",
        "http://api.fincrux.org/api/search/RELIANCE",
        "https://api.fincrux.org:8443/api/search/RELIANCE",
        "https://api.fincrux.org.evil.example/api/search/RELIANCE",
        "https://sub.api.fincrux.org/api/search/RELIANCE",
    ],
)
def test_r1_another_origin_is_left_untouched(
    flow: TokenFlow, store: MemoryTokenStore, url: str
) -> None:
    """The request is sent once as it is, even when answered 401: no lock, no call, no header.

    (The flow yields that one Send so that adapters, httpx's above all, always
    have the request to send.)
    """
    request = FakeRequest(url)
    request.headers["Authorization"] = "Basic dXNlcjpwYXNz"
    driver = run(flow.authenticate(request), [], sends=[401])
    assert driver.log == ["send"]
    assert driver.sent == ["Basic dXNlcjpwYXNz"]
    assert dict(request.headers) == {"Authorization": "Basic dXNlcjpwYXNz"}
    assert request.rewinds == 0
    assert flow.token is None
    assert store.get(flow.key) is None


@pytest.mark.parametrize(
    "url",
    ["https://API.Fincrux.org/api/x", "https://api.fincrux.org:443/api/x"],
)
def test_r1_same_origin_spelled_differently_is_ours(flow: TokenFlow, url: str) -> None:
    pair = Pair.issue()
    driver = run(flow.authenticate(FakeRequest(url)), [login_ok(pair)])
    assert driver.purposes == ["login"]
    assert driver.sent == [jwt_header(pair)]


def test_r1_a_path_in_base_url_prefixes_endpoints_but_not_the_origin(
    store: MemoryTokenStore,
) -> None:
    flow = make_flow(store, make_provider("https://api.fincrux.org/v2/"))
    pair = Pair.issue()
    driver = run(flow.authenticate(FakeRequest("https://api.fincrux.org/other")), [login_ok(pair)])
    assert [call.url for call in driver.calls] == ["https://api.fincrux.org/v2/api/auth/login"]
    assert driver.sent == [jwt_header(pair)]


# --- R2 lazy login ----------------------------------------------------------------------------


def test_r2_first_request_logs_in_then_sends_with_the_token(
    flow: TokenFlow, store: MemoryTokenStore
) -> None:
    pair = Pair.issue()
    request = FakeRequest()
    driver = run(flow.authenticate(request), [login_ok(pair)])

    assert driver.log == ["acquire", "login", "release", "send"]
    (call,) = driver.calls
    assert (call.method, call.url) == ("POST", LOGIN_URL)
    assert body_of(call) == {"email": EMAIL, "password": PASSWORD}
    assert call.headers["Content-Type"] == "application/json"
    assert driver.sent == [f"JWT {pair.access}"]
    assert request.headers["Authorization"] == f"JWT {pair.access}"
    stored = store.get(flow.key)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == (pair.access, pair.refresh)
    assert request.rewinds == 0


def test_r2_second_request_uses_the_cached_token_without_lock_or_call(flow: TokenFlow) -> None:
    pair = Pair.issue()
    logged_in(flow, pair)

    driver = run(flow.authenticate(FakeRequest()), [])
    assert driver.log == ["send"]
    assert driver.acquires == []
    assert driver.sent == [jwt_header(pair)]


def test_r2_a_new_flow_on_a_shared_store_uses_the_stored_token(store: MemoryTokenStore) -> None:
    pair = Pair.issue()
    logged_in(make_flow(store), pair)

    driver = run(make_flow(store).authenticate(FakeRequest()), [])
    assert driver.calls == []
    assert driver.sent == [jwt_header(pair)]


def test_the_cached_token_comes_with_its_header_lines_written_down_once(flow: TokenFlow) -> None:
    """The common case of an adapter with no view of its request (requests): the lines
    `apply` writes, asked for once per token, not once per request."""
    first = Pair.issue()
    logged_in(flow, first)

    known = flow.cached_headers(API_URL)
    assert known is not None
    assert (known.token, known.lines) == (flow.token, (("Authorization", jwt_header(first)),))
    assert flow.cached_headers(API_URL) is known

    second = Pair.issue()
    run(flow.login(), [login_ok(second)])
    renewed = flow.cached_headers(API_URL)
    assert renewed is not None
    assert renewed.lines == (("Authorization", jwt_header(second)),)


def test_the_written_down_lines_are_set_on_the_request(flow: TokenFlow) -> None:
    headers = {"Accept": "application/json"}
    assert flow.attach_written_down(API_URL, headers) is None  # no token yet
    assert headers == {"Accept": "application/json"}

    pair = Pair.issue()
    logged_in(flow, pair)
    assert flow.attach_written_down("https://example.com/x", headers) is None  # R1
    assert headers == {"Accept": "application/json"}
    assert flow.attach_written_down(API_URL, headers) == flow.token
    assert headers == {"Accept": "application/json", "Authorization": jwt_header(pair)}


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/api/search/RELIANCE",
        "https://api.fincrux.org:8443/x",
        "/x",
        # the provider's origin with no slash after it: not its authority
        "https://api.fincrux.org.evil.example/x",
        "https://api.fincrux.org@evil.example/x",
        "https://api.fincrux.org:443@evil.example/x",
        "https://api.fincrux.org\\@evil.example/x",
        "http://api.fincrux.org/x",
    ],
)
def test_r1_no_header_lines_for_another_origin(flow: TokenFlow, url: str) -> None:
    logged_in(flow, Pair.issue())

    assert flow.cached_headers(url) is None


@pytest.mark.parametrize(
    "url",
    ["https://API.Fincrux.org/x", "https://api.fincrux.org:443/x", "https://api.fincrux.org?q=1"],
)
def test_header_lines_for_the_origin_however_it_is_written(flow: TokenFlow, url: str) -> None:
    """The origin's own URL and a slash is the common case, not the only one."""
    logged_in(flow, Pair.issue())

    assert flow.cached_headers(url) is not None


def test_no_header_lines_without_a_token_or_for_one_due(store: MemoryTokenStore) -> None:
    """Those ask for a flow: a login, or a refresh first (R2, R3)."""
    flow = make_flow(store)
    assert flow.cached_headers(API_URL) is None

    logged_in(flow, Pair.issue(EXPIRING))
    assert flow.cached_headers(API_URL) is None


def test_r18_no_header_lines_once_auth_answers_set_cookies(flow: TokenFlow) -> None:
    """A jar may send those on (R18): the request goes to `attached`, which takes them out."""
    login = login_ok(Pair.issue())
    sets = (("Set-Cookie", "sessionid=s3ss10n; HttpOnly; Path=/"),)
    run(flow.authenticate(FakeRequest()), [Reply(200, login.body, login.headers + sets)])

    assert flow.cached_headers(API_URL) is None
    assert flow.attached(FakeRequest()) == flow.token


def test_a_twin_has_header_lines_of_its_own(flow: TokenFlow) -> None:
    """A twin sends the same token another way: never in the lines of its sibling."""
    pair = Pair.issue()
    logged_in(flow, pair)
    assert flow.cached_headers(API_URL) is not None

    class Bearer(Fincrux):
        def apply(self, request: Outgoing, token: Token) -> None:
            request.headers["Authorization"] = f"Bearer {token.access_token}"

    twin = flow.twin(Bearer(EMAIL, PASSWORD, flow.provider.base))
    known = twin.cached_headers(API_URL)
    assert known is not None
    assert known.lines == (("Authorization", f"Bearer {pair.access}"),)


# --- R3 proactive refresh ---------------------------------------------------------------------


def test_r3_expiring_token_is_refreshed_before_sending(
    flow: TokenFlow, store: MemoryTokenStore
) -> None:
    first = Pair.issue(EXPIRING)
    logged_in(flow, first)
    second = Pair.issue()

    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(second)])

    assert driver.log == ["acquire", "refresh", "release", "send"]
    (call,) = driver.calls
    assert (call.method, call.url) == ("POST", REFRESH_URL)
    assert body_of(call) == {"refresh": first.refresh}
    assert driver.sent == [jwt_header(second)]
    stored = store.get(flow.key)
    assert stored is not None
    assert (stored.access_token, stored.refresh_token) == (second.access, second.refresh)


def test_r3_refresh_without_a_rotated_refresh_token_keeps_the_old_one(
    flow: TokenFlow, store: MemoryTokenStore
) -> None:
    first = Pair.issue(EXPIRING)
    logged_in(flow, first)
    second = Pair.issue(EXPIRING, refresh=False)
    third = Pair.issue()

    run(flow.authenticate(FakeRequest()), [refresh_ok(second)])
    stored = store.get(flow.key)
    assert stored is not None
    assert stored.refresh_token == first.refresh

    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(third)])
    assert [body_of(call) for call in driver.calls] == [{"refresh": first.refresh}]


def test_r3_a_rotated_refresh_token_is_used_next_time(flow: TokenFlow) -> None:
    logged_in(flow, Pair.issue(EXPIRING))
    rotated = Pair.issue(EXPIRING)
    run(flow.authenticate(FakeRequest()), [refresh_ok(rotated)])

    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(Pair.issue())])
    assert [body_of(call) for call in driver.calls] == [{"refresh": rotated.refresh}]


def test_r3_a_stored_token_within_the_margin_is_refreshed_by_a_new_flow(
    store: MemoryTokenStore,
) -> None:
    """A token another auth (or process) left in a shared store is renewed when expiring.

    R3 is about the token, not about who fetched it: a fresh auth object on a store
    whose token expires within `refresh_margin` must not send it as it is.
    """
    first = Pair.issue(EXPIRING)
    logged_in(make_flow(store), first)
    second = Pair.issue()

    driver = run(make_flow(store).authenticate(FakeRequest()), [refresh_ok(second)])

    assert driver.purposes == ["refresh"]
    assert driver.sent == [jwt_header(second)]


def test_r3_an_expired_token_in_the_store_is_refreshed(store: MemoryTokenStore) -> None:
    first = Pair.issue(-10)
    logged_in(make_flow(store), first)
    second = Pair.issue()

    driver = run(make_flow(store).authenticate(FakeRequest()), [refresh_ok(second)])

    assert driver.purposes == ["refresh"]
    assert body_of(driver.calls[0]) == {"refresh": first.refresh}
    assert driver.sent == [jwt_header(second)]


REFRESH_FAILURES: dict[str, list[Reply]] = {
    "400": [status(400)],
    "401": [Reply.json(401, {"detail": "Token is invalid or expired", "code": "token_not_valid"})],
    "403": [status(403)],
    "500": [status(500)],
    "502x3": [status(502)] * 3,
    "200 html": [
        Reply(200, b"<html><body>Maintenance</body></html>", (("Content-Type", "text/html"),))
    ],
    "200 without access": [Reply.json(200, {"refresh": make_jwt("refresh")})],
    "200 null access": [Reply.json(200, {"access": None})],
    "200 json list": [Reply.json(200, [make_jwt()])],
}


@pytest.mark.parametrize("failure", REFRESH_FAILURES.values(), ids=REFRESH_FAILURES.keys())
def test_r3_any_refresh_failure_falls_back_to_login(
    flow: TokenFlow, store: MemoryTokenStore, failure: list[Reply]
) -> None:
    logged_in(flow, Pair.issue(EXPIRING))
    fresh = Pair.issue()

    driver = run(flow.authenticate(FakeRequest()), [*failure, login_ok(fresh)])

    assert driver.purposes == ["refresh"] * len(failure) + ["login"]
    assert driver.sent == [jwt_header(fresh)]
    assert driver.log.count("acquire") == 1
    assert driver.log[-2:] == ["release", "send"]
    stored = store.get(flow.key)
    assert stored is not None
    assert stored.access_token == fresh.access


def test_r3_without_a_refresh_token_goes_straight_to_login(flow: TokenFlow) -> None:
    logged_in(flow, Pair.issue(EXPIRING, refresh=False))
    token = flow.token
    assert token is not None
    assert token.refresh_token is None
    fresh = Pair.issue()

    driver = run(flow.authenticate(FakeRequest()), [login_ok(fresh)])

    assert driver.log == ["acquire", "login", "release", "send"]
    assert driver.sent == [jwt_header(fresh)]


def test_r3_a_refresh_rate_limited_past_retries_raises_without_login(
    flow: TokenFlow,
) -> None:
    first = Pair.issue(EXPIRING)
    logged_in(flow, first)
    limited = status(429, ("Retry-After", "12"))

    driver = Driver(flow.authenticate(FakeRequest()), [limited] * 3)
    with pytest.raises(RateLimitedError) as caught:
        driver.finish()

    assert driver.purposes == ["refresh"] * 3
    assert driver.sent == []
    assert caught.value.retry_after == 12
    assert caught.value.provider == "Fincrux"
    assert caught.value.endpoint == f"POST {REFRESH_URL}"
    assert driver.log[-1] == "release"
    token = flow.token
    assert token is not None
    assert token.access_token == first.access


def test_r3_a_rejected_login_raises_login_error(flow: TokenFlow) -> None:
    rejected = Reply.json(
        401, {"detail": f"No active account found for {EMAIL} with password {PASSWORD}"}
    )
    driver = Driver(flow.authenticate(FakeRequest()), [rejected])
    with pytest.raises(LoginError) as caught:
        driver.finish()

    error = caught.value
    assert error.provider == "Fincrux"
    assert error.endpoint == f"POST {LOGIN_URL}"
    assert error.status_code == 401
    assert error.provider_message is not None
    assert error.provider_message.startswith("No active account found")
    assert "Fincrux" in str(error)
    assert LOGIN_URL in str(error)
    assert PASSWORD not in str(error)
    assert PASSWORD not in error.provider_message
    assert driver.sent == []
    assert flow.token is None


@pytest.mark.parametrize("code", [400, 403])
def test_r3_login_answered_4xx_is_a_login_error(flow: TokenFlow, code: int) -> None:
    with pytest.raises(LoginError) as caught:
        run(flow.authenticate(FakeRequest()), [status(code)])
    assert caught.value.status_code == code


@pytest.mark.parametrize("success", ["false", False, None, "yes"])
def test_r3_login_whose_success_is_not_true_is_a_login_error(
    flow: TokenFlow, success: object
) -> None:
    body = {"success": success, "access": make_jwt(), "refresh": make_jwt("refresh")}
    with pytest.raises(LoginError) as caught:
        run(flow.authenticate(FakeRequest()), [Reply.json(200, body)])
    assert caught.value.status_code == 200
    assert flow.token is None


def test_r3_login_success_may_be_json_true(flow: TokenFlow) -> None:
    pair = Pair.issue()
    body = {"success": True, "access": pair.access, "refresh": pair.refresh}
    driver = run(flow.authenticate(FakeRequest()), [Reply.json(200, body)])
    assert driver.sent == [jwt_header(pair)]


# --- R4 retry once on 401 ---------------------------------------------------------------------


def test_r4_a_401_renews_rewinds_and_sends_once_more(flow: TokenFlow) -> None:
    first = Pair.issue()
    logged_in(flow, first)
    second = Pair.issue()
    request = FakeRequest()

    driver = run(flow.authenticate(request), [refresh_ok(second)], sends=[401, 200])

    assert driver.log == ["send", "acquire", "refresh", "release", "send"]
    assert body_of(driver.calls[0]) == {"refresh": first.refresh}
    assert driver.sent == [jwt_header(first), jwt_header(second)]
    assert request.rewinds == 1
    assert request.headers["Authorization"] == jwt_header(second)
    # and the renewed token is what the next request uses, from the cache
    assert run(flow.authenticate(FakeRequest())).sent == [jwt_header(second)]


def test_r4_a_401_with_a_failing_refresh_logs_in_and_sends_once_more(flow: TokenFlow) -> None:
    first = Pair.issue()
    logged_in(flow, first)
    fresh = Pair.issue()

    driver = run(flow.authenticate(FakeRequest()), [status(401), login_ok(fresh)], sends=[401])

    assert driver.purposes == ["refresh", "login"]
    assert driver.sent == [jwt_header(first), jwt_header(fresh)]


def test_r4_a_401_on_the_resend_ends_the_flow(flow: TokenFlow) -> None:
    logged_in(flow, Pair.issue())
    request = FakeRequest()

    driver = run(flow.authenticate(request), [refresh_ok(Pair.issue())], sends=[401, 401])

    assert driver.done
    assert len(driver.sent) == 2
    assert driver.purposes == ["refresh"]
    assert request.rewinds == 1


def test_r4_a_403_is_never_retried(flow: TokenFlow) -> None:
    first = Pair.issue()
    logged_in(flow, first)
    request = FakeRequest()

    driver = run(flow.authenticate(request), [], sends=[403])

    assert driver.log == ["send"]
    assert request.rewinds == 0
    token = flow.token
    assert token is not None
    assert token.access_token == first.access


def test_r4_a_newer_token_in_the_shared_store_is_resent_without_a_call(
    store: MemoryTokenStore,
) -> None:
    first, newer = Pair.issue(), Pair.issue()
    flow = make_flow(store)
    logged_in(flow, first)
    request = FakeRequest()

    driver = Driver(flow.authenticate(request), [], sends=[401])
    assert isinstance(driver.until(Send), Send)
    assert request.headers["Authorization"] == jwt_header(first)

    # Meanwhile another auth object with the same store and account logs in.
    other = run(make_flow(store).login(), [login_ok(newer)])
    assert other.purposes == ["login"]

    driver.finish()
    assert driver.calls == []
    assert driver.sent == [jwt_header(first), jwt_header(newer)]
    assert request.rewinds == 1


# --- R4 with v2's R14 and R6: renewals that help -------------------------------------------


def short_lived(lifetime: float) -> Pair:
    """Tokens issued now that live `lifetime` seconds: shorter than the margin, perhaps."""
    now = time.time()
    claims = {"token_type": "access", "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex}
    return Pair(jwt.encode(claims, SIGNING_KEY, algorithm="HS256"), make_jwt("refresh", 86400))


def test_r14_a_refresh_the_api_refuses_makes_the_next_renewal_a_login(flow: TokenFlow) -> None:
    """SimpleJWT with CHECK_REVOKE_TOKEN refreshes tokens its API refuses: one request meets
    401, refresh, 401; the next logs in rather than refreshing again."""
    logged_in(flow, Pair.issue())
    run(flow.authenticate(FakeRequest()), [refresh_ok(Pair.issue())], sends=[401, 401])

    fresh = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [login_ok(fresh)])

    assert driver.purposes == ["login"]
    assert driver.sent == [jwt_header(fresh)]


def test_r14_a_login_refused_on_the_resend_is_renewed_by_refresh(flow: TokenFlow) -> None:
    """Only a refresh that did not help spends the refresh token; the next request still
    renews first, since the token was refused."""
    logged_in(flow, Pair.issue())
    run(flow.authenticate(FakeRequest()), [status(401), login_ok(Pair.issue())], sends=[401, 401])

    fresh = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(fresh)])

    assert driver.purposes == ["refresh"]
    assert driver.sent == [jwt_header(fresh)]


def test_r14_a_token_shorter_than_the_margin_serves_half_its_life(flow: TokenFlow) -> None:
    short = short_lived(1.0)  # far less than MARGIN
    logged_in(flow, short)

    driver = run(flow.authenticate(FakeRequest()), [])
    assert driver.log == ["send"]  # not renewed for every request
    assert driver.sent == [jwt_header(short)]

    time.sleep(0.6)  # past half its life
    fresh = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(fresh)])
    assert driver.purposes == ["refresh"]
    assert driver.sent == [jwt_header(fresh)]


def test_r4_a_token_renewed_before_the_401_and_already_due_is_not_resent(
    store: MemoryTokenStore,
) -> None:
    """Another caller renewed while the request was out, but that token is due by the time
    the 401 comes back (the round trip outlived it): renewed, not re-sent to meet a 401."""
    first = Pair.issue(4200, span=7200)  # obtained 3000 s ago
    flow = make_flow(store)
    logged_in(flow, first)
    fresh = Pair.issue()
    driver = Driver(flow.authenticate(FakeRequest()), [refresh_ok(fresh)], sends=[401])
    driver.until(Send)

    newer = Pair.issue(EXPIRING, span=2980)  # obtained 2950 s ago, due already
    run(make_flow(store).login(), [login_ok(newer)])
    driver.finish()

    assert driver.purposes == ["refresh"]
    assert driver.sent == [jwt_header(first), jwt_header(fresh)]


def test_r6_a_waiter_waits_as_long_as_a_whole_renewal_may_take(flow: TokenFlow) -> None:
    """Not the auth's timeout alone: waiters that gave up with the holder's own auth call
    would all renew at once when it failed."""
    driver = Driver(flow.login(), [])
    acquire = driver.until(Acquire)
    driver.steps.close()

    worst = 2 * (3 * 5.0 + 2 * 30.0)  # refresh and login, 3 attempts of 5 s, 2 backoffs
    assert acquire.timeout >= worst


def test_r18_cookies_that_auth_answers_set_never_ride_on_requests(flow: TokenFlow) -> None:
    """A client's jar keeps them (httpx): a server's sessionid would switch it to session
    authentication, and its writes to 403 without a CSRF token."""
    request = FakeRequest()
    request.headers["Cookie"] = "sessionid=s3ss10n; theme=dark; csrftoken=c5rf"
    sets = (("Set-Cookie", "sessionid=s3ss10n; HttpOnly; Path=/"), ("Set-Cookie", "csrftoken=c5rf"))
    login = login_ok(Pair.issue())

    run(flow.authenticate(request), [Reply(200, login.body, login.headers + sets)])
    assert request.headers["Cookie"] == "theme=dark"

    again = FakeRequest()
    again.headers["Cookie"] = "csrftoken=c5rf; sessionid=another"  # the latter is the user's
    run(flow.authenticate(again), [])
    assert again.headers["Cookie"] == "sessionid=another"


def test_r16_a_stored_token_the_provider_cannot_send_is_a_miss(
    store: MemoryTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A tampered store entry: logged in afresh, never put in a header the client refuses
    with the token in its error."""
    flow = make_flow(store)
    logged_in(flow, Pair.issue())
    token = flow.token
    assert token is not None
    store.set(flow.key, Token("eyJ.a\r\nX-Injected: 1", None, token.expires_at, token.obtained_at))
    other = make_flow(store)  # another process: nothing in memory

    assert other.token is None
    fresh = Pair.issue()
    with caplog.at_level(logging.WARNING, logger="finauth"):
        driver = run(other.authenticate(FakeRequest()), [login_ok(fresh)])

    assert driver.purposes == ["login"]
    assert driver.sent == [jwt_header(fresh)]
    assert any("cannot be sent" in record.getMessage() for record in caplog.records)


def test_the_slow_store_key_is_derived_in_a_blocking_step(store: MemoryTokenStore) -> None:
    """The key's derivation takes tens of milliseconds on purpose: an event loop runs
    blocking steps in a worker thread, so it never waits for it."""
    flow = make_flow(store)
    driver = Driver(flow.authenticate(FakeRequest()), [login_ok(Pair.issue())])

    first = driver.until(Blocking)

    assert "key" not in vars(flow)
    first.call()
    assert "key" in vars(flow)
    driver.finish()


# --- R5 replayable bodies only ----------------------------------------------------------------


def test_r5_an_unreplayable_request_is_not_resent(flow: TokenFlow) -> None:
    first = Pair.issue()
    logged_in(flow, first)
    request = FakeRequest(replayable=False)

    driver = run(flow.authenticate(request), [], sends=[401])

    assert driver.log == ["send", "acquire", "release"]
    assert driver.calls == []
    assert request.rewinds == 0
    spent = flow.token
    assert spent is not None
    assert spent.access_token == first.access
    assert spent.is_expired()  # refused: the next request renews it first (R4)

    second = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(second)])

    assert driver.purposes == ["refresh"]
    assert driver.sent == [jwt_header(second)]


def test_r5_a_token_renewed_meanwhile_is_not_spent(flow: TokenFlow) -> None:
    """Refused on a one-shot request, but renewed by someone else before the lock was ours."""
    first, newer = Pair.issue(), Pair.issue()
    logged_in(flow, first)
    driver = Driver(flow.authenticate(FakeRequest(replayable=False)), sends=[401])
    driver.until(Send)
    run(flow.login(), [login_ok(newer)])  # someone else, meanwhile

    driver.finish()

    assert driver.calls == []
    token = flow.token
    assert token is not None
    assert (token.access_token, token.is_expired()) == (newer.access, False)


# --- R6 single flight -------------------------------------------------------------------------


def test_r6_flows_sharing_a_store_share_one_flight(store: MemoryTokenStore) -> None:
    a = Driver(make_flow(store).login())
    b = Driver(make_flow(store).login())
    c = Driver(make_flow(MemoryTokenStore()).login())
    flight = a.until(Acquire).flight
    assert b.until(Acquire).flight is flight
    assert c.until(Acquire).flight is not flight
    for driver in (a, b, c):
        driver.steps.close()


def test_r6_a_waiter_that_gets_the_lock_after_a_login_makes_no_call(
    store: MemoryTokenStore,
) -> None:
    pair = Pair.issue()
    a = Driver(make_flow(store).authenticate(FakeRequest()), [login_ok(pair)])
    b = Driver(make_flow(store).authenticate(FakeRequest()), [])

    a.until(AuthCall)  # a holds the lock and is logging in
    lock = b.until(Acquire).flight.thread_lock
    assert lock.locked()

    a.until(Send)  # a's login is done and its lock released
    assert not lock.locked()
    b.finish()
    a.finish()

    assert a.purposes == ["login"]
    assert b.calls == []
    assert b.log == ["acquire", "release", "send"]
    assert a.sent == b.sent == [jwt_header(pair)]


def test_r6_a_waiter_that_gets_the_lock_after_a_refresh_makes_no_call(
    store: MemoryTokenStore,
) -> None:
    first = Pair.issue(EXPIRING)
    flow_a, flow_b = make_flow(store), make_flow(store)
    logged_in(flow_a, first)
    token = flow_b.token  # b reads it from the store: both now hold `first`, expiring
    assert token is not None
    assert token.access_token == first.access
    second = Pair.issue()
    a = Driver(flow_a.authenticate(FakeRequest()), [refresh_ok(second)])
    b = Driver(flow_b.authenticate(FakeRequest()), [])

    a.until(AuthCall)
    b.until(Acquire)
    a.finish()
    b.finish()

    assert a.purposes == ["refresh"]
    assert b.calls == []
    assert a.sent == b.sent == [jwt_header(second)]


def test_r6_a_wait_that_runs_out_warns_and_logs_in_anyway(
    flow: TokenFlow, caplog: pytest.LogCaptureFixture
) -> None:
    lock = flight_lock(flow)
    assert lock.acquire(blocking=False)  # someone else is renewing, and takes too long
    try:
        pair = Pair.issue()
        with caplog.at_level(logging.WARNING, logger="finauth"):
            driver = run(flow.authenticate(FakeRequest()), [login_ok(pair)], lock=False)
        assert driver.log == ["acquire timed out", "login", "send"]
        assert driver.sent == [jwt_header(pair)]
        assert lock.locked(), "the flow released a lock it never took"
    finally:
        lock.release()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].name == "finauth"
    assert "Fincrux" in warnings[0].getMessage()


def test_r6_the_lock_is_released_after_a_renewal(flow: TokenFlow) -> None:
    lock = flight_lock(flow)
    driver = Driver(flow.authenticate(FakeRequest()), [login_ok(Pair.issue())])
    driver.until(AuthCall)
    assert lock.locked()
    driver.until(Send)
    assert not lock.locked()
    driver.finish()
    assert not lock.locked()


def test_r6_the_lock_is_released_after_a_login_error(flow: TokenFlow) -> None:
    lock = flight_lock(flow)
    driver = Driver(flow.authenticate(FakeRequest()), [status(401)])
    with pytest.raises(LoginError):
        driver.finish()
    assert not lock.locked()
    assert driver.log[-1] == "release"


def test_r6_the_lock_is_released_after_a_rate_limit(flow: TokenFlow) -> None:
    lock = flight_lock(flow)
    driver = Driver(flow.login(), [status(429)] * 3)
    with pytest.raises(RateLimitedError):
        driver.finish()
    assert not lock.locked()


def test_r6_the_lock_is_released_when_the_flow_is_closed_mid_login(flow: TokenFlow) -> None:
    lock = flight_lock(flow)
    driver = Driver(flow.authenticate(FakeRequest()), [])
    call = driver.until(AuthCall)
    assert call.purpose == "login"
    assert lock.locked()

    driver.steps.close()

    assert not lock.locked()
    assert driver.log == ["acquire", "release"]
    assert flow.token is None


def test_r6_the_lock_is_released_when_the_flow_is_closed_mid_backoff(flow: TokenFlow) -> None:
    logged_in(flow, Pair.issue(EXPIRING))
    lock = flight_lock(flow)
    driver = Driver(flow.authenticate(FakeRequest()), [status(503)])
    driver.until(Pause)
    assert lock.locked()

    driver.steps.close()

    assert not lock.locked()


# --- R9 resilient auth calls ------------------------------------------------------------------


def test_r9_login_answered_503_twice_then_200_pauses_twice(
    flow: TokenFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("finauth._retry.BASE_DELAY", 0.5)
    pair = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [status(503), status(503), login_ok(pair)])

    assert driver.log == ["acquire", "login", "pause", "login", "pause", "login", "release", "send"]
    first, second = driver.pauses
    assert 0 <= first <= 0.5  # full jitter over BASE_DELAY, then twice that
    assert 0 <= second <= 1.0
    assert driver.sent == [jwt_header(pair)]


@pytest.mark.parametrize("code", [429, 502, 503, 504])
def test_r9_each_retryable_status_is_retried(flow: TokenFlow, code: int) -> None:
    pair = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [status(code), login_ok(pair)])
    assert driver.purposes == ["login", "login"]
    assert len(driver.pauses) == 1
    assert driver.sent == [jwt_header(pair)]


def test_r9_a_refresh_is_retried_too(flow: TokenFlow) -> None:
    logged_in(flow, Pair.issue(EXPIRING))
    second = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [status(502), refresh_ok(second)])
    assert driver.purposes == ["refresh", "refresh"]
    assert len(driver.pauses) == 1
    assert driver.sent == [jwt_header(second)]


def test_r9_retry_after_lengthens_the_pause(flow: TokenFlow) -> None:
    driver = run(
        flow.authenticate(FakeRequest()),
        [status(503, ("Retry-After", "7")), login_ok(Pair.issue())],
    )
    assert driver.pauses == [7.0]


def test_r9_retry_after_as_an_http_date(flow: TokenFlow) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 20))
    driver = run(
        flow.authenticate(FakeRequest()),
        [status(503, ("Retry-After", when)), login_ok(Pair.issue())],
    )
    (pause,) = driver.pauses
    assert 17 <= pause <= 20


def test_r9_a_pause_is_capped_at_30_seconds(flow: TokenFlow) -> None:
    driver = run(
        flow.authenticate(FakeRequest()),
        [status(429, ("Retry-After", "100")), login_ok(Pair.issue())],
    )
    assert driver.pauses == [30.0]


def test_r9_backoff_grows_with_the_attempt(
    flow: TokenFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("finauth._retry.BASE_DELAY", 0.5)
    monkeypatch.setattr("finauth._retry.random.uniform", lambda low, high: high)
    driver = run(flow.login(), [status(504), status(504), login_ok(Pair.issue())])
    assert driver.pauses == [0.5, 1.0]


def test_r9_429_on_every_attempt_raises_rate_limited(flow: TokenFlow) -> None:
    driver = Driver(flow.authenticate(FakeRequest()), [status(429, ("Retry-After", "9"))] * 3)
    with pytest.raises(RateLimitedError) as caught:
        driver.finish()
    assert driver.purposes == ["login"] * 3
    assert len(driver.pauses) == 2
    assert driver.sent == []
    assert caught.value.retry_after == 9
    assert caught.value.provider == "Fincrux"
    assert caught.value.endpoint == f"POST {LOGIN_URL}"


def test_r9_429_without_retry_after_has_none(flow: TokenFlow) -> None:
    with pytest.raises(RateLimitedError) as caught:
        run(flow.login(), [status(429)] * 3)
    assert caught.value.retry_after is None


def test_r9_503_on_every_attempt_is_a_provider_response_error(flow: TokenFlow) -> None:
    driver = Driver(flow.login(), [status(503)] * 3)
    with pytest.raises(ProviderResponseError) as caught:
        driver.finish()
    assert driver.purposes == ["login"] * 3
    assert caught.value.status_code == 503


def test_r9_500_is_not_retried(flow: TokenFlow) -> None:
    driver = Driver(flow.authenticate(FakeRequest()), [status(500)])
    with pytest.raises(ProviderResponseError) as caught:
        driver.finish()
    assert driver.purposes == ["login"]
    assert driver.pauses == []
    assert caught.value.status_code == 500
    assert caught.value.provider == "Fincrux"
    assert caught.value.endpoint == f"POST {LOGIN_URL}"


@pytest.mark.parametrize("code", [429, 503])
def test_r9_the_users_own_request_is_never_retried(flow: TokenFlow, code: int) -> None:
    logged_in(flow, Pair.issue())
    request = FakeRequest()
    driver = run(flow.authenticate(request), [], sends=[code])
    assert driver.log == ["send"]
    assert request.rewinds == 0


# --- login(), invalidate(), token -------------------------------------------------------------


def test_login_forces_a_login_over_a_valid_cached_token(
    flow: TokenFlow, store: MemoryTokenStore
) -> None:
    first = Pair.issue()
    logged_in(flow, first)
    second = Pair.issue()

    driver = Driver(flow.login(), [login_ok(second)])
    token = driver.finish()

    assert driver.log == ["acquire", "login", "release"]
    assert isinstance(token, Token)
    assert token.access_token == second.access
    assert store.get(flow.key) == token
    assert flow.token == token
    assert run(flow.authenticate(FakeRequest())).sent == [jwt_header(second)]


def test_invalidate_empties_the_store_and_the_next_request_logs_in(
    flow: TokenFlow, store: MemoryTokenStore
) -> None:
    logged_in(flow, Pair.issue())

    flow.invalidate()

    assert store.get(flow.key) is None
    assert flow.token is None
    fresh = Pair.issue()
    driver = run(flow.authenticate(FakeRequest()), [login_ok(fresh)])
    assert driver.purposes == ["login"]
    assert driver.sent == [jwt_header(fresh)]


def test_token_reads_the_store_without_logging_in(store: MemoryTokenStore) -> None:
    reader = make_flow(store)
    assert reader.token is None
    assert store.get(reader.key) is None

    pair = Pair.issue()
    logged_in(make_flow(store), pair)

    token = reader.token
    assert token is not None
    assert token.access_token == pair.access


# --- R10 secrets stay secret ------------------------------------------------------------------


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "finauth"]


def test_r10_no_secret_reaches_a_log_record(
    flow: TokenFlow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="finauth")
    issued = [Pair.issue(EXPIRING), Pair.issue(), Pair.issue(EXPIRING), Pair.issue(1830)]
    leaky = Reply.json(400, {"detail": f"refresh {issued[2].refresh} is blacklisted"})

    logged_in(flow, issued[0])  # a login, whose token is expiring
    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(issued[1])])
    assert driver.purposes == ["refresh"]
    driver = run(flow.authenticate(FakeRequest()), [refresh_ok(issued[2])], sends=[401])
    assert driver.purposes == ["refresh"]  # the 401's renewal
    driver = run(flow.authenticate(FakeRequest()), [leaky, status(503), login_ok(issued[3])])
    assert driver.purposes == ["refresh", "login", "login"]  # refused, then a retried login
    with pytest.raises(LoginError):
        run(flow.login(), [Reply.json(401, {"detail": f"bad password {PASSWORD}"})])

    messages = _messages(caplog)
    secrets = [PASSWORD] + [t for pair in issued for t in (pair.access, pair.refresh) if t]
    for message in messages:
        for secret in secrets:
            assert secret not in message, f"a secret leaked into {message!r}"
        assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", message), message
    assert any("logged in" in m for m in messages)
    assert any("refreshed" in m for m in messages)
    assert any("logged in" in m and "expires in 30m" in m for m in messages)
    assert any(REFRESH_URL in m for m in messages)


def test_r10_debug_log_says_a_one_hour_token_expires_in_59m(
    flow: TokenFlow, caplog: pytest.LogCaptureFixture
) -> None:
    """SPEC R10: 'DEBUG logs say "logged in, token expires in 59m"' for Fincrux's 1-hour JWTs."""
    caplog.set_level(logging.DEBUG, logger="finauth")
    logged_in(flow, Pair.issue(FRESH))
    assert any("logged in" in m and "expires in 59m" in m for m in _messages(caplog))
