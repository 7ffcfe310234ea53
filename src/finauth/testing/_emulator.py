"""The provider-neutral part of an emulator: one function from request to reply.

An Emulator keeps what a provider's auth server keeps (issued tokens, counts)
and offers the knobs tests need (expire, revoke, fail or tamper with the next
login or refresh, rate limit, a skewed clock, and network faults that the
loopback server acts out). Subclasses add one provider's wire format. The same
`handle` serves in-process transports and the loopback HTTP server alike.
"""

from __future__ import annotations

import functools
import json
import math
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl

import httpx
import jwt


@dataclass(frozen=True)
class Call:
    """One request as the emulator saw it, credentials included: it is your own test."""

    method: str
    path: str
    query: str
    headers: httpx.Headers
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The fields of a form body (`application/x-www-form-urlencoded`)."""
        return dict(parse_qsl(self.body.decode("latin-1"), keep_blank_values=True))


class UnmatchedRequest(AssertionError):
    """A request to a stub's origin that no route answers: a mistake in the test.

    Import it from `finauth.testing`, the name tracebacks show.
    """

    __module__ = "finauth.testing"


Reset = Literal["before", "midway"]
"""Where the loopback server resets a connection instead of finishing an answer:
"before" sending any of it, or "midway" through the body (after the status line,
the headers and the first half of the body)."""


@dataclass(frozen=True)
class Reply:
    """What the emulator answers.

    `stall`, `trickle` and `reset` are network faults, acted out by `EmulatorServer`
    only: the in-process transports send the answer whole and at once.
    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = field(default=())
    stall: float = 0.0
    """Seconds the server holds the answer back; it gives up early, sending nothing,
    when the client hangs up (a read timeout) or the server stops."""
    trickle: float = 0.0
    """Seconds between the bytes of the body, sent one at a time: every read of the
    client's arrives in time, the answer as a whole takes minutes. The server stops
    when the client hangs up."""
    reset: Reset | None = None
    """Reset the connection (TCP RST) here instead of sending the answer whole."""

    @classmethod
    def json(
        cls, payload: object, status: int = 200, headers: tuple[tuple[str, str], ...] = ()
    ) -> Reply:
        return cls(
            status, json.dumps(payload).encode(), (("Content-Type", "application/json"), *headers)
        )


Handler = Callable[[Call], Reply]
AuthKind = Literal["login", "refresh"]
"""Which auth call a call to an auth endpoint is: a login or a refresh."""
AuthEndpoint = tuple[AuthKind | Callable[[Call], AuthKind], Handler]
"""What an auth endpoint is ("login" or "refresh", or a function telling them apart by the
call, for an endpoint that serves both, as OAuth 2.0's token endpoint does) and its handler."""
Change = Callable[[Reply], Reply]
"""What `tamper_next` does to the provider's own answer."""


class Emulator:
    """An in-memory provider: its auth endpoints and the protected API behind them."""

    name: ClassVar[str]
    auth_class: ClassVar[type[Any]]
    """The finauth auth this emulator stands in for."""
    production_url: ClassVar[str]
    sample_path: ClassVar[str]
    """A protected endpoint that is there from the start."""

    def __init__(self, *, token_ttl: float = 3600.0, prefix: str = "") -> None:
        self.token_ttl = token_ttl
        """Seconds an access token issued from now on stays valid."""
        self.clock_skew = 0.0
        """Seconds the provider's clock is ahead of the real one (negative: behind). Its
        tokens are stamped (`iat`, `exp`) and checked by that clock."""
        self.opaque_tokens = False
        """Issue opaque tokens (random strings, not JWTs) from now on. They work as the
        JWTs behind them would, but a client cannot read their expiry."""
        self.refresh_ttl = 30 * 86400.0
        self.prefix = prefix.rstrip("/")
        self.explain_unmatched: Callable[[Call, list[str]], str] | None = None
        """When set (a stub sets it), a request no route answers raises UnmatchedRequest
        with the message this makes of the request and the registered routes, instead
        of being answered 404."""
        self.unmatched: list[str] = []
        """The message of each UnmatchedRequest raised and not yet reported."""
        self.calls: list[Call] = []
        self.logins = 0
        """Login requests received, whatever they were answered."""
        self.refreshes = 0
        """Refresh requests received, whatever they were answered."""
        self.denials = 0
        """Requests to protected routes answered 401."""
        self.issued: list[str] = []
        """Every token issued, access and refresh: what must never leak."""
        self._lock = threading.RLock()
        self._signing_key = secrets.token_bytes(32)
        self._live: dict[str, set[str]] = {"access": set(), "refresh": set()}
        self._opaque: dict[str, str] = {}
        """Each opaque token issued, to the JWT it stands for."""
        self._planned: dict[str, deque[Reply | Change]] = {"login": deque(), "refresh": deque()}
        self._throttled = 0
        self._retry_after: str | None = None
        self._routes: dict[tuple[str, str], Handler] = {}

    # -- what a provider adds ----------------------------------------------------------
    def auth_endpoints(self) -> Mapping[tuple[str, str], AuthEndpoint]:
        """(method, path template) of each auth endpoint, to its kind and handler.

        A template's `{name}` matches one path segment. Calls to these are counted
        (`logins`, `refreshes`) and answered by the knobs (`fail_next_login`,
        `rate_limit`, ...) before the handler sees them.
        """
        raise NotImplementedError

    def authorized(self, call: Call) -> bool:
        """Whether `call` carries a currently valid credential in the provider's format."""
        raise NotImplementedError

    def unauthorized(self) -> Reply:
        """The provider's 401."""
        raise NotImplementedError

    def presented(self, call: Call) -> str | None:
        """The access token `call` carries in the provider's format, if any."""
        raise NotImplementedError

    def credentials(self) -> dict[str, str]:
        """The account it accepts, keyed like the auth's constructor arguments."""
        raise NotImplementedError

    def auth(self, base_url: str, **options: Any) -> Any:
        """The provider's auth for this account at `base_url`; `options` override any argument."""
        return self.auth_class(**{**self.credentials(), "base_url": base_url, **options})

    def environment(self, base_url: str) -> dict[str, str]:
        """The variables the auth's `from_env` reads, pointing at `base_url`."""
        prefix = self.name.upper()
        variables = {
            f"{prefix}_{name.upper()}": value for name, value in self.credentials().items()
        }
        return {**variables, f"{prefix}_BASE_URL": base_url}

    def refuse(self, call: Call) -> Reply | None:
        """The provider's objection to a call before any route sees it; None for none."""
        return None

    def login_failure(self, status: int) -> Reply:
        """The provider's error body for a failed login with `status`."""
        return Reply.json({"message": f"login failed ({status})"}, status)

    def refresh_failure(self, status: int) -> Reply:
        """The provider's error body for a failed refresh with `status`."""
        return Reply.json({"message": f"refresh failed ({status})"}, status)

    # -- knobs -------------------------------------------------------------------------
    def route(self, method: str, path: str, json: object = None, status: int = 200) -> None:
        """A protected endpoint: 401 without a valid token, else `json` with `status`."""
        reply = Reply.json({"ok": True, "path": path} if json is None else json, status)
        self.handle_route(
            method, path, lambda call: reply if self.authorized(call) else self.deny()
        )

    def handle_route(self, method: str, path: str, handler: Handler) -> None:
        """A route answered by `handler`, which checks credentials itself."""
        with self._lock:
            self._routes[method.upper(), path] = handler

    def deny(self) -> Reply:
        """The provider's 401, counted in `denials`."""
        self.denials += 1
        return self.unauthorized()

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working; refresh tokens still do."""
        with self._lock:
            self._live["access"].clear()

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working, refresh tokens too."""
        with self._lock:
            for live in self._live.values():
                live.clear()

    def fail_next_login(
        self, status: int, body: object = None, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """The next login is answered `status`; `body` is bytes, str or JSON.

        `headers` are added, e.g. a `Set-Cookie` for providers whose tokens are cookies.
        Calls queue up: each one answers one more login, in order.
        """
        reply = self.login_failure(status) if body is None else _canned(status, body)
        self._plan("login", replace(reply, headers=(*reply.headers, *headers)))

    def fail_next_refresh(
        self, status: int, body: object = None, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        """The next refresh is answered `status`, as `fail_next_login` answers a login."""
        reply = self.refresh_failure(status) if body is None else _canned(status, body)
        self._plan("refresh", replace(reply, headers=(*reply.headers, *headers)))

    def tamper_next(self, kind: AuthKind, change: Change) -> None:
        """The next `kind` call is handled as usual (tokens issued, sessions made), but
        answered with `change` applied to the provider's own answer.

        E.g. ``tamper_next("login", lambda reply: replace(reply, body=reply.body[:9]))``.
        Queues up with `fail_next_login` / `fail_next_refresh`, in order.
        """
        self._plan(kind, change)

    def reset_next(self, kind: AuthKind, where: Reset = "midway") -> None:
        """The next `kind` call is handled as usual, but its connection is reset `where`
        (see `Reset`) instead of the answer reaching the client. Loopback only."""
        self.tamper_next(kind, lambda reply: replace(reply, reset=where))

    def stall_next(self, kind: AuthKind, seconds: float) -> None:
        """The next `kind` call is handled as usual, but its answer is held back `seconds`
        (less if the client hangs up first: see `Reply.stall`). Loopback only."""
        self.tamper_next(kind, lambda reply: replace(reply, stall=seconds))

    def trickle_next(self, kind: AuthKind, seconds: float) -> None:
        """The next `kind` call is handled as usual, but its body is sent a byte every
        `seconds` (see `Reply.trickle`). Loopback only."""
        self.tamper_next(kind, lambda reply: replace(reply, trickle=seconds))

    def rate_limit(self, n: int, retry_after: float | str | None = None) -> None:
        """The next `n` login or refresh calls are answered 429, with Retry-After if given."""
        with self._lock:
            self._throttled = n
            self._retry_after = None if retry_after is None else str(retry_after)

    # -- serving -----------------------------------------------------------------------
    def handle(self, call: Call) -> Reply:
        """Answer one request."""
        with self._lock:
            self.calls.append(call)
            refusal = self.refuse(call)
            if refusal is not None:
                return refusal
            path = self._within_prefix(call.path)
            if path is None:
                return self._unmatched(call)
            endpoint = self._auth_endpoint(call.method, path)
            if endpoint is not None:
                kind, handler = endpoint
                return self._auth_call(call, kind(call) if callable(kind) else kind, handler)
            route = self._routes.get((call.method, path))
            return self._unmatched(call) if route is None else route(call)

    def auth_kind(self, call: Call) -> AuthKind | None:
        """ "login" or "refresh" for a call to an auth endpoint; None for any other call."""
        path = self._within_prefix(call.path)
        endpoint = None if path is None else self._auth_endpoint(call.method, path)
        if endpoint is None:
            return None
        kind = endpoint[0]
        return kind(call) if callable(kind) else kind

    def _within_prefix(self, path: str) -> str | None:
        """`path` after the `prefix` (base_url's path); None when it is not under it."""
        if not self.prefix:
            return path
        return path[len(self.prefix) :] if path.startswith(self.prefix + "/") else None

    def _auth_endpoint(self, method: str, path: str) -> AuthEndpoint | None:
        return next(
            (
                endpoint
                for (allowed, template), endpoint in self.auth_endpoints().items()
                if allowed == method and _pattern(template).fullmatch(path)
            ),
            None,
        )

    def httpx_transport(self) -> httpx.MockTransport:
        """An httpx transport answered by this emulator, for any host."""
        from ._transports import httpx_handler

        return httpx.MockTransport(httpx_handler(self))

    def requests_adapter(self) -> Any:
        """A requests transport adapter answered by this emulator; mount it on a Session."""
        from ._transports import EmulatorAdapter

        return EmulatorAdapter(self)

    # -- tokens ------------------------------------------------------------------------
    def issue(self, kind: str, **claims: Any) -> str:
        """A real HS256 JWT of `kind` ("access" or "refresh"), live until revoked or expired.

        With `opaque_tokens`, an opaque string standing for it instead.
        """
        # The provider's now, rounded down to the millisecond: an iat never in its future.
        now = math.floor((time.time() + self.clock_skew) * 1000) / 1000
        ttl = self.token_ttl if kind == "access" else self.refresh_ttl
        jti = uuid.uuid4().hex
        self._live[kind].add(jti)
        payload = {"token_type": kind, "exp": now + ttl, "iat": now, "jti": jti, **claims}
        token = jwt.encode(payload, self._signing_key, algorithm="HS256")
        if self.opaque_tokens:
            opaque = f"opq_{secrets.token_urlsafe(32)}"
            self._opaque[opaque] = token
            token = opaque
        self.issued.append(token)
        return token

    def signed(self, token: str) -> dict[str, Any] | None:
        """The claims of a token signed here, live or not; None for anything else."""
        try:
            claims: dict[str, Any] = jwt.decode(
                self._opaque.get(token, token),
                self._signing_key,
                algorithms=["HS256"],
                # Expiry is verify's to judge, by the provider's clock; an iat stamped by
                # a clock that runs ahead (clock_skew) is no reason to disown a token.
                options={"verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None
        return claims

    def verify(self, token: str, kind: str) -> dict[str, Any] | None:
        """The claims of a live, unexpired token of `kind` issued here; None otherwise."""
        claims = self.signed(token)
        if claims is None:
            return None
        live = claims.get("token_type") == kind and claims.get("jti") in self._live[kind]
        expired = float(claims.get("exp", 0)) <= time.time() + self.clock_skew
        return claims if live and not expired else None

    def retire(self, token: str, kind: str) -> None:
        """Stop one token working (a refresh token once it has been rotated)."""
        claims = self.verify(token, kind)
        if claims is not None:
            self._live[kind].discard(claims["jti"])

    # -- internals ---------------------------------------------------------------------
    def _auth_call(self, call: Call, kind: AuthKind, handler: Handler) -> Reply:
        if kind == "login":
            self.logins += 1
        else:
            self.refreshes += 1
        if self._throttled:
            self._throttled -= 1
            after = (("Retry-After", self._retry_after),) if self._retry_after is not None else ()
            return Reply.json({"message": "Too many requests"}, 429, after)
        planned = self._planned.get(kind)
        if not planned:
            return handler(call)
        step = planned.popleft()
        return step if isinstance(step, Reply) else step(handler(call))

    def _plan(self, kind: AuthKind, step: Reply | Change) -> None:
        if kind not in self._planned:
            raise ValueError(f"kind must be 'login' or 'refresh', not {kind!r}")
        with self._lock:
            self._planned[kind].append(step)

    def registered(self) -> list[str]:
        """Every endpoint it answers, auth endpoints included, as "METHOD /path", sorted."""
        with self._lock:
            endpoints = [*self.auth_endpoints(), *self._routes]
        return sorted(f"{method} {self.prefix}{path}" for method, path in endpoints)

    def take_unmatched(self) -> list[str]:
        """The messages of the UnmatchedRequests raised since the last take, now reported."""
        with self._lock:
            taken, self.unmatched = self.unmatched, []
        return taken

    def _unmatched(self, call: Call) -> Reply:
        __tracebackhide__ = True  # pytest's traceback ends where the test's request went in
        known = self.registered()
        if self.explain_unmatched is None:
            message = f"{self.name} emulator: no route for {call.method} {call.path}"
            return Reply.json({"message": message, "routes": known}, 404)
        self.unmatched.append(self.explain_unmatched(call, known))
        raise UnmatchedRequest(self.unmatched[-1])


def _canned(status: int, body: object) -> Reply:
    """`body` answered `status`: bytes or str as an HTML page, anything else as JSON."""
    if isinstance(body, bytes | str):
        text = body.encode() if isinstance(body, str) else body
        return Reply(status, text, (("Content-Type", "text/html; charset=utf-8"),))
    return Reply.json(body, status)


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    """A path template such as `/sessions/{sessionId}/refresh` as a regular expression."""
    return re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template)))


def json_fields(call: Call, *names: str) -> tuple[str, ...] | None:
    """The named string fields of a call's JSON body, or None if any is missing."""
    try:
        body = call.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not all(isinstance(body.get(name), str) for name in names):
        return None
    return tuple(body[name] for name in names)
