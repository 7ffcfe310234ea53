"""Serving an emulator in-process: to httpx and httpx2 via MockTransport, to requests via an
adapter (niquests' adapters are in `_niquests`, aiohttp's connections in `_aiohttp`)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from email.message import Message
from http import HTTPStatus
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from ._emulator import Call, Emulator, Reply


def httpx_handler(emulator: Emulator, library: ModuleType = httpx) -> Callable[[Any], Any]:
    """A MockTransport handler for `library`, httpx or httpx2: the two have the same API, and
    each wants responses of its own classes. The emulator reads headers as httpx's."""

    def handle(request: Any) -> Any:
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        headers = httpx.Headers(request.headers.multi_items())
        reply = emulator.handle(Call(request.method, path, query, headers, request.read()))
        return library.Response(reply.status, headers=list(reply.headers), content=reply.body)

    return handle


class EmulatorAdapter(HTTPAdapter):
    """A requests transport adapter whose every request the emulator answers."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        reply = self.emulator.handle(prepared_call(request))
        return self.build_response(request, _urllib3_response(reply))


def prepared_call(request: Any) -> Call:
    """The Call of a prepared request of requests or niquests."""
    parts = urlsplit(request.url or "")
    headers = httpx.Headers(dict(request.headers))
    body = _read(request.body)
    return Call(request.method or "GET", parts.path or "/", parts.query, headers, body)


def _read(body: object) -> bytes:
    """The whole body of a prepared request, however requests holds it."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    read = getattr(body, "read", None)
    if read is not None:
        data = read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in body)  # type: ignore[attr-defined]


class _Original:
    """What requests reads cookies from: the `http.client` response behind urllib3's."""

    def __init__(self, headers: tuple[tuple[str, str], ...]) -> None:
        self.msg = Message()
        for name, value in headers:
            self.msg[name] = value

    def isclosed(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _urllib3_response(reply: Reply, response_class: type[Any] = HTTPResponse) -> Any:
    """`reply` as the urllib3 response `response_class` (urllib3's, or urllib3-future's sync
    or async one, which niquests uses: the same arguments make each)."""
    return response_class(
        body=io.BytesIO(reply.body),
        headers=framed_headers(reply),
        status=reply.status,
        reason=reason_of(reply.status),
        version=11,
        preload_content=False,
        original_response=_Original(reply.headers),
    )


def framed_headers(reply: Reply) -> list[tuple[str, str]]:
    """The headers of `reply`, repeated ones apart, with its Content-Length."""
    headers = [(name, value) for name, value in reply.headers if name.lower() != "content-length"]
    return [*headers, ("Content-Length", str(len(reply.body)))]


def reason_of(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None
