"""Single flight (R6, R12): one renewal of a token at a time in the process.

Threads take a `threading.Lock`. Each event loop (asyncio or trio) also gets an
`anyio.Semaphore` of one, so that its tasks queue without blocking the loop; the one task
at the head then takes the thread lock too (see `_worlds.in_loop`). Auth
objects that share a store and a key share a Flight, so they share its locks.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import anyio


class Flight:
    """The right to renew one token: a thread lock, and a queue per event loop."""

    def __init__(self) -> None:
        self.thread_lock = threading.Lock()
        self._loop_locks: weakref.WeakKeyDictionary[object, anyio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._guard = threading.Lock()

    def loop_lock(self) -> anyio.Semaphore:
        """The lock for the running event loop, made on first use in that loop.

        A semaphore of one, not an `anyio.Lock`, which only the task that took it may
        release: a renewal whose caller was cancelled finishes, and releases it, in a
        task of its own (see `_detached`).
        """
        import anyio  # here, not at the top: only event loops need it

        loop = _running_loop()
        with self._guard:
            lock = self._loop_locks.get(loop)
            if lock is None:
                lock = self._loop_locks[loop] = anyio.Semaphore(1, max_value=1)
            return lock


_flights: weakref.WeakValueDictionary[tuple[int, str], Flight] = weakref.WeakValueDictionary()
_flights_guard = threading.Lock()


def flight_for(store: object, key: str) -> Flight:
    """The Flight of token `key` in `store`, shared by every auth that uses both.

    Keyed by the store's identity, not its equality: the caller keeps the store
    alive while it holds the Flight, so the identity cannot be reused meanwhile.
    """
    with _flights_guard:
        flight = _flights.get((id(store), key))
        if flight is None:
            flight = _flights[id(store), key] = Flight()
        return flight


def _running_loop() -> object:
    """The running event loop: asyncio's loop object, or trio's token."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio  # anyio runs on asyncio or trio: not asyncio, so trio.

        return trio.lowlevel.current_trio_token()
