"""Shared fixtures: a Fincrux emulator, served over loopback HTTP or in-process, and every client.

`rig` is parametrized over 4 clients x 2 transports, so a test that takes it
holds its rule for requests, httpx, httpx async on asyncio and on trio, each
over real 127.0.0.1 HTTP and through the in-process transports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

import finauth._retry
from finauth import FincruxJWTAuth
from finauth.testing import EmulatorServer, FincruxEmulator
from finauth.testing._clients import Fetch, open_client
from finauth.testing.fincrux import SEARCH_PATH

CLIENTS = {
    "requests": ("requests", "asyncio"),
    "httpx": ("httpx", "asyncio"),
    "httpx-asyncio": ("httpx-async", "asyncio"),
    "httpx-trio": ("httpx-async", "trio"),
}
TRANSPORTS = ("loopback", "in-process")
PRODUCTION_URL = "https://api.fincrux.org"


@dataclass
class Rig:
    """One emulator, reached the way this test run's parameters say."""

    emulator: FincruxEmulator
    base_url: str
    client: str
    transport: str
    stack: ExitStack

    @property
    def is_async(self) -> bool:
        return CLIENTS[self.client][0] == "httpx-async"

    def auth(self, **options: Any) -> FincruxJWTAuth:
        """A FincruxJWTAuth for the emulator's account; `options` override."""
        options.setdefault("base_url", self.base_url)
        auth = FincruxJWTAuth(self.emulator.email, self.emulator.password, **options)
        self.stack.callback(auth.close)
        return auth

    def open(self, auth: Any) -> Fetch:
        """A client of this run's kind using `auth`, closed after the test."""
        kind, backend = CLIENTS[self.client]
        emulator = self.emulator if self.transport == "in-process" else None
        return self.stack.enter_context(
            open_client(kind, auth=auth, emulator=emulator, backend=backend)
        )

    def url(self, path: str = SEARCH_PATH) -> str:
        return self.base_url + path

    def calls_to(self, path: str) -> list[Any]:
        return [call for call in self.emulator.calls if call.path == path]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """R9's backoff, shrunk so retry tests take milliseconds (Retry-After still counts)."""
    monkeypatch.setattr(finauth._retry, "BASE_DELAY", 0.001)


@pytest.fixture(params=list(CLIENTS))
def client_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def rig(client_name: str, transport: str) -> Iterator[Rig]:
    emulator = FincruxEmulator()
    with ExitStack() as stack:
        if transport == "loopback":
            base_url = stack.enter_context(EmulatorServer(emulator)).base_url
        else:
            base_url = PRODUCTION_URL
        yield Rig(emulator, base_url, client_name, transport, stack)


@pytest.fixture
def auth(rig: Rig) -> FincruxJWTAuth:
    return rig.auth()


@pytest.fixture
def fetch(rig: Rig, auth: FincruxJWTAuth) -> Fetch:
    return rig.open(auth)
