"""Serving an emulator in-process to aiohttp: a connection with the emulator at its far end.

Where a stub steps in. The finauth middleware must run as it does against the provider,
so the stub answers below the middlewares. There, aiohttp (3.14, as read for this) sends
a request with `_connect_and_send_request`, a closure `ClientSession._request` makes anew
for each request (nothing to hook), which takes a connection from the session's connector
and writes the request to it. `TCPConnector._create_connection`, where the connector of every
session (unless the user gives another kind) resolves the host and opens a socket, is the
one place below the middlewares that sees each new connection before anything leaves the
process: for a stub's origin it returns an in-process connection, whose transport reads
the request with h11 and hands the emulator's answer back as bytes. Everything else is
aiohttp's own: middlewares, cookies, redirects, timeouts, parsing and releasing the answer.
Each connection carries one request and then closes, so none outlives its stub in a pool.
The alternatives skip the middlewares (`ClientSession._request`) or build a
`ClientResponse` by hand, as aioresponses does, with a constructor aiohttp changes
(3.14 added an argument, aioresponses issue #289).

Beside aioresponses. aioresponses patches `ClientSession._request`, above the middlewares,
and answers every request there (one it does not know is refused). So a stub also hooks
`_request`: its origin's requests go to aiohttp's own `_request`, found beneath the patch
(`unittest.mock` keeps what an active patch replaced), every other to what is there. An
aioresponses started after the stub patches over that hook; the stub then puts it back on
top (see `stub._on_top_again`), and aioresponses, stopping, puts back what it replaced.

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
    """What aiohttp writes a request to and reads the emulator's answer from, as from a
    socket: the answer arrives from the event loop, once the request is whole."""

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
