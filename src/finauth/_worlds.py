"""Carrying out the flow's pauses and locks in a thread, or in an event loop.

These are the only flow steps that need no HTTP client, so both requests and
httpx's sync client share `in_thread`, and httpx's async client uses `in_loop`,
which works under asyncio and trio and never blocks the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

from ._flow import Acquire, Pause


def in_thread(step: Pause | Acquire) -> Callable[[], None] | None:
    if isinstance(step, Pause):
        time.sleep(step.seconds)
        return None
    lock = step.flight.thread_lock
    return lock.release if lock.acquire(timeout=step.timeout) else None


async def in_loop(step: Pause | Acquire) -> Callable[[], None] | None:
    if isinstance(step, Pause):
        await anyio.sleep(step.seconds)
        return None
    lock = step.flight.loop_lock()
    with anyio.move_on_after(step.timeout):
        await lock.acquire()
        return lock.release
    return None
