"""One ready client per variant: the same client class with a static header, finauth, or a peer.

A factory builds the client and registers its clean-up on the stack it is
given. Every variant renews `MARGIN` seconds before expiry, so the storms can
hand all of them a token that falls inside that margin (see `storms`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from contextlib import AsyncExitStack, ExitStack

import httpx
import requests

from . import peers
from .emulator import Site
from .timing import BASELINE

FINAUTH = "finauth"
HAND_WRITTEN = "hand-written auth"
"""The floor any `auth=` object pays: a minimal auth that sets the same static header."""
MARGIN = 60.0
"""Seconds before expiry at which every variant renews (finauth's and authlib's default)."""

SessionFactory = Callable[[Site, ExitStack], requests.Session]
ClientFactory = Callable[[Site, ExitStack], httpx.Client]
AsyncClientFactory = Callable[[Site, AsyncExitStack], Awaitable[httpx.AsyncClient]]


def static_session(site: Site, stack: ExitStack) -> requests.Session:
    session = stack.enter_context(site.reach(requests.Session()))
    session.headers.update(site.static_header())
    return session


class _HeaderAuth(requests.auth.AuthBase, httpx.Auth):
    """A hand-written auth: requests' `AuthBase` setting a header, httpx's two-line flow."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.update(self._headers)
        return request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._headers)
        yield request


def hand_written_session(site: Site, stack: ExitStack) -> requests.Session:
    session = stack.enter_context(site.reach(requests.Session()))
    session.auth = _HeaderAuth(site.static_header())
    return session


def hand_written_client(site: Site, stack: ExitStack) -> httpx.Client:
    auth = _HeaderAuth(site.static_header())
    return stack.enter_context(httpx.Client(auth=auth, **site.httpx_options()))


async def hand_written_async(site: Site, stack: AsyncExitStack) -> httpx.AsyncClient:
    client = httpx.AsyncClient(auth=_HeaderAuth(site.static_header()), **site.httpx_options())
    return await stack.enter_async_context(client)


def finauth_session(site: Site, stack: ExitStack) -> requests.Session:
    session = stack.enter_context(site.reach(requests.Session()))
    session.auth = site.finauth(stack, refresh_margin=MARGIN)
    return session


def static_client(site: Site, stack: ExitStack) -> httpx.Client:
    return stack.enter_context(httpx.Client(headers=site.static_header(), **site.httpx_options()))


def finauth_client(site: Site, stack: ExitStack) -> httpx.Client:
    auth = site.finauth(stack, refresh_margin=MARGIN)
    return stack.enter_context(httpx.Client(auth=auth, **site.httpx_options()))


def httpx_auth_client(site: Site, stack: ExitStack) -> httpx.Client:
    auth = peers.httpx_auth(site, stack, MARGIN)
    return stack.enter_context(httpx.Client(auth=auth, **site.httpx_options()))


async def static_async(site: Site, stack: AsyncExitStack) -> httpx.AsyncClient:
    client = httpx.AsyncClient(headers=site.static_header(), **site.httpx_options())
    return await stack.enter_async_context(client)


async def finauth_async(site: Site, stack: AsyncExitStack) -> httpx.AsyncClient:
    auth = site.finauth(stack, refresh_margin=MARGIN)
    return await stack.enter_async_context(httpx.AsyncClient(auth=auth, **site.httpx_options()))


async def httpx_auth_async(site: Site, stack: AsyncExitStack) -> httpx.AsyncClient:
    auth = peers.httpx_auth(site, stack, MARGIN)
    return await stack.enter_async_context(httpx.AsyncClient(auth=auth, **site.httpx_options()))


SESSIONS: dict[str, SessionFactory] = {
    BASELINE: static_session,
    HAND_WRITTEN: hand_written_session,
    FINAUTH: finauth_session,
    peers.AUTHLIB: lambda site, stack: peers.authlib_session(site, stack, MARGIN),
}
CLIENTS: dict[str, ClientFactory] = {
    BASELINE: static_client,
    HAND_WRITTEN: hand_written_client,
    FINAUTH: finauth_client,
    peers.HTTPX_AUTH: httpx_auth_client,
    peers.AUTHLIB: lambda site, stack: peers.authlib_client(site, stack, MARGIN),
}
ASYNC_CLIENTS: dict[str, AsyncClientFactory] = {
    BASELINE: static_async,
    HAND_WRITTEN: hand_written_async,
    FINAUTH: finauth_async,
    peers.HTTPX_AUTH: httpx_auth_async,
    peers.AUTHLIB: lambda site, stack: peers.authlib_async_client(site, stack, MARGIN),
}
"""requests.Session, httpx.Client and httpx.AsyncClient variants; httpx-auth is httpx-only."""
