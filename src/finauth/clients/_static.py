"""Auths that only add something to each request bound for their origin, on every client.

No login, no renewal, no state: what such an auth adds is decided by `apply` alone, so
each client needs only the call that lets it run (`FincruxAPIKeyAuth`'s key).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import httpx
import requests

from .._wire import Outgoing
from ._aiohttp import ClientRequestView
from ._httpx import Httpx2Accepted, RequestView
from ._requests import PreparedView

if TYPE_CHECKING:
    from aiohttp import ClientRequest, ClientResponse

    from ._aiohttp import Handler


class StaticAuth(Httpx2Accepted, requests.auth.AuthBase, httpx.Auth):
    """`apply`, run by requests, niquests, httpx, httpx2 and aiohttp (as a middleware),
    and by niquests' AsyncSession through `as_async()`."""

    def apply(self, request: Outgoing) -> None:
        raise NotImplementedError

    def __call__(self, request: Any, handler: Any = None) -> Any:
        """requests and niquests call an auth with their request; aiohttp calls it, as a
        middleware, with its request and the handler that sends it."""
        if handler is None:
            self.apply(PreparedView(request))
            return request
        return self._middleware(request, handler)

    async def _middleware(self, request: ClientRequest, handler: Handler) -> ClientResponse:
        self.apply(ClientRequestView(request))
        return await handler(request)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.apply(RequestView(request))
        yield request

    def as_async(self) -> AsyncStaticAuth:
        """This auth for niquests' `AsyncSession`, which takes only an auth whose
        `__call__` is a coroutine function."""
        return AsyncStaticAuth(self)


class AsyncStaticAuth:
    """A StaticAuth as niquests' AsyncSession needs it."""

    def __init__(self, auth: StaticAuth) -> None:
        self._auth = auth

    async def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._auth.apply(PreparedView(request))
        return request

    def __repr__(self) -> str:
        return f"{self._auth!r}.as_async()"
