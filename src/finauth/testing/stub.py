"""Stubs: emulators that answer every client of finauth in-process, for their origin only.

A Stub hooks the places where the clients choose how a request travels:
`requests.Session.get_adapter` and niquests' `Session.get_adapter` (and its
`AsyncSession`'s), httpx's and httpx2's `Client._transport_for_url` (and their
`AsyncClient`'s). Those are consulted before any transport runs, so a stub answers
its own origin whether `responses`, pytest-httpx or respx started before it or after,
and hands every other request on, untouched, to whatever would have carried it.

aiohttp has no such choice above its connections that its middlewares do not also
skip: a stub answers it from an in-process connection, and steps in at
`ClientSession._request` only to get past aioresponses (see `_aiohttp`).

Only clients the process has imported are hooked, and none is imported for a stub: one
imported later is hooked as soon as its package has run (`_WhenImported`).
"""

from __future__ import annotations

import importlib.abc
import inspect
import re
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from types import ModuleType, TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

import requests

from .._auth import ProviderAuth
from .._origin import Origin, origin_of
from ._catalog import EMULATORS
from ._emulator import AuthKind, Call, Change, Emulator, UnmatchedRequest
from ._transports import httpx_handler


class Stub:
    """One provider's auth and API, answered in-process for `base_url` (default: production).

    The account it accepts is readable as attributes named like the auth's
    arguments (`stub.email`, `stub.tenant_key`, ...); `stub.auth()` builds an auth
    for it, and `stub.environ` is the environment its `from_env` reads.
    """

    def __init__(self, emulator: Emulator, *, base_url: str | None = None) -> None:
        self.emulator = emulator
        emulator.explain_unmatched = self._explain_unmatched
        self.name = "stub"
        """What the test calls this stub (the fixture's name): error messages use it."""
        self.base_url = (base_url or emulator.production_url).rstrip("/")
        origin = origin_of(self.base_url)
        if origin is None:
            raise ValueError(f"{emulator.name} stub: base_url must be an http(s) URL")
        self.origin: Origin = origin
        emulator.prefix = urlsplit(self.base_url).path  # a path in base_url prefixes endpoints
        self.adapter = emulator.requests_adapter()
        self.transport = emulator.httpx_transport()
        self.registered: set[str] = set()
        """Client families ("requests", "httpx") a registered mock answers for this stub."""
        self._answers: dict[str, Any] = {"requests": self.adapter, "httpx": self.transport}

    def __getattr__(self, name: str) -> Any:
        emulator = self.__dict__.get("emulator")  # absent while copy or pickle rebuild a stub
        credentials = emulator.credentials() if emulator is not None else {}
        if name in credentials:
            return credentials[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- what tests use --------------------------------------------------------------------
    def auth(self, **overrides: Any) -> ProviderAuth:
        """The provider's auth, logging in to this stub; `overrides` replace any argument."""
        auth: ProviderAuth = self.emulator.auth(self.base_url, **overrides)
        return auth

    @property
    def environ(self) -> dict[str, str]:
        """The environment variables the auth's `from_env` reads, set for this
        stub's account and `base_url`: code under test that reads its credentials from
        the environment logs in here once they are set (`monkeypatch.setenv`,
        `mock.patch.dict(os.environ, stub.environ)`). A fresh dict at each read."""
        return self.emulator.environment(self.base_url)

    def route(self, method: str, path: str, json: object = None, status: int = 200) -> None:
        """A protected endpoint: 401 without a currently valid token, else `json` with `status`.

        `path` is relative to `base_url`, as the auth's endpoints are.
        """
        self.emulator.route(method, path, json, status)

    def expire_tokens(self) -> None:
        self.emulator.expire_tokens()

    def revoke_tokens(self) -> None:
        self.emulator.revoke_tokens()

    def fail_next_login(self, status: int, body: object = None) -> None:
        self.emulator.fail_next_login(status, body)

    def fail_next_refresh(self, status: int, body: object = None) -> None:
        self.emulator.fail_next_refresh(status, body)

    def tamper_next(self, kind: AuthKind, change: Change) -> None:
        """The next `kind` call is handled, then answered with `change` applied to the reply."""
        self.emulator.tamper_next(kind, change)

    def rate_limit(self, n: int, retry_after: float | str | None = None) -> None:
        self.emulator.rate_limit(n, retry_after)

    @property
    def token_ttl(self) -> float:
        return self.emulator.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        self.emulator.token_ttl = seconds

    @property
    def opaque_tokens(self) -> bool:
        """Whether tokens issued from now on are opaque strings rather than JWTs."""
        return self.emulator.opaque_tokens

    @opaque_tokens.setter
    def opaque_tokens(self, opaque: bool) -> None:
        self.emulator.opaque_tokens = opaque

    @property
    def clock_skew(self) -> float:
        """Seconds the provider's clock runs ahead of yours (negative: behind)."""
        return self.emulator.clock_skew

    @clock_skew.setter
    def clock_skew(self, seconds: float) -> None:
        self.emulator.clock_skew = seconds

    @property
    def logins(self) -> int:
        return self.emulator.logins

    @property
    def refreshes(self) -> int:
        return self.emulator.refreshes

    @property
    def calls(self) -> list[Call]:
        return self.emulator.calls

    # -- answering -------------------------------------------------------------------------
    def answer(self, family: str) -> Any:
        """The adapter or transport answering this stub's origin for the client `family`
        ("requests", "httpx", "httpx2", ...), made of that client's classes when first asked."""
        if family not in self._answers:
            self._answers[family] = _ANSWERS[family](self.emulator)
        return self._answers[family]

    def start(self) -> Stub:
        _hooks.add(self)
        return self

    def stop(self) -> None:
        _hooks.remove(self)

    def __enter__(self) -> Stub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop, and fail for any unanswered request not reported yet (the code under test
        may have swallowed the error), unless an error is already on its way."""
        self.stop()
        unreported = self.emulator.take_unmatched()
        if exc_type is None and unreported:
            raise UnmatchedRequest("\n\n".join(unreported))

    def register(self, mock: Any) -> None:
        """Have a mock that insists on owning every request answer for this stub.

        Takes a `responses.RequestsMock`, pytest-httpx's `httpx_mock` or a respx
        router. From then on the stub leaves that client family's requests to the
        mock, so its routes are the ones called, as its own checks expect.
        """
        pattern = re.compile("^https?://" + re.escape(self.base_url.split("//", 1)[1]))
        kind = type(mock).__module__.split(".")[0]
        if kind == "responses":
            mock.add(_responses_route(pattern, self._responses_callback))
            self.registered.add("requests")
        elif kind == "pytest_httpx":
            mock.add_callback(
                self.transport.handle_request, url=pattern, is_reusable=True, is_optional=True
            )
            self.registered.add("httpx")
        elif kind == "respx":
            mock.route(url__regex=pattern.pattern).mock(side_effect=self.transport.handle_request)
            self.registered.add("httpx")
        else:
            raise TypeError(
                f"{self.emulator.name} stub cannot register into {type(mock).__name__}; "
                "it knows responses, pytest-httpx's httpx_mock and respx"
            )

    def _responses_callback(
        self, request: requests.PreparedRequest
    ) -> tuple[int, dict[str, str], bytes]:
        response = self.adapter.send(request)
        return response.status_code, dict(response.headers), response.content

    def _explain_unmatched(self, call: Call, registered: list[str]) -> str:
        """What an UnmatchedRequest says: the request, what is registered, the fix."""
        scheme, netloc, prefix, _, _ = urlsplit(self.base_url)
        lines = [
            f"{self.name}: no route for {call.method} {scheme}://{netloc}{call.path}",
            f"Registered: {', '.join(registered)}",
        ]
        if call.path.startswith(f"{prefix}/"):
            path = call.path[len(prefix) :]
            lines.append(
                f'Add it in the test: {self.name}.route("{call.method}", "{path}", json=<answer>)'
            )
        else:
            lines.append(f"Routes are relative to the stub's base_url, {self.base_url}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<{self.emulator.name} stub for {self.base_url}>"


def open_stub(
    provider: str | type[Emulator], *, base_url: str | None = None, **options: Any
) -> Stub:
    """A stub of `provider` ("Fincrux", "Finvera", "FinHub", or an `Emulator` subclass of
    your own), to use with `with`.

    `options` set the emulator's `token_ttl` and the account it accepts; anything
    else is refused here, before the stub starts.
    """
    emulator = provider if isinstance(provider, type) else _built_in(provider)
    known = stub_options(emulator)
    unknown = set(options) - known
    if unknown:
        raise TypeError(
            f"{emulator.name} stub: unknown option(s) {', '.join(sorted(unknown))}; "
            f"it takes {', '.join(sorted(known | {'base_url'}))}"
        )
    return Stub(emulator(**options), base_url=base_url)


def _built_in(provider: str) -> type[Emulator]:
    emulator = next((each for each in EMULATORS if each.name.lower() == provider.lower()), None)
    if emulator is None:
        names = ", ".join(each.name for each in EMULATORS)
        raise ValueError(f"no stub for provider {provider!r}; there are stubs for {names}")
    return emulator


def _responses_route(pattern: re.Pattern[str], callback: Callable[..., Any]) -> Any:
    """One `responses` route for every method of the stub's origin.

    One, not one per method: responses' `assert_all_requests_are_fired` would
    fail for each method the test never used.
    """
    import responses

    class StubRoute(responses.CallbackResponse):
        def matches(self, request: Any) -> tuple[bool, str]:
            if pattern.match(request.url or ""):
                return True, ""
            return False, "URL does not match"

    return StubRoute("GET", pattern, callback=callback)


def _httpx2_transport(emulator: Emulator) -> Any:
    import httpx2

    return httpx2.MockTransport(httpx_handler(emulator, httpx2))


def _niquests_adapter(emulator: Emulator) -> Any:
    from ._niquests import NiquestsAdapter

    return NiquestsAdapter(emulator)


def _niquests_async_adapter(emulator: Emulator) -> Any:
    from ._niquests import AsyncNiquestsAdapter

    return AsyncNiquestsAdapter(emulator)


_ANSWERS: dict[str, Callable[[Emulator], Any]] = {
    "httpx2": _httpx2_transport,
    "niquests": _niquests_adapter,
    "niquests-async": _niquests_async_adapter,
}
"""How a stub makes its answer for each client it does not depend on, when first asked."""


def stub_options(emulator: type[Emulator]) -> set[str]:
    """What a stub of `emulator` can be given, besides `base_url`: its account and token_ttl."""
    parameters = inspect.signature(emulator.__init__).parameters
    named = {
        name for name, parameter in parameters.items() if parameter.kind is parameter.KEYWORD_ONLY
    }
    return {"token_ttl", *named, *emulator().credentials()} - {"prefix"}


@dataclass(frozen=True)
class _Place:
    """Where a client chooses how to send: `owner.name` of package `package`, and the hook
    that makes, from what is there, the function answering a stub's origin in its place."""

    package: str
    owner: str
    name: str
    hook: Callable[[Callable[..., Any]], Callable[..., Any]]

    def owner_class(self) -> type | None:
        """The owner, once its package is imported: a client is never imported for a stub
        (nor is a package that is still being imported looked into)."""
        return cast("type | None", getattr(sys.modules.get(self.package), self.owner, None))


def _choosing(family: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A hook for a client's choice of adapter or transport for a URL: a stub's own answer
    for its origin, what the client would have chosen for any other."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def hook(client: Any, url: Any) -> Any:
            stub = _hooks.stub_for(url, family)
            return stub.answer(family) if stub is not None else original(client, url)

        return hook

    return make


def _aiohttp_hook(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A hook made by `_aiohttp.<name>`, a module imported once aiohttp is."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        from . import _aiohttp

        hook: Callable[..., Any] = getattr(_aiohttp, name)(original, _hooks.stub_for)
        return hook

    return make


def _on_top_again(original: Callable[..., Any]) -> Callable[..., Any]:
    """A hook for `aioresponses.start`, whose patch of `ClientSession._request` would
    answer (and refuse) a stub's origin there: the stub's hook goes back on top of it.
    When aioresponses stops, it puts back what it replaced."""

    def start(mock: Any) -> None:
        original(mock)
        _hooks.outermost()

    return start


class _Hooks:
    """The client hooks every active stub shares."""

    def __init__(self) -> None:
        self._stubs: list[Stub] = []
        self._lock = threading.RLock()
        self._mine: set[Callable[..., Any]] = set()

    def add(self, stub: Stub) -> None:
        with self._lock:
            if any(active.origin == stub.origin for active in self._stubs):
                raise ValueError(f"a stub already answers {stub.base_url}")
            self._stubs.append(stub)
            self.outermost()
            if not any(isinstance(finder, _WhenImported) for finder in sys.meta_path):
                sys.meta_path.insert(0, _WhenImported())

    def remove(self, stub: Stub) -> None:
        with self._lock:
            self._stubs.remove(stub)

    def active(self) -> list[Stub]:
        with self._lock:
            return list(self._stubs)

    def stub_for(self, url: object, family: str) -> Stub | None:
        origin = origin_of(str(url))
        return next(
            (
                stub
                for stub in self._stubs
                if stub.origin == origin and family not in stub.registered
            ),
            None,
        )

    def outermost(self) -> None:
        """Hook each imported client where it chooses how to send, on top of whatever is
        there.

        Done at every start: a mock that patched the same place before this stub
        started is wrapped, so the stub still sees its requests first; one that
        put back an earlier function since is wrapped again, and one of the stub's
        own hooks is left as it is. Hooks are never taken out, since another library
        may have wrapped them meanwhile; with no stub active they hand every request on.
        """
        with self._lock:
            for place in PLACES:
                owner = place.owner_class()
                if owner is None or owner.__dict__[place.name] in self._mine:
                    continue
                hook = place.hook(owner.__dict__[place.name])
                setattr(owner, place.name, hook)
                self._mine.add(hook)


_hooks = _Hooks()


class _WhenImported(importlib.abc.MetaPathFinder):
    """Hooks a client package imported after a stub started, as soon as it has run.

    Code under test often imports its client where it uses it, in the middle of a test
    whose stub has started. This finder, first on `sys.meta_path` from the first stub
    on, finds nothing itself: for a package a stub hooks, it takes the spec the other
    finders give and has the package's own loader run it, then hooks it. It looks at no
    other name, and a stub imports nothing through it.
    """

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in _PACKAGES:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None) if finder is not self else None
            spec: ModuleSpec | None = find_spec(name, path, target) if find_spec else None
            if spec is not None and spec.loader is not None:
                spec.loader = _ThenHook(spec.loader)
                return spec
        return None


class _ThenHook(importlib.abc.Loader):
    """A package's own loader, followed by the stub's hooks."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader  # the package's own, for its resources and reloads
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _hooks.outermost()


PLACES = (
    _Place("requests", "Session", "get_adapter", _choosing("requests")),
    _Place("httpx", "Client", "_transport_for_url", _choosing("httpx")),
    _Place("httpx", "AsyncClient", "_transport_for_url", _choosing("httpx")),
    _Place("httpx2", "Client", "_transport_for_url", _choosing("httpx2")),
    _Place("httpx2", "AsyncClient", "_transport_for_url", _choosing("httpx2")),
    _Place("niquests", "Session", "get_adapter", _choosing("niquests")),
    _Place("niquests", "AsyncSession", "get_adapter", _choosing("niquests-async")),
    _Place("aiohttp", "TCPConnector", "_create_connection", _aiohttp_hook("connecting")),
    _Place("aiohttp", "ClientSession", "_request", _aiohttp_hook("requesting")),
    _Place("aioresponses", "aioresponses", "start", _on_top_again),
)
"""Every place a stub hooks, in each client package the process has imported."""
_PACKAGES = frozenset(place.package for place in PLACES)


def report_unmatched(error: BaseException | None) -> None:
    """Raise one UnmatchedRequest for the unanswered requests of every active stub that
    `error` (what a test phase raised, if anything) does not already report.

    Each request is then reported, so no stub reports it again when it stops: one
    mistake, one failure, whether the code under test swallowed the error or not.
    """
    __tracebackhide__ = True  # pytest shows the test's frames, not these
    messages = [message for stub in _hooks.active() for message in stub.emulator.take_unmatched()]
    reported = "" if error is None else str(error)
    unreported = [message for message in messages if message not in reported]
    if unreported:
        raise UnmatchedRequest("\n\n".join(unreported)) from error
