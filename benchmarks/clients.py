"""One ready client per variant: the same client class with a static header, finauth, or a peer.

A `Family` is one client class: how it is opened, given either default headers
or an auth, and which auth is its hand-written floor. Every family has the same
three variants, the static header, the hand-written auth and finauth, built by
`factories`; the peers come on the classes they support. A factory builds the
client and registers its clean-up on the stack it is given.

The clients finauth does not depend on (httpx2, niquests, aiohttp) are imported
when first built; a family whose package is missing is left out (`installed`).

Every variant renews `MARGIN` seconds before expiry, so the storms can hand all
of them a token that falls inside that margin (see `storms`).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Generator, Mapping, MutableMapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from functools import cache, partial
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import requests

from . import peers
from .emulator import BARE, IN_MEMORY, LOOPBACK, Site
from .timing import BASELINE

if TYPE_CHECKING:
    import aiohttp

FINAUTH = "finauth"
HAND_WRITTEN = "hand-written auth"
"""The floor any `auth=` object pays: a minimal auth that sets the same static header."""
VARIANTS = (BASELINE, HAND_WRITTEN, FINAUTH)
"""What every family is timed with; the peers come on top, where they exist."""
MARGIN = 60.0
"""Seconds before expiry at which every variant renews (finauth's and authlib's default)."""

Factory = Callable[[Site, Any], Any]
"""Given a Site and an ExitStack, a client; for an async family, an AsyncExitStack and
an awaitable of the client."""
EVERYWHERE = (IN_MEMORY, BARE, LOOPBACK)
OVER_HTTP = (LOOPBACK,)
"""Where niquests and aiohttp go: no in-memory transport of theirs serves the emulator."""


@dataclass(frozen=True, kw_only=True)
class Family:
    """A client class, as the benchmarks time it."""

    name: str
    """The class, as the rows name it."""
    package: str
    """What must be installed for it."""
    open: Callable[[Site, Any, dict[str, Any]], Any]
    """The client, given `headers=` or an auth as `takes` says, its clean-up on the stack."""
    floor: Callable[[dict[str, str]], Any]
    """The hand-written auth that sets these headers."""
    get: Callable[[Any, str], Any]
    """Sends the timed GET with the client: its status code, or an awaitable of it."""
    fetch: Callable[[Any, str], Any]
    """`get`, but the response itself (its body read), or an awaitable of it."""
    status: Callable[[Any], int] = attrgetter("status_code")
    """A fetched response's status."""
    asynchronous: bool = False
    transports: tuple[str, ...] = EVERYWHERE
    takes: Callable[[Any], dict[str, Any]] = lambda auth: {"auth": auth}
    """The client's keyword argument for an auth."""
    adapt: Callable[[Any], Any] = lambda auth: auth
    """finauth's auth as this client takes it."""
    peers: Mapping[str, Factory] = field(default_factory=dict)


def factories(family: Family) -> dict[str, Factory]:
    """Per variant, what builds `family`'s client: the three of every family, then the peers."""
    return {**{variant: partial(_build, family, variant) for variant in VARIANTS}, **family.peers}


def installed(families: Mapping[str, Family]) -> list[Family]:
    """The families whose package can be imported here."""
    return [family for family in families.values() if _importable(family.package)]


def missing() -> list[str]:
    """The packages of the families left out of this run, each named once."""
    return sorted({f.package for f in FAMILIES.values() if not _importable(f.package)})


def _importable(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _build(family: Family, variant: str, site: Site, stack: ExitStack | AsyncExitStack) -> Any:
    if variant == BASELINE:
        return family.open(site, stack, {"headers": site.static_header()})
    if variant == HAND_WRITTEN:
        return family.open(site, stack, family.takes(family.floor(site.static_header())))
    auth = family.adapt(site.finauth(stack, refresh_margin=MARGIN))
    return family.open(site, stack, family.takes(auth))


class _HasHeaders(Protocol):
    @property
    def headers(self) -> MutableMapping[str, str]: ...


_Request = TypeVar("_Request", bound=_HasHeaders)


class _HeaderAuth(requests.auth.AuthBase):
    """The floor of requests and niquests' Session: an `AuthBase` that sets a header."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def __call__(self, request: _Request) -> _Request:
        request.headers.update(self._headers)
        return request


class _AsyncHeaderAuth(_HeaderAuth):
    """The floor of niquests' AsyncSession, which awaits an auth whose `__call__` is async."""

    async def __call__(self, request: _Request) -> _Request:  # type: ignore[override]
        return super().__call__(request)


@cache
def _flow_auth(package: str) -> type[Any]:
    """The floor of httpx and httpx2: `package`'s `Auth` with a two-line flow."""
    auth: Any = importlib.import_module(package).Auth

    class HeaderFlow(auth):  # type: ignore[misc]  # httpx's or httpx2's, Any to mypy
        def __init__(self, headers: dict[str, str]) -> None:
            self._headers = headers

        def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
            request.headers.update(self._headers)
            yield request

    return HeaderFlow


def _header_middleware(headers: dict[str, str]) -> aiohttp.ClientMiddlewareType:
    """The floor of aiohttp: the minimal client middleware."""

    async def middleware(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        request.headers.update(headers)
        return await handler(request)

    return middleware


def _requests(site: Site, stack: ExitStack, given: dict[str, Any]) -> requests.Session:
    """requests.Session() takes no arguments: its headers and auth are set on it."""
    session: requests.Session = _given(stack.enter_context(site.reach(requests.Session())), given)
    return session


def _httpx(package: str, site: Site, stack: ExitStack, given: dict[str, Any]) -> Any:
    client = importlib.import_module(package).Client(**given, **site.httpx_options(package))
    return stack.enter_context(client)


async def _httpx_async(
    package: str, site: Site, stack: AsyncExitStack, given: dict[str, Any]
) -> Any:
    library = importlib.import_module(package)
    client = library.AsyncClient(**given, **site.httpx_options(package))
    return await stack.enter_async_context(client)


def _niquests(site: Site, stack: ExitStack, given: dict[str, Any]) -> Any:
    """Without the environment's proxies and .netrc, as `Site.reach` does for requests."""
    import niquests

    return _given(stack.enter_context(niquests.Session()), given)


async def _niquests_async(site: Site, stack: AsyncExitStack, given: dict[str, Any]) -> Any:
    import niquests

    return _given(await stack.enter_async_context(niquests.AsyncSession()), given)


def _given(session: Any, given: dict[str, Any]) -> Any:
    """A requests or niquests session, without the environment, and with the static header
    added to its default headers, as every other client's is: niquests'
    `Session(headers=...)` sends those instead of its defaults (User-Agent, Accept,
    Accept-Encoding, Connection), a baseline lighter than any auth."""
    session.headers.update(given.get("headers", {}))
    session.auth = given.get("auth")
    session.trust_env = False
    return session


async def _aiohttp(site: Site, stack: AsyncExitStack, given: dict[str, Any]) -> Any:
    import aiohttp

    return await stack.enter_async_context(aiohttp.ClientSession(**given))


def _status(client: Any, url: str) -> int:
    status: int = client.get(url).status_code
    return status


async def _async_status(client: Any, url: str) -> int:
    status: int = (await client.get(url)).status_code
    return status


async def _aiohttp_status(session: aiohttp.ClientSession, url: str) -> int:
    """The body read, as the other clients read it, and the connection back in the pool."""
    async with session.get(url) as response:
        await response.read()
        return response.status


def _response(client: Any, url: str) -> Any:
    return client.get(url)


async def _async_response(client: Any, url: str) -> Any:
    return await client.get(url)


async def _aiohttp_response(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    async with session.get(url) as response:
        await response.read()
        return response


def _httpx_family(package: str, asynchronous: bool) -> Family:
    """httpx's or httpx2's Client or AsyncClient, with the peers built on it."""
    peered = ASYNC_PEERS if asynchronous else SYNC_PEERS
    return Family(
        name=f"{package}.{'AsyncClient' if asynchronous else 'Client'}",
        package=package,
        open=partial(_httpx_async if asynchronous else _httpx, package),
        floor=lambda headers: _flow_auth(package)(headers),
        get=_async_status if asynchronous else _status,
        fetch=_async_response if asynchronous else _response,
        asynchronous=asynchronous,
        peers={
            peer: peered[peer] for peer, built_on in PEERS_BUILT_ON.items() if built_on == package
        },
    )


def _httpx_auth_client(site: Site, stack: ExitStack) -> Any:
    return _httpx("httpx", site, stack, {"auth": peers.httpx_auth(site, stack, MARGIN)})


async def _httpx_auth_async(site: Site, stack: AsyncExitStack) -> Any:
    auth = peers.httpx_auth(site, stack, MARGIN)
    return await _httpx_async("httpx", site, stack, {"auth": auth})


PEERS_BUILT_ON = {peers.HTTPX_AUTH: "httpx", peers.AUTHLIB: peers.AUTHLIB_PACKAGE}
"""The package whose Client and AsyncClient each peer's are: authlib's is httpx2 when
installed."""
SYNC_PEERS: dict[str, Factory] = {
    peers.HTTPX_AUTH: _httpx_auth_client,
    peers.AUTHLIB: partial(peers.authlib_client, margin=MARGIN),
}
ASYNC_PEERS: dict[str, Factory] = {
    peers.HTTPX_AUTH: _httpx_auth_async,
    peers.AUTHLIB: partial(peers.authlib_async_client, margin=MARGIN),
}
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            name="requests",
            package="requests",
            open=_requests,
            floor=_HeaderAuth,
            get=_status,
            fetch=_response,
            peers={peers.AUTHLIB: partial(peers.authlib_session, margin=MARGIN)},
        ),
        _httpx_family("httpx", asynchronous=False),
        _httpx_family("httpx", asynchronous=True),
        _httpx_family("httpx2", asynchronous=False),
        _httpx_family("httpx2", asynchronous=True),
        Family(
            name="niquests.Session",
            package="niquests",
            open=_niquests,
            floor=_HeaderAuth,
            get=_status,
            fetch=_response,
            transports=OVER_HTTP,
        ),
        Family(
            name="niquests.AsyncSession",
            package="niquests",
            open=_niquests_async,
            floor=_AsyncHeaderAuth,
            get=_async_status,
            fetch=_async_response,
            asynchronous=True,
            transports=OVER_HTTP,
            adapt=lambda auth: auth.as_async(),
        ),
        Family(
            name="aiohttp.ClientSession",
            package="aiohttp",
            open=_aiohttp,
            floor=_header_middleware,
            get=_aiohttp_status,
            fetch=_aiohttp_response,
            status=attrgetter("status"),
            asynchronous=True,
            transports=OVER_HTTP,
            takes=lambda middleware: {"middlewares": (middleware,)},
        ),
    )
}
"""Every client class finauth works with; httpx-auth is httpx-only, authlib has no niquests
or aiohttp client, and its httpx one is httpx2's when that is installed."""
SESSIONS = factories(FAMILIES["requests"])
CLIENTS = factories(FAMILIES["httpx.Client"])
ASYNC_CLIENTS = factories(FAMILIES["httpx.AsyncClient"])
"""The variants of requests.Session, httpx.Client and httpx.AsyncClient, which the
storms of processes, the growth and the hot path look at closely."""
