"""Shared fixtures: each provider's emulator, over loopback HTTP or in-process, and every client.

`rig` is parametrized over 3 providers x 4 clients x 2 transports, so a test that
takes it holds its rule for Fincrux, Finvera and FinHub, each with requests,
httpx, httpx async on asyncio and on trio, over real 127.0.0.1 HTTP and through
the in-process transports. Pin a dimension with
`@pytest.mark.parametrize("provider", ["FinHub"])` (or "client_name", "transport").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from oauth2_emulator import OAuth2Emulator

import finauth._retry
from finauth._auth import ProviderAuth
from finauth.testing import EMULATORS, Call, Emulator, EmulatorServer
from finauth.testing._clients import Fetch, open_client
from leak_sweep import leak_sweep  # noqa: F401  (autouse: every test is swept, R10)
from redis_server import RedisServer

settings.register_profile(
    "default", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
"""`nox -s fuzz` runs the property tests with `--hypothesis-profile=fuzz`."""
settings.load_profile("default")

EVERY_EMULATOR: tuple[type[Emulator], ...] = (*EMULATORS, OAuth2Emulator)
PROVIDERS = {emulator.name: emulator for emulator in EVERY_EMULATOR}
"""Every provider the rules are tested with: the three built in, and the OAuth 2.0 one of
examples/oauth2, built on the public API alone as a user would (docs/custom-provider.md)."""
CLIENTS = {
    "requests": ("requests", "asyncio"),
    "niquests": ("niquests", "asyncio"),
    "niquests-async": ("niquests-async", "asyncio"),
    "httpx": ("httpx", "asyncio"),
    "httpx-asyncio": ("httpx-async", "asyncio"),
    "httpx-trio": ("httpx-async", "trio"),
    "httpx2": ("httpx2", "asyncio"),
    "httpx2-asyncio": ("httpx2-async", "asyncio"),
    "httpx2-trio": ("httpx2-async", "trio"),
    "aiohttp": ("aiohttp", "asyncio"),
}
"""Each client kind finauth works with (see `open_client`), and the event loop it runs in."""
FAMILIES = {"requests": "requests", "niquests": "requests", "httpx2": "httpx", "aiohttp": "aiohttp"}
"""Clients that share an adapter, by the package the kind needs: niquests is requests'
successor, httpx2 is httpx continued."""
TRANSPORTS = ("loopback", "in-process")
IN_PROCESS_CLIENTS = ("requests", "httpx", "httpx-asyncio", "httpx-trio")
"""The clients whose emulators also answer in-process; every client is tested over loopback."""
SECRET_CREDENTIALS = ("password", "tenant_key", "tenant_secret", "api_key", "client_secret")

collect_ignore = [] if os.environ.get("FINAUTH_DOCS_SITE") else ["docs/test_site.py"]
"""The built site, checked in a browser: `nox -s docs-browser` builds it and runs that
module; no other run needs a browser."""


@dataclass
class Rig:
    """One emulator, reached the way this test run's parameters say."""

    emulator: Emulator
    base_url: str
    client: str
    transport: str
    stack: ExitStack

    @property
    def kind(self) -> str:
        return CLIENTS[self.client][0]

    @property
    def package(self) -> str:
        """The package the client comes from: its kind up to the first hyphen."""
        return self.kind.partition("-")[0]

    @property
    def family(self) -> str:
        """The adapter the client goes through: "requests", "httpx" or "aiohttp"."""
        return FAMILIES.get(self.package, self.package)

    @property
    def is_async(self) -> bool:
        return self.kind.endswith("-async") or self.kind == "aiohttp"

    @property
    def resends_in_history(self) -> bool:
        """Whether a re-sent request's 401 shows in the answer's history: aiohttp's holds
        redirects only, and a middleware cannot add to it."""
        return self.family != "aiohttp"

    @property
    def renews_apart(self) -> bool:
        """Whether login and refresh go out from a task of their own, not as requests of
        the auth flow: with every async client under asyncio (not httpx's under trio)."""
        return self.is_async and CLIENTS[self.client][1] == "asyncio"

    def auth(self, **options: Any) -> ProviderAuth:
        """The provider's auth for the emulator's account; `options` override."""
        auth: ProviderAuth = self.emulator.auth(self.base_url, **options)
        self.stack.callback(auth.close)
        return auth

    def open(self, auth: Any) -> Fetch:
        """A client of this run's kind using `auth`, closed after the test."""
        kind, backend = CLIENTS[self.client]
        emulator = self.emulator if self.transport == "in-process" else None
        return self.stack.enter_context(
            open_client(kind, auth=auth, emulator=emulator, backend=backend)
        )

    def url(self, path: str | None = None) -> str:
        return self.base_url + (path or self.emulator.sample_path)

    def calls_to(self, path: str | None = None) -> list[Call]:
        path = path or self.emulator.sample_path
        return [call for call in self.emulator.calls if call.path == path]

    def secrets(self) -> set[str]:
        """What must never appear in a log, error or repr: credentials and issued tokens."""
        credentials = self.emulator.credentials()
        found = {credentials[name] for name in SECRET_CREDENTIALS if name in credentials}
        return found | set(self.emulator.issued)


def make_due(auth: ProviderAuth, left: float = 30.0) -> None:
    """Give `auth`'s token `left` seconds to live, as if it had served most of a long life:
    due for renewal before the next request (R3) once `left` is inside the margin.

    A token fresh from an emulator never is, however short it lives: R14 renews a token
    only once it has lived half its lifetime. The provider still takes the aged token.
    """
    token = auth.token
    assert token is not None, "log in first"
    earlier = timedelta(seconds=token.expires_in - left)
    aged = replace(
        token, expires_at=token.expires_at - earlier, obtained_at=token.obtained_at - earlier
    )
    auth.store.set(auth._flow.key, aged)
    auth._flow._remember(aged)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """R9's backoff, shrunk so retry tests take milliseconds (Retry-After still counts)."""
    monkeypatch.setattr(finauth._retry, "BASE_DELAY", 0.001)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the in-process runs of the clients that have no in-process transport,
    saying so in pytest's count of deselected tests; mark each client's runs with what
    it is built on (`niquests`, `urllib3`), whether finauth depends on it
    (`optional_client`) and whether it runs in-process (`in_process`), for the sessions
    that choose by them."""
    unserved = [item for item in items if _in_process_without_transport(item)]
    if unserved:
        config.hook.pytest_deselected(items=unserved)
        items[:] = [item for item in items if not _in_process_without_transport(item)]
    for item in items:
        client = _params(item).get("client_name", "")
        if client.startswith("niquests"):
            item.add_marker(pytest.mark.niquests)
        if client.startswith(("niquests", "requests")):
            item.add_marker(pytest.mark.urllib3)
        if client.startswith(("niquests", "httpx2", "aiohttp")):
            item.add_marker(pytest.mark.optional_client)
        if _params(item).get("transport") == "in-process":
            item.add_marker(pytest.mark.in_process)


def _params(item: pytest.Item) -> dict[str, Any]:
    callspec = getattr(item, "callspec", None)
    return callspec.params if callspec is not None else {}


def _in_process_without_transport(item: pytest.Item) -> bool:
    """An in-process run of a client with no in-process transport, or of the example
    provider: the in-process transports serve the same emulator without sockets, through
    the same code of finauth's, so its loopback runs, every client's, stand for them."""
    params = _params(item)
    return params.get("transport") == "in-process" and (
        params.get("client_name", "requests") not in IN_PROCESS_CLIENTS
        or params.get("provider") == OAuth2Emulator.name
    )


MATRIX_PROVIDERS = os.environ.get("FINAUTH_MATRIX_PROVIDERS", ",".join(PROVIDERS)).split(",")
"""The providers of the client matrix (`provider`, `rig`): all of them, unless a session
names fewer (`nox -s tests-lowest`)."""


@pytest.fixture(params=MATRIX_PROVIDERS)
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(params=list(CLIENTS))
def client_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def rig(provider: str, client_name: str, transport: str) -> Iterator[Rig]:
    emulator = PROVIDERS[provider]()
    with ExitStack() as stack:
        if transport == "loopback":
            base_url = stack.enter_context(EmulatorServer(emulator)).base_url
        else:
            base_url = emulator.production_url
        yield Rig(emulator, base_url, client_name, transport, stack)


@pytest.fixture
def auth(rig: Rig) -> ProviderAuth:
    return rig.auth()


@pytest.fixture
def fetch(rig: Rig, auth: ProviderAuth) -> Fetch:
    return rig.open(auth)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session; `redis_url` empties it for each test."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url
