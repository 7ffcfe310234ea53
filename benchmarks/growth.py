"""Cost growth: finauth's overhead as concurrency grows from 1 to 256.

Threads share one httpx.Client and tasks one httpx.AsyncClient, in memory and
bare (`Memo`), so that nothing but the client and its auth contends. Each round
sends the same number of requests, split evenly among the workers; the figure
is wall time per request.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack
from typing import Any

import httpx

from .clients import ASYNC_CLIENTS, CLIENTS, FINAUTH
from .emulator import BARE, PRODUCTION_LIKE_URL, BenchEmulator, Site
from .timing import BASELINE, BenchError, Contender, compare, interleave, together

LEVELS = (1, 4, 16, 64, 256)
VARIANTS = (BASELINE, FINAUTH)


def run(rounds: int, n: int) -> list[dict[str, Any]]:
    """Rows per mode and level; `n`, requests per round, is split among the workers."""
    site = Site(BenchEmulator(), PRODUCTION_LIKE_URL, BARE)
    rows = []
    for level in LEVELS:
        rows += _rows("threads", level, _threads(site, level, rounds, n), rounds, n)
        rows += _rows("asyncio tasks", level, _tasks(site, level, rounds, n), rounds, n)
    return rows


def _threads(site: Site, level: int, rounds: int, n: int) -> dict[str, list[float]]:
    with ExitStack() as stack:
        contenders = [
            _threaded(variant, CLIENTS[variant](site, stack), site.url, stack, level)
            for variant in VARIANTS
        ]
        return interleave(contenders, n=n, rounds=rounds, turn=n)  # the workers split a turn


def _threaded(
    variant: str, client: httpx.Client, url: str, stack: ExitStack, level: int
) -> Contender:
    pool = stack.enter_context(ThreadPoolExecutor(max_workers=level))

    def worker(count: int) -> None:
        for _ in range(count):
            if client.get(url).status_code != 200:
                raise BenchError(f"{variant}: a timed request was not answered 200")

    def send(n: int) -> list[float]:
        start = time.perf_counter_ns()
        for future in [pool.submit(worker, n // level) for _ in range(level)]:
            future.result()
        return together(time.perf_counter_ns() - start, n)

    return Contender(variant, send)


def _tasks(site: Site, level: int, rounds: int, n: int) -> dict[str, list[float]]:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        contenders = [
            _gathered(
                variant,
                loop.run_until_complete(ASYNC_CLIENTS[variant](site, stack)),
                site.url,
                loop,
                level,
            )
            for variant in VARIANTS
        ]
        return interleave(contenders, n=n, rounds=rounds, turn=n)  # the workers split a turn
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _gathered(
    variant: str, client: httpx.AsyncClient, url: str, loop: asyncio.AbstractEventLoop, level: int
) -> Contender:
    async def worker(count: int) -> None:
        for _ in range(count):
            if (await client.get(url)).status_code != 200:
                raise BenchError(f"{variant}: a timed request was not answered 200")

    async def many(n: int) -> list[float]:
        start = time.perf_counter_ns()
        await asyncio.gather(*(worker(n // level) for _ in range(level)))
        return together(time.perf_counter_ns() - start, n)

    return Contender(variant, lambda n: loop.run_until_complete(many(n)))


def _rows(
    mode: str, level: int, samples: dict[str, list[float]], rounds: int, n: int
) -> list[dict[str, Any]]:
    return [
        {
            "mode": mode,
            "concurrency": level,
            "variant": variant,
            **{name: round(value, 4) for name, value in figures.items()},
            "rounds": rounds,
            "n": n,
        }
        for variant, figures in compare(samples).items()
    ]
