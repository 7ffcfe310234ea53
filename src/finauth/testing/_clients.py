"""One way to send a request with every client finauth supports, for the demo and tests.

Each client kind is opened as a plain function `fetch(method, url, **kwargs)`;
async clients run in an event loop of their own (asyncio or trio) behind an
anyio blocking portal, so one scenario can drive every kind. httpx2, niquests and
aiohttp are imported when their kind is opened, and only over HTTP (no `emulator`).

The keyword arguments are the client's own, but for two that every kind takes:
`content=` (the body: aiohttp, requests and niquests call it `data=`) and
`follow_redirects=` (`allow_redirects=`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.from_thread
import httpx
import requests

from ._emulator import Emulator

CLIENT_KINDS = ("requests", "httpx", "httpx-async")
"""The clients finauth depends on."""
OPTIONAL_CLIENT_KINDS = ("httpx2", "httpx2-async", "niquests", "niquests-async", "aiohttp")
"""The clients a user may have installed: each kind is named after the package it needs,
up to the first hyphen."""


@dataclass(frozen=True)
class Fetched:
    """What came back, whichever client fetched it."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    history: list[int]
    """Status codes of the responses before this one (401s re-sent, redirects)."""

    def json(self) -> Any:
        return json.loads(self.content)


Fetch = Callable[..., Fetched]


@contextmanager
def open_client(
    kind: str, *, auth: Any = None, emulator: Emulator | None = None, backend: str = "asyncio"
) -> Iterator[Fetch]:
    """A client of `kind` using `auth`; with `emulator`, served in-process instead of over HTTP.

    In-process with requests, the emulator is mounted on the auth's own login
    session too, since login traffic goes through it (R13).
    """
    if emulator is not None and kind in OPTIONAL_CLIENT_KINDS:
        raise ValueError(f"{kind} is opened over HTTP only, without an emulator")
    with ExitStack() as stack:
        if kind == "requests":
            session = stack.enter_context(requests.Session())
            if emulator is not None:
                for mounted in (session, getattr(auth, "session", None)):
                    if mounted is not None:
                        mounted.mount("http://", emulator.requests_adapter())
                        mounted.mount("https://", emulator.requests_adapter())
            yield partial(_requests_fetch, session, auth)
        elif kind == "niquests":
            import niquests

            yield partial(_requests_fetch, stack.enter_context(niquests.Session()), auth)
        elif kind in ("httpx", "httpx2"):
            library = importlib.import_module(kind)
            transport = emulator.httpx_transport() if emulator is not None else None
            client = stack.enter_context(library.Client(auth=auth, transport=transport))
            yield partial(_httpx_fetch, client)
        elif kind in ASYNC_CLIENTS:
            portal = stack.enter_context(anyio.from_thread.start_blocking_portal(backend))
            opened = portal.call(partial(ASYNC_CLIENTS[kind], auth, emulator))
            stack.callback(portal.call, opened.close)
            yield partial(_portal_fetch, portal, opened.fetch)
        else:
            kinds = (*CLIENT_KINDS, *OPTIONAL_CLIENT_KINDS)
            raise ValueError(f"unknown client kind {kind!r}; choose from {kinds}")


def _requests_fetch(session: Any, auth: Any, method: str, url: str, **kwargs: Any) -> Fetched:
    kwargs.setdefault("auth", auth)
    return _fetched(session.request(method, url, **_as_requests_takes(kwargs)))


def _httpx_fetch(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Fetched:
    return _fetched(client.request(method, url, **kwargs))


def _as_requests_takes(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`content=` and `follow_redirects=` as requests, niquests and aiohttp name them."""
    if "content" in kwargs:
        kwargs["data"] = kwargs.pop("content")
    if "follow_redirects" in kwargs:
        kwargs["allow_redirects"] = kwargs.pop("follow_redirects")
    return kwargs


@dataclass(frozen=True)
class _Opened:
    """An async client, opened in the portal's event loop."""

    fetch: Callable[..., Awaitable[Fetched]]
    close: Callable[[], Awaitable[Any]]


async def _httpx_async(library: str, auth: Any, emulator: Emulator | None) -> _Opened:
    transport = emulator.httpx_transport() if emulator is not None else None
    client = importlib.import_module(library).AsyncClient(auth=auth, transport=transport)

    async def fetch(method: str, url: str, **kwargs: Any) -> Fetched:
        return _fetched(await client.request(method, url, **kwargs))

    return _Opened(fetch, client.aclose)


async def _niquests_async(auth: Any, emulator: Emulator | None) -> _Opened:
    import niquests

    session = niquests.AsyncSession()
    auth = auth.as_async() if auth is not None else None

    async def fetch(method: str, url: str, **kwargs: Any) -> Fetched:
        kwargs.setdefault("auth", auth)
        response = await session.request(method, url, **_as_requests_takes(kwargs))
        return _fetched(response)

    return _Opened(fetch, session.close)


async def _aiohttp(auth: Any, emulator: Emulator | None) -> _Opened:
    import aiohttp

    session = aiohttp.ClientSession(middlewares=(auth,) if auth is not None else ())

    async def fetch(method: str, url: str, **kwargs: Any) -> Fetched:
        if isinstance(kwargs.get("timeout"), int | float):
            kwargs["timeout"] = aiohttp.ClientTimeout(total=kwargs["timeout"])
        async with session.request(method, url, **_as_requests_takes(kwargs)) as response:
            content = await response.read()
            return Fetched(
                response.status,
                dict(response.headers),
                content,
                [earlier.status for earlier in response.history],
            )

    return _Opened(fetch, session.close)


ASYNC_CLIENTS: dict[str, Callable[[Any, Emulator | None], Awaitable[_Opened]]] = {
    "httpx-async": partial(_httpx_async, "httpx"),
    "httpx2-async": partial(_httpx_async, "httpx2"),
    "niquests-async": _niquests_async,
    "aiohttp": _aiohttp,
}


def _portal_fetch(
    portal: anyio.from_thread.BlockingPortal,
    fetch: Callable[..., Awaitable[Fetched]],
    method: str,
    url: str,
    **kwargs: Any,
) -> Fetched:
    return portal.call(partial(fetch, method, url, **kwargs))


def _fetched(response: Any) -> Fetched:
    return Fetched(
        response.status_code,
        dict(response.headers),
        response.content,
        [earlier.status_code for earlier in response.history],
    )
