"""One way to send a request with requests, httpx or httpx async, for the demo and tests.

Each client kind is opened as a plain function `fetch(method, url, **kwargs)`;
async clients run in an event loop of their own (asyncio or trio) behind an
anyio blocking portal, so one scenario can drive every kind.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.from_thread
import httpx
import requests

from ._emulator import Emulator

CLIENT_KINDS = ("requests", "httpx", "httpx-async")


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
    with ExitStack() as stack:
        if kind == "requests":
            session = stack.enter_context(requests.Session())
            if emulator is not None:
                for mounted in (session, getattr(auth, "session", None)):
                    if mounted is not None:
                        mounted.mount("http://", emulator.requests_adapter())
                        mounted.mount("https://", emulator.requests_adapter())
            yield partial(_requests_fetch, session, auth)
        elif kind == "httpx":
            transport = emulator.httpx_transport() if emulator is not None else None
            client = stack.enter_context(httpx.Client(auth=auth, transport=transport))
            yield partial(_httpx_fetch, client)
        elif kind == "httpx-async":
            portal = stack.enter_context(anyio.from_thread.start_blocking_portal(backend))
            transport = emulator.httpx_transport() if emulator is not None else None
            async_client = portal.call(partial(_async_client, auth, transport))
            stack.callback(portal.call, async_client.aclose)
            yield partial(_portal_fetch, portal, async_client)
        else:
            raise ValueError(f"unknown client kind {kind!r}; choose from {CLIENT_KINDS}")


def _requests_fetch(
    session: requests.Session, auth: Any, method: str, url: str, **kwargs: Any
) -> Fetched:
    kwargs.setdefault("auth", auth)
    return _fetched(session.request(method, url, **kwargs))


def _httpx_fetch(client: httpx.Client, method: str, url: str, **kwargs: Any) -> Fetched:
    return _fetched(client.request(method, url, **kwargs))


async def _async_client(auth: Any, transport: httpx.MockTransport | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(auth=auth, transport=transport)


def _portal_fetch(
    portal: anyio.from_thread.BlockingPortal,
    client: httpx.AsyncClient,
    method: str,
    url: str,
    **kwargs: Any,
) -> Fetched:
    return _fetched(portal.call(partial(client.request, method, url, **kwargs)))


def _fetched(response: requests.Response | httpx.Response) -> Fetched:
    return Fetched(
        response.status_code,
        dict(response.headers),
        response.content,
        [earlier.status_code for earlier in response.history],
    )
