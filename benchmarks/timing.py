"""Interleaved rounds and medians: how every comparison in the benchmarks is measured.

Each contender sends the same workload once per round, the contenders taking
turns within it, in an order rotated at every turn, so that a slow spell of a
shared machine falls on all of them alike instead of on whichever ran then. A
round's figure is the median of its requests, each timed on its own; a ratio is
the median of a contender's rounds over the median of the baseline's, from the
same run.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MIN_ROUNDS = 7
TURN = 10
"""Requests a contender sends in a row. Turns of one request each tie the contenders
closest, but every switch to another client and auth costs the next request the
interpreter's caches: some 17% more time on httpx in memory, against some 5% at ten,
where the rounds' ratios still spread half as much as with turns of a whole round."""
BASELINE = "static header"


class BenchError(RuntimeError):
    """A request of a timed workload was not answered 200: its timing would mean nothing."""


@dataclass
class Contender:
    """One way of sending a workload's requests, e.g. finauth on httpx.Client in memory."""

    variant: str
    send: Callable[[int], list[float]]
    """Sends n requests; returns the nanoseconds each took, or, for requests timed
    together (`together`), their mean n times."""


def together(nanoseconds: int, n: int) -> list[float]:
    """The time of n requests timed together, as n equal shares."""
    return [nanoseconds / n] * n


def timed(variant: str, get: Callable[[], int]) -> Contender:
    """A contender whose `get` sends one request and returns its status code; each
    request is timed on its own."""

    def send(n: int) -> list[float]:
        clock, times = time.perf_counter_ns, list[float]()
        for _ in range(n):
            start = clock()
            status = get()
            times.append(clock() - start)
            if status != 200:
                raise BenchError(f"{variant}: a timed request was not answered 200")
        return times

    return Contender(variant, send)


def timed_async(
    variant: str,
    loop: asyncio.AbstractEventLoop,
    get: Callable[[], Awaitable[int]],
) -> Contender:
    """`timed` for an async client: the clock runs inside `loop`, around the awaits only."""

    async def many(n: int) -> list[float]:
        clock, times = time.perf_counter_ns, list[float]()
        for _ in range(n):
            start = clock()
            status = await get()
            times.append(clock() - start)
            if status != 200:
                raise BenchError(f"{variant}: a timed request was not answered 200")
        return times

    return Contender(variant, lambda n: loop.run_until_complete(many(n)))


def kept(variant: str, fetch: Callable[[], Any], status: Callable[[Any], int]) -> Contender:
    """A contender that keeps its responses, as `[client.get(url) for _ in range(n)]`
    does: the collector's passes over them while they pile up are timed, not their
    release after the clock has stopped, which is collected there and then, so that
    the next contender's turn starts clean."""

    def send(n: int) -> list[float]:
        start = time.perf_counter_ns()
        responses = [fetch() for _ in range(n)]
        return _checked(variant, start, responses, status)

    return Contender(variant, send)


def kept_async(
    variant: str,
    loop: asyncio.AbstractEventLoop,
    fetch: Callable[[], Awaitable[Any]],
    status: Callable[[Any], int],
) -> Contender:
    """`kept` for an async client, the clock running inside `loop`."""

    async def many(n: int) -> list[float]:
        start = time.perf_counter_ns()
        responses = [await fetch() for _ in range(n)]
        return _checked(variant, start, responses, status)

    return Contender(variant, lambda n: loop.run_until_complete(many(n)))


def _checked(
    variant: str, start: int, responses: list[Any], status: Callable[[Any], int]
) -> list[float]:
    """The time since `start`, in shares, once every response is checked and collected."""
    took = time.perf_counter_ns() - start
    if any(status(response) != 200 for response in responses):
        raise BenchError(f"{variant}: a timed request was not answered 200")
    n = len(responses)
    responses.clear()
    gc.collect()
    return together(took, n)


def interleave(
    contenders: list[Contender],
    *,
    n: int,
    rounds: int,
    turn: int = TURN,
    between: Callable[[], Any] = lambda: None,
) -> dict[str, list[float]]:
    """Microseconds per request of each contender, one sample per round of `n` requests:
    the median of the round's requests, so that a pause of the machine or of the
    garbage collector that falls on a few of them moves no sample.

    Within a round the contenders take turns, `turn` requests each, in an order
    rotated at every turn: a slow spell of the machine, however short, falls on all
    of them alike. Each contender first sends `n` untimed requests (the first login,
    connection set-up, caches). `between` runs after each round, outside the clock.
    """
    if rounds < MIN_ROUNDS:
        raise ValueError(f"at least {MIN_ROUNDS} rounds, not {rounds}")
    if n % turn:
        raise ValueError(f"a round of {n} requests is no whole number of turns of {turn}")
    for contender in contenders:
        contender.send(n)
    orders = [contenders[shift:] + contenders[:shift] for shift in range(len(contenders))]
    samples: dict[str, list[float]] = {contender.variant: [] for contender in contenders}
    for round_ in range(rounds):
        times: dict[str, list[float]] = {variant: [] for variant in samples}
        for turn_ in range(n // turn):
            for contender in orders[(round_ + turn_) % len(orders)]:
                times[contender.variant] += contender.send(turn)
        for variant, nanoseconds in times.items():
            samples[variant].append(statistics.median(nanoseconds) / 1000)
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
