"""Serving an emulator in-process to aiohttp: a connection with the emulator at its far end.

A stub hooks aiohttp below the client middlewares, so that the finauth middleware (or
any other) runs as it does against a server: at `TCPConnector._create_connection`, where
aiohttp would open a socket to the host. For a stub's origin it gets an in-process
transport instead, which reads the request with h11 and writes the emulator's answer
back; everything above it (middlewares, cookies, redirects, the response and its
connection's release) is aiohttp's own. Each connection carries one request and then
closes, so none outlives its stub in the session's pool.

aioresponses patches `ClientSession._request`, above the middlewares, and answers every
request there (a URL it does not know is refused). A stub's hook on `_request` sends its
origin's requests to aiohttp's own `_request` instead, found beneath the patch, and hands
everything else to what is there.

Imported only once aiohttp is.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from unittest import mock
from urllib.parse import urlsplit

import h11
import httpx
from aiohttp import ClientRequest, ClientResponse, ClientSession, ClientTimeout, TCPConnector
from aiohttp.client_proto import ResponseHandler
from yarl import URL

from ._emulator import Call, Emulator, UnmatchedRequest
from ._transports import framed_headers, reason_of

if TYPE_CHECKING:
    from .stub import Stub

StubFor = Callable[[object, str], "Stub | None"]


class InProcessTransport(asyncio.Transport):
    """What aiohttp writes a request to and reads the emulator's answer from."""

    def __init__(self, emulator: Emulator, protocol: ResponseHandler) -> None:
        super().__init__()
        self._emulator = emulator
        self._protocol = protocol
        self._loop = asyncio.get_running_loop()
        self._http = h11.Connection(h11.SERVER)
        self._request: h11.Request | None = None
        self._body = bytearray()
        self._closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._http.receive_data(bytes(data))
        while (event := self._http.next_event()) is not h11.NEED_DATA:
            if isinstance(event, h11.Request):
                self._request = event
                if self._http.they_are_waiting_for_100_continue:  # expect100=True
                    going_on = self._http.send(
                        h11.InformationalResponse(status_code=100, headers=[])
                    )
                    self._loop.call_soon(self._protocol.data_received, going_on)
            elif isinstance(event, h11.Data):
                self._body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self._answer()
                return

    def _answer(self) -> None:
        """Hand the emulator's answer to aiohttp, as data or as the emulator's error (an
        UnmatchedRequest, which reaches the caller as it is), from the event loop, as a
        socket would."""
        assert self._request is not None
        try:
            reply = self._emulator.handle(_call(self._request, bytes(self._body)))
        except UnmatchedRequest as error:
            self._loop.call_soon(self._protocol.set_exception, error)
            return
        head = h11.Response(
            status_code=reply.status,
            headers=framed_headers(reply),
            reason=reason_of(reply.status) or "",
        )
        data = self._http.send(head) or b""
        if self._request.method != b"HEAD":
            data += self._http.send(h11.Data(data=reply.body)) or b""
        data += self._http.send(h11.EndOfMessage()) or b""
        self._protocol.force_close()  # one request per connection: none stays in the pool
        self._loop.call_soon(self._protocol.data_received, data)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        """Nothing to pause: the answer is handed over whole."""

    def resume_reading(self) -> None:
        """Nothing to resume."""


def _call(request: h11.Request, body: bytes) -> Call:
    """The Call of a request as aiohttp wrote it (a path, or a full URL to a proxy)."""
    parts = urlsplit(request.target.decode("ascii"))
    raw = request.headers.raw_items()
    headers = httpx.Headers(
        [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]
    )
    return Call(request.method.decode("ascii"), parts.path or "/", parts.query, headers, body)


def connecting(original: Callable[..., Any], stub_for: StubFor) -> Callable[..., Any]:
    """A hook for `TCPConnector._create_connection`: an in-process connection to a stub's
    origin, a socket to any other."""

    async def _create_connection(
        connector: TCPConnector, request: ClientRequest, traces: list[Any], timeout: ClientTimeout
    ) -> ResponseHandler:
        stub = stub_for(request.url, "aiohttp")
        if stub is None:
            connection: ResponseHandler = await original(connector, request, traces, timeout)
            return connection
        protocol = ResponseHandler(asyncio.get_running_loop())
        protocol.connection_made(InProcessTransport(stub.emulator, protocol))
        return protocol

    return _create_connection


def requesting(original: Callable[..., Any], stub_for: StubFor) -> Callable[..., Any]:
    """A hook for `ClientSession._request`: aiohttp's own for a stub's origin, whatever
    patched it (with its middlewares, and the connection above), what is there for any
    other request. A coroutine function, as what it stands for is."""
    own = _aiohttp_own(original) or original

    async def _request(
        session: ClientSession, method: str, str_or_url: Any, **kwargs: Any
    ) -> ClientResponse:
        stub = stub_for(_url(session, str_or_url), "aiohttp")
        response: ClientResponse = await (own if stub is not None else original)(
            session, method, str_or_url, **kwargs
        )
        return response

    _request.__wrapped__ = original  # type: ignore[attr-defined]
    return _request


def _url(session: ClientSession, str_or_url: Any) -> URL | None:
    """The URL `session` will request, or None for one it will refuse in its own words."""
    try:
        return session._build_url(str_or_url)
    except ValueError:
        return None


def _aiohttp_own(function: Callable[..., Any]) -> Callable[..., Any] | None:
    """aiohttp's own `ClientSession._request`, beneath `function`: behind wrappers that say
    what they wrap (`__wrapped__`, as the stub's own hooks do), or kept by an active
    `unittest.mock` patch of `_request` (as aioresponses' is) as what it replaced."""
    source = sys.modules["aiohttp.client"].__file__
    replaced = [
        patch.temp_original
        for patch in getattr(mock._patch, "_active_patches", ())
        if patch.attribute == "_request"
    ]
    for candidate in (function, *replaced):
        while candidate is not None:
            code = getattr(candidate, "__code__", None)
            if code is not None and code.co_filename == source and code.co_name == "_request":
                own: Callable[..., Any] = candidate
                return own
            candidate = getattr(candidate, "__wrapped__", None)
    return None
