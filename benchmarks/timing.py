"""Interleaved rounds and medians: how every comparison in the benchmarks is measured.

Each contender sends the same workload once per round, in an order rotated
every round, so that a slow spell of a shared machine falls on all of them
alike instead of on whichever ran then. A ratio is the median of a contender's
rounds over the median of the baseline's, from the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MIN_ROUNDS = 7
BASELINE = "static header"


class BenchError(RuntimeError):
    """A request of a timed workload was not answered 200: its timing would mean nothing."""


@dataclass
class Contender:
    """One way of sending a workload's requests, e.g. finauth on httpx.Client in memory."""

    variant: str
    send: Callable[[int], int]
    """Sends n requests, one after the other; returns the nanoseconds they took."""


def timed(variant: str, get: Callable[[], int]) -> Contender:
    """A contender whose `get` sends one request and returns its status code."""

    def send(n: int) -> int:
        start = time.perf_counter_ns()
        for _ in range(n):
            if get() != 200:
                raise BenchError(f"{variant}: a timed request was not answered 200")
        return time.perf_counter_ns() - start

    return Contender(variant, send)


def timed_async(
    variant: str,
    loop: asyncio.AbstractEventLoop,
    get: Callable[[], Awaitable[int]],
) -> Contender:
    """`timed` for an async client: the clock runs inside `loop`, around the awaits only."""

    async def many(n: int) -> int:
        start = time.perf_counter_ns()
        for _ in range(n):
            if (await get()) != 200:
                raise BenchError(f"{variant}: a timed request was not answered 200")
        return time.perf_counter_ns() - start

    return Contender(variant, lambda n: loop.run_until_complete(many(n)))


def interleave(
    contenders: list[Contender],
    *,
    n: int,
    rounds: int,
    between: Callable[[], Any] = lambda: None,
) -> dict[str, list[float]]:
    """Microseconds per request of each contender, one sample per round.

    Each contender first sends `n` untimed requests (the first login, connection
    set-up, caches). `between` runs after each round, outside the clock.
    """
    if rounds < MIN_ROUNDS:
        raise ValueError(f"at least {MIN_ROUNDS} rounds, not {rounds}")
    for contender in contenders:
        contender.send(n)
    samples: dict[str, list[float]] = {contender.variant: [] for contender in contenders}
    for round_ in range(rounds):
        shift = round_ % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            samples[contender.variant].append(contender.send(n) / n / 1000)
        between()
    return samples


def compare(
    samples: dict[str, list[float]], baseline: str = BASELINE
) -> dict[str, dict[str, float]]:
    """Per variant: median µs per request, ratio and µs added against `baseline`.

    The `ratio` is the median of round-by-round ratios: each round's contenders ran
    side by side, so a slow spell of a shared machine cancels out of it.
    `ratio_of_medians` is the cross-check; `iqr_pct`, the interquartile range of
    the rounds as a percentage of their median, says how noisy they were.
    """
    base = statistics.median(samples[baseline])
    figures = {}
    for variant, values in samples.items():
        median = statistics.median(values)
        quartiles = statistics.quantiles(values, n=4)
        figures[variant] = {
            "median_us": median,
            "ratio": statistics.median(
                mine / theirs for mine, theirs in zip(values, samples[baseline], strict=True)
            ),
            "ratio_of_medians": median / base,
            "added_us": median - base,
            "iqr_pct": (quartiles[2] - quartiles[0]) / median * 100,
        }
    return figures
