"""Serving an emulator in-process to niquests: a sync and an async adapter.

niquests is requests' API on urllib3-future, whose responses (sync and async) are built
from the same arguments as urllib3's: each adapter reads a request as requests' adapter
does and hands the reply to niquests' own `build_response`, so cookies, encoding and
hooks are niquests' own. Imported only once niquests is.
"""

from __future__ import annotations

from typing import Any

from niquests import AsyncResponse, PreparedRequest, Response
from niquests.adapters import AsyncHTTPAdapter, HTTPAdapter
from niquests.packages import urllib3  # urllib3-future, under whichever name it has

from ._emulator import Emulator
from ._transports import _urllib3_response, prepared_call


class NiquestsAdapter(HTTPAdapter):
    """A niquests `Session` adapter whose every request the emulator answers."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        reply = self.emulator.handle(prepared_call(request))
        return self.build_response(request, _urllib3_response(reply, urllib3.HTTPResponse))


class AsyncNiquestsAdapter(AsyncHTTPAdapter):
    """A niquests `AsyncSession` adapter whose every request the emulator answers."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__()
        self.emulator = emulator

    async def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> AsyncResponse:
        reply = self.emulator.handle(prepared_call(request))
        return self.build_response(request, _urllib3_response(reply, urllib3.AsyncHTTPResponse))
