"""The real servers (one per session) and, per test, a reset account and a client.

Two processes of the same Django project start side by side: `server`, whose access
tokens live 5 minutes, and `brief_server`, whose tokens live BRIEF_SECONDS, for the
tests of refresh by expiry. Each test starts from one account and no calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from finauth import FincruxJWTAuth, FinveraCookieAuth
from finauth._auth import ProviderAuth
from finauth.testing._clients import CLIENT_KINDS, Fetch, open_client

from .server import EMAIL, PASSWORD, RealServer

BRIEF_SECONDS = 2
"""The brief server's token lifetime: finauth's margin is then at most 1 s (R14)."""

_Auth = TypeVar("_Auth", bound=ProviderAuth)


@dataclass
class Servers:
    main: RealServer
    brief: RealServer


@pytest.fixture(scope="session")
def real_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    servers = Servers(
        RealServer(tmp_path_factory.mktemp("realserver"), access_seconds=300),
        RealServer(tmp_path_factory.mktemp("realserver-brief"), access_seconds=BRIEF_SECONDS),
    )
    try:
        servers.main.start()
        servers.brief.start()
        servers.main.wait_ready()
        servers.brief.wait_ready()
        yield servers
    finally:
        servers.main.stop()
        servers.brief.stop()


@pytest.fixture
def server(real_servers: Servers) -> RealServer:
    """The server with 5-minute access tokens, reset to one account and no calls."""
    real_servers.main.reset()
    return real_servers.main


@pytest.fixture
def brief_server(real_servers: Servers) -> RealServer:
    """The server whose access tokens live BRIEF_SECONDS, reset likewise."""
    real_servers.brief.reset()
    return real_servers.brief


@pytest.fixture(params=CLIENT_KINDS)
def client(request: pytest.FixtureRequest) -> str:
    """requests, httpx.Client or httpx.AsyncClient (on asyncio)."""
    kind: str = request.param
    return kind


@dataclass
class Live:
    """A real server reached through one kind of client; what it opens closes after the test."""

    server: RealServer
    client: str
    stack: ExitStack

    def url(self, path: str) -> str:
        return self.server.base_url + path

    def auth(
        self, make: Callable[..., _Auth], *, password: str = PASSWORD, **options: Any
    ) -> _Auth:
        """`make(EMAIL, password, base_url=<this server>, **options)`, closed after the test."""
        auth = make(EMAIL, password, base_url=self.server.base_url, **options)
        self.stack.callback(auth.close)
        return auth

    def fincrux(self, *, password: str = PASSWORD, **options: Any) -> FincruxJWTAuth:
        return self.auth(FincruxJWTAuth, password=password, **options)

    def finvera(self, *, password: str = PASSWORD, **options: Any) -> FinveraCookieAuth:
        return self.auth(FinveraCookieAuth, password=password, **options)

    def open(self, auth: Any) -> Fetch:
        return self.stack.enter_context(open_client(self.client, auth=auth))


@pytest.fixture
def live(server: RealServer, client: str) -> Iterator[Live]:
    with ExitStack() as stack:
        yield Live(server, client, stack)


@pytest.fixture
def brief(brief_server: RealServer, client: str) -> Iterator[Live]:
    with ExitStack() as stack:
        yield Live(brief_server, client, stack)
