"""Carrying out the flow's pauses and locks in a thread, or in an event loop.

These are the only flow steps that need no HTTP client, so both requests and
httpx's sync client share `in_thread`, and httpx's async client uses `in_loop`,
which works under asyncio and trio and never blocks the loop: store calls that
may block run in a worker thread.

One renewal at a time in the whole process: threads wait on the flight's
thread lock; a task first takes its own loop's lock (so one task per loop
contends), then takes the same thread lock without blocking, yielding to the
loop between tries. R12 would allow one flight per world, but a provider such
as FinHub, whose new session ends the previous one, shows why one is better.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._flow import Acquire, Blocking, Pause

RETRY_INTERVAL = 0.005
"""Seconds a task waits before trying again for a lock another world holds."""


def in_thread(step: Pause | Acquire | Blocking) -> Any:
    if isinstance(step, Pause):
        time.sleep(step.seconds)
        return None
    if isinstance(step, Blocking):
        return step.call()
    lock = step.flight.thread_lock
    return lock.release if lock.acquire(timeout=step.timeout) else None


async def in_loop(step: Pause | Acquire | Blocking) -> Any:
    import anyio  # here, not at the top: only event loops need it

    if isinstance(step, Pause):
        await anyio.sleep(step.seconds)
        return None
    if isinstance(step, Blocking):
        return await _in_worker_thread(step.call)
    loop_lock, thread_lock = step.flight.loop_lock(), step.flight.thread_lock
    with anyio.move_on_after(step.timeout):
        await loop_lock.acquire()
        try:
            while not thread_lock.acquire(blocking=False):
                await anyio.sleep(RETRY_INTERVAL)
        except BaseException:  # cancelled, or the wait ran out
            loop_lock.release()
            raise

        def release() -> None:
            thread_lock.release()
            loop_lock.release()

        return release
    return None


async def _in_worker_thread(call: Callable[[], Any]) -> Any:
    """`call()`, run in a worker thread; shielded, for a store call is bounded by the
    store's own timeouts, and a lock taken or a token written must not be lost to a
    cancellation."""
    import anyio.to_thread

    with anyio.CancelScope(shield=True):
        return await anyio.to_thread.run_sync(call)
