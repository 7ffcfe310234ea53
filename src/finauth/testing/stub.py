"""Stubs: emulators that answer requests and httpx in-process, for their base URL only.

A Stub hooks the two places where the clients choose how a request travels:
`requests.Session.get_adapter` and httpx's `Client._transport_for_url`. Those
are consulted before any transport runs, so a stub answers its own origin
whether `responses`, pytest-httpx or respx started before it or after, and
hands every other request on, untouched, to whatever would have carried it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx
import requests

from .._auth import LoginAuth
from .._origin import Origin, origin_of
from ._catalog import EMULATORS
from ._emulator import Call, Emulator, UnmatchedRequest


class Stub:
    """One provider's auth and API, answered in-process for `base_url` (default: production).

    The account it accepts is readable as attributes named like the auth's
    arguments (`stub.email`, `stub.tenant_key`, ...); `stub.auth()` builds an auth
    for it.
    """

    def __init__(self, emulator: Emulator, *, base_url: str | None = None) -> None:
        self.emulator = emulator
        emulator.strict = True
        self.base_url = (base_url or emulator.production_url).rstrip("/")
        origin = origin_of(self.base_url)
        if origin is None:
            raise ValueError(f"{emulator.name} stub: base_url must be an http(s) URL")
        self.origin: Origin = origin
        self.adapter = emulator.requests_adapter()
        self.transport = emulator.httpx_transport()

    def __getattr__(self, name: str) -> Any:
        credentials = self.__dict__["emulator"].credentials()
        if name in credentials:
            return credentials[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- what tests use --------------------------------------------------------------------
    def auth(self, **overrides: Any) -> LoginAuth:
        """The provider's auth, logging in to this stub; `overrides` replace any argument."""
        arguments = {**self.emulator.credentials(), "base_url": self.base_url, **overrides}
        auth: LoginAuth = self.emulator.auth_class(**arguments)
        return auth

    def route(self, method: str, path: str, json: object = None, status: int = 200) -> None:
        """A protected endpoint: 401 without a currently valid token, else `json` with `status`."""
        self.emulator.route(method, path, json, status)

    def expire_tokens(self) -> None:
        self.emulator.expire_tokens()

    def revoke_tokens(self) -> None:
        self.emulator.revoke_tokens()

    def fail_next_login(self, status: int, body: object = None) -> None:
        self.emulator.fail_next_login(status, body)

    def rate_limit(self, n: int, retry_after: float | str | None = None) -> None:
        self.emulator.rate_limit(n, retry_after)

    @property
    def token_ttl(self) -> float:
        return self.emulator.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        self.emulator.token_ttl = seconds

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
        self.stop()

    def register(self, mock: Any) -> None:
        """Install this stub's answers into a mock that insists on owning every request.

        Takes a `responses.RequestsMock`, pytest-httpx's `httpx_mock` or a respx router.
        """
        pattern = re.compile(re.escape(self.base_url.split("//", 1)[1]).join(["^https?://", ".*"]))
        kind = type(mock).__module__.split(".")[0]
        if kind == "responses":
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
                mock.add_callback(method, pattern, callback=self._responses_callback)
        elif kind == "pytest_httpx":
            mock.add_callback(
                self.transport.handle_request, url=pattern, is_reusable=True, is_optional=True
            )
        elif kind == "respx":
            mock.route(url__regex=pattern.pattern).mock(side_effect=self.transport.handle_request)
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

    def __repr__(self) -> str:
        return f"<{self.emulator.name} stub for {self.base_url}>"


@contextmanager
def open_stub(provider: str, *, base_url: str | None = None, **options: Any) -> Iterator[Stub]:
    """A started stub of `provider` ("Fincrux", "Finvera", "FinHub"); `options` go to its emulator.

    Fails the calling test if any request went unanswered, even if the code
    under test swallowed the error.
    """
    emulator = next(emulator for emulator in EMULATORS if emulator.name.lower() == provider.lower())
    with Stub(emulator(**options), base_url=base_url) as stub:
        yield stub
    if stub.emulator.unmatched:
        raise UnmatchedRequest("\n".join(stub.emulator.unmatched))


class _Hooks:
    """The client hooks every active stub shares, installed when the first stub starts."""

    def __init__(self) -> None:
        self._stubs: list[Stub] = []
        self._lock = threading.Lock()
        self._installed = False

    def add(self, stub: Stub) -> None:
        with self._lock:
            if any(active.origin == stub.origin for active in self._stubs):
                raise ValueError(f"a stub already answers {stub.base_url}")
            self._stubs.append(stub)
            if not self._installed:
                self._install()
                self._installed = True

    def remove(self, stub: Stub) -> None:
        with self._lock:
            self._stubs.remove(stub)

    def stub_for(self, url: object) -> Stub | None:
        origin = origin_of(str(url))
        return next((stub for stub in self._stubs if stub.origin == origin), None)

    def _install(self) -> None:
        """Hook the clients; while no stub is active, the hooks hand every request on.

        They are never taken out: another library may have wrapped them since, and
        putting back what was there before would undo its patch, or leave it
        pointing at ours.
        """
        hooks = self
        get_adapter = requests.Session.get_adapter

        def stubbed_get_adapter(session: requests.Session, url: str) -> Any:
            stub = hooks.stub_for(url)
            return stub.adapter if stub is not None else get_adapter(session, url)

        for client in (httpx.Client, httpx.AsyncClient):

            def stubbed_transport_for_url(
                self: Any,
                url: httpx.URL,
                original: Callable[..., Any] = client._transport_for_url,
            ) -> Any:
                stub = hooks.stub_for(url)
                return stub.transport if stub is not None else original(self, url)

            client._transport_for_url = stubbed_transport_for_url  # type: ignore[method-assign]
        requests.Session.get_adapter = stubbed_get_adapter  # type: ignore[method-assign,assignment]


_hooks = _Hooks()
