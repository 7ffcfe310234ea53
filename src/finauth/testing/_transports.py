"""Serving an emulator in-process: to httpx via MockTransport, to requests via an adapter."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from email.message import Message
from http import HTTPStatus
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse
from urllib3._collections import HTTPHeaderDict

from ._emulator import Call, Emulator, Reply


def httpx_handler(emulator: Emulator) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        call = Call(request.method, path, query, httpx.Headers(request.headers), request.read())
        reply = emulator.handle(call)
        return httpx.Response(reply.status, headers=list(reply.headers), content=reply.body)

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
        parts = urlsplit(request.url or "")
        headers = httpx.Headers(dict(request.headers))
        reply = self.emulator.handle(
            Call(
                request.method or "GET",
                parts.path or "/",
                parts.query,
                headers,
                _read(request.body),
            )
        )
        return self.build_response(request, _urllib3_response(reply))


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


def _urllib3_response(reply: Reply) -> HTTPResponse:
    headers = HTTPHeaderDict()
    for name, value in reply.headers:
        headers.add(name, value)
    headers["Content-Length"] = str(len(reply.body))
    try:
        reason: str | None = HTTPStatus(reply.status).phrase
    except ValueError:
        reason = None
    return HTTPResponse(
        body=io.BytesIO(reply.body),
        headers=headers,
        status=reply.status,
        reason=reason,
        version=11,
        preload_content=False,
        original_response=_Original(reply.headers),  # type: ignore[arg-type]
    )
