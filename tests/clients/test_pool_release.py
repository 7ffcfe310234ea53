"""R6 (v2): a caller answered 401 reads and releases that answer before it waits for the
renewal, and before it makes the renewal itself.

Otherwise each waiter holds a connection of its client's pool while it waits, and the
renewal, which goes through the same client (R13), may find none left: see the small-
pool storms in test_storms.py. Here the httpx adapter is watched directly: a transport
around the emulator's in-process one counts the user's answers handed out and not yet
closed, and notes that count when a login or refresh reaches it. It holds that call back
until every caller has had its 401 and closed it (or a second has passed), so a waiter's
answer left open shows, not only the renewer's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from crowd import crowd

from conftest import Rig
from finauth.testing import Emulator

pytestmark = [
    pytest.mark.parametrize("transport", ["in-process"]),
    pytest.mark.parametrize("client_name", ["httpx", "httpx-asyncio", "httpx-trio"]),
    pytest.mark.timeout(30),
]

CALLERS = 4
"""Callers answered 401 at once: one renews, the others wait."""
HOLD = 1.0
"""Seconds at most that an auth call is held back for the callers' answers to close."""
POLL = 0.005


class _Watched(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A user's answer's body, which tells the ledger when it is closed (read to its end,
    or closed unread)."""

    def __init__(self, body: bytes, closed: Callable[[], None]) -> None:
        self._body = body
        self._closed: Callable[[], None] | None = closed

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body

    def close(self) -> None:
        closed, self._closed = self._closed, None
        if closed is not None:
            closed()

    async def aclose(self) -> None:
        self.close()


class Ledger(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The emulator in-process, counting the user's answers that are still open."""

    def __init__(self, emulator: Emulator, callers: int) -> None:
        self._inner = emulator.httpx_transport()
        self._user_path = emulator.sample_path
        self._callers = callers
        self._lock = threading.Lock()
        self.watching = False
        """Set once the callers' token is refused: auth calls are held back and noted."""
        self.answered = 0
        """The user's requests answered while watching."""
        self.open = 0
        """The user's answers handed out and not yet closed."""
        self.at_auth_calls: list[int] = []
        """`open` as each login or refresh arrived while watching, once the callers had
        been answered."""

    def watch(self) -> None:
        """From now on, hold back and note each auth call."""
        self.watching = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != self._user_path and self.watching:
            deadline = time.monotonic() + HOLD
            while not self._settled() and time.monotonic() < deadline:
                time.sleep(POLL)
            self.at_auth_calls.append(self.open)
            return self._inner.handle_request(request)
        return self._watched(self._inner.handle_request(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != self._user_path and self.watching:
            with anyio.move_on_after(HOLD):
                while not self._settled():
                    await anyio.sleep(POLL)
            self.at_auth_calls.append(self.open)
            return await self._inner.handle_async_request(request)
        return self._watched(await self._inner.handle_async_request(request))

    def _settled(self) -> bool:
        """Whether every caller has been answered and every answer closed: what a renewal
        should find."""
        return self.answered >= self._callers and self.open == 0

    def _watched(self, response: httpx.Response) -> httpx.Response:
        with self._lock:
            if self.watching:
                self.answered += 1
            self.open += 1
        body = response.read()
        stream = _Watched(body, self._closed)
        return httpx.Response(response.status_code, headers=response.headers, stream=stream)

    def _closed(self) -> None:
        with self._lock:
            self.open -= 1


@pytest.mark.parametrize(
    ("spoil", "renewals"),
    [
        pytest.param("expire_tokens", (1, 1), id="expired-refresh"),
        pytest.param("revoke_tokens", (2, 1), id="revoked-refresh-then-login"),
    ],
)
def test_a_401_is_released_before_the_renewal(
    rig: Rig, spoil: str, renewals: tuple[int, int]
) -> None:
    """CALLERS callers answered 401 at once: the refresh that follows (and when it is
    refused, the login) finds every one of their answers closed. `renewals`: (logins,
    refreshes), the first login included."""
    ledger = Ledger(rig.emulator, CALLERS)
    options: dict[str, Any] = {"transport": ledger}

    def refuse_the_token() -> None:
        getattr(rig.emulator, spoil)()  # the emulator's own: FinHub's revokes sessions too
        ledger.watch()

    outcomes = crowd(rig, rig.auth(), CALLERS, refuse_the_token, **options)

    assert outcomes == [200] * CALLERS
    assert ledger.answered == 2 * CALLERS  # each caller's 401, then its request re-sent
    assert (rig.emulator.logins, rig.emulator.refreshes) == renewals
    # Each auth call after the first login (a refresh; when refused, a login) found every
    # caller's 401 read and closed.
    assert ledger.at_auth_calls == [0] * (sum(renewals) - 1)
