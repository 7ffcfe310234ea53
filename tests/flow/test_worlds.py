"""Carrying out Acquire and Pause in a thread (`in_thread`) and in an event loop (`in_loop`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

import anyio
import pytest
import trio

from finauth._flow import Acquire, Pause
from finauth._single_flight import Flight
from finauth._worlds import in_loop, in_thread

BACKENDS = ["asyncio", "trio"]


def run_in(backend: str, fn: Callable[[], Awaitable[None]]) -> None:
    anyio.run(fn, backend=backend)


class Holder:
    """Another thread holding a lock until told to let go."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._taken = threading.Event()
        self._let_go = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self._lock:
            self._taken.set()
            self._let_go.wait(5)

    def __enter__(self) -> Holder:
        self._thread.start()
        assert self._taken.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._let_go.set()
        self._thread.join(5)


# --- in_thread --------------------------------------------------------------------------------


def test_in_thread_acquire_gives_a_release_function() -> None:
    flight = Flight()
    release = in_thread(Acquire(flight, timeout=0.05))
    assert release is not None
    assert flight.thread_lock.locked()
    release()
    assert not flight.thread_lock.locked()


def test_in_thread_acquire_times_out_when_another_thread_holds_the_lock() -> None:
    flight = Flight()
    with Holder(flight.thread_lock):
        started = time.monotonic()
        assert in_thread(Acquire(flight, timeout=0.05)) is None
        waited = time.monotonic() - started
    assert waited >= 0.04
    assert waited < 1.0
    assert not flight.thread_lock.locked()  # the holder let go; the waiter took nothing


def test_in_thread_acquire_waits_for_a_release() -> None:
    flight = Flight()
    assert flight.thread_lock.acquire(blocking=False)
    timer = threading.Timer(0.02, flight.thread_lock.release)
    timer.start()
    try:
        release = in_thread(Acquire(flight, timeout=2.0))
    finally:
        timer.join()
    assert release is not None
    release()
    assert not flight.thread_lock.locked()


def test_in_thread_pause_sleeps() -> None:
    started = time.monotonic()
    assert in_thread(Pause(0.02)) is None
    assert time.monotonic() - started >= 0.015


# --- in_loop ----------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_loop_acquire_gives_a_release_function(backend: str) -> None:
    flight = Flight()

    async def main() -> None:
        lock = flight.loop_lock()
        release = await in_loop(Acquire(flight, timeout=0.05))
        assert release is not None
        assert lock.value == 0
        assert flight.thread_lock.locked()  # one flight in the process: the threads wait too
        release()
        assert lock.value == 1
        assert not flight.thread_lock.locked()

    run_in(backend, main)


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_loop_acquire_times_out_when_another_task_holds_the_lock(backend: str) -> None:
    flight = Flight()
    results: list[object] = []

    async def main() -> None:
        lock = flight.loop_lock()
        holding, let_go = anyio.Event(), anyio.Event()

        async def holder() -> None:
            async with lock:
                holding.set()
                await let_go.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            await holding.wait()
            started = anyio.current_time()
            results.append(await in_loop(Acquire(flight, timeout=0.05)))
            results.append(anyio.current_time() - started)
            let_go.set()
        assert lock.value == 1

    run_in(backend, main)
    release, waited = results
    assert release is None
    assert isinstance(waited, float)
    assert 0.04 <= waited < 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_loop_acquire_waits_for_a_release_without_blocking(backend: str) -> None:
    flight = Flight()
    order: list[str] = []

    async def main() -> None:
        lock = flight.loop_lock()
        await lock.acquire()

        async def waiter() -> None:
            release = await in_loop(Acquire(flight, timeout=2.0))
            assert release is not None
            order.append("acquired")
            release()

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.sleep(0.01)
            order.append("releasing")
            lock.release()
        assert lock.value == 1

    run_in(backend, main)
    assert order == ["releasing", "acquired"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_in_loop_pause_does_not_block_other_tasks(backend: str) -> None:
    order: list[str] = []

    async def main() -> None:
        async def pause() -> None:
            assert await in_loop(Pause(0.03)) is None
            order.append("pause over")

        async def other() -> None:
            await anyio.sleep(0.005)
            order.append("other ran")

        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            tg.start_soon(pause)
            tg.start_soon(other)
        assert anyio.current_time() - started >= 0.025

    run_in(backend, main)
    assert order == ["other ran", "pause over"]


# --- one lock per event loop ------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_same_loop_gets_the_same_lock(backend: str) -> None:
    flight = Flight()
    locks: list[object] = []

    async def main() -> None:
        async def take() -> None:
            locks.append(flight.loop_lock())

        locks.append(flight.loop_lock())
        async with anyio.create_task_group() as tg:
            tg.start_soon(take)
            tg.start_soon(take)

    run_in(backend, main)
    assert len(locks) == 3
    assert locks[0] is locks[1] is locks[2]


def test_each_loop_gets_its_own_lock() -> None:
    flight = Flight()
    locks: list[object] = []

    async def take() -> None:
        locks.append(flight.loop_lock())

    asyncio.run(take())
    asyncio.run(take())
    anyio.run(take, backend="trio")
    assert len(locks) == 3
    assert len({id(lock) for lock in locks}) == 3


def test_loops_running_at_once_in_two_threads_share_one_flight() -> None:
    """A task holding the flight in one loop makes another loop's task wait, without blocking."""
    flight = Flight()
    first_holds, second_done = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    async def first() -> None:
        release = await in_loop(Acquire(flight, timeout=1.0))
        assert release is not None
        first_holds.set()
        while not second_done.is_set():
            await asyncio.sleep(0.001)
        release()

    async def second() -> None:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await trio.sleep(0.001)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            results["second"] = await in_loop(Acquire(flight, timeout=0.2))
            nursery.cancel_scope.cancel()
        results["ticks"] = ticks

    def second_thread() -> None:
        assert first_holds.wait(5)
        try:
            trio.run(second)
        finally:
            second_done.set()

    thread = threading.Thread(target=second_thread)
    thread.start()
    asyncio.run(first())
    thread.join(5)
    assert results["second"] is None  # the wait ran out: first held the flight throughout
    assert isinstance(results["ticks"], int)
    assert results["ticks"] > 20  # and the second loop kept running while it waited
    assert not flight.thread_lock.locked()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_task_waits_for_a_thread_renewing_and_then_takes_the_flight(backend: str) -> None:
    flight = Flight()
    flight.thread_lock.acquire()
    timer = threading.Timer(0.05, flight.thread_lock.release)
    timer.start()

    waits: list[float] = []

    async def main() -> None:
        started = anyio.current_time()
        release = await in_loop(Acquire(flight, timeout=2.0))
        waits.append(anyio.current_time() - started)
        assert release is not None
        assert flight.thread_lock.locked()
        release()

    run_in(backend, main)
    assert 0.03 <= waits[0] < 1.0
    timer.join()
    assert not flight.thread_lock.locked()
