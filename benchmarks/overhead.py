"""Overhead per request: each variant against a static `Authorization` header, same client class.

Each client family (`clients.FAMILIES`) is timed on each transport it reaches:
in memory (the emulator's adapter or MockTransport), in memory bare (the same
behind a memo, so the client and its auth are all there is to time) and over
loopback HTTP to an `EmulatorServer` keeping connections alive. requests and
httpx and httpx2, sync and async, reach all three; niquests and aiohttp, loopback
only. The baseline sends a token that was valid all along; the auths find theirs
cached after the warm-up, so what is timed is the common case: a valid token,
read and attached.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack, ExitStack
from functools import partial
from typing import Any

from finauth.testing import EmulatorServer

from .clients import FAMILIES, FINAUTH, HAND_WRITTEN, Family, factories, installed
from .emulator import BARE, IN_MEMORY, LOOPBACK, PRODUCTION_LIKE_URL, BenchEmulator, Site
from .timing import compare, interleave, timed, timed_async

TARGETS = {IN_MEMORY: 1.05, LOOPBACK: 1.03}
"""SPEC §7: the most finauth may cost, as a ratio to the static header. BARE, stricter
than any transport a request really meets, has none: it shows what is left to gain."""


def run(rounds: int, in_memory: int, loopback: int) -> list[dict[str, Any]]:
    """Every workload's rows, one per variant, the baseline's included; a round is
    `in_memory` requests in memory and `loopback` over loopback, per variant."""
    rows = [
        *_workloads(Site(BenchEmulator(), PRODUCTION_LIKE_URL, IN_MEMORY), rounds, in_memory),
        *_workloads(Site(BenchEmulator(), PRODUCTION_LIKE_URL, BARE), rounds, in_memory),
    ]
    emulator = BenchEmulator()
    with EmulatorServer(emulator) as server:
        rows += _workloads(Site(emulator, server.base_url, LOOPBACK), rounds, loopback)
    return rows


def _workloads(site: Site, rounds: int, n: int) -> list[dict[str, Any]]:
    """The rows of every installed client that reaches `site`."""
    return [
        row
        for family in installed(FAMILIES)
        if site.where in family.transports
        for row in _rows(family.name, site, _samples(family, site, n, rounds), n, rounds)
    ]


def _samples(family: Family, site: Site, n: int, rounds: int) -> dict[str, list[float]]:
    """Samples per variant of `family`, side by side in interleaved rounds."""
    if family.asynchronous:
        return _async_samples(family, site, n, rounds)
    with ExitStack() as stack:
        contenders = [
            timed(variant, partial(family.get, build(site, stack), site.url))
            for variant, build in factories(family).items()
        ]
        return interleave(contenders, n=n, rounds=rounds, between=site.emulator.calls.clear)


def _async_samples(family: Family, site: Site, n: int, rounds: int) -> dict[str, list[float]]:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        contenders = [
            timed_async(
                variant,
                loop,
                partial(family.get, loop.run_until_complete(build(site, stack)), site.url),
            )
            for variant, build in factories(family).items()
        ]
        return interleave(contenders, n=n, rounds=rounds, between=site.emulator.calls.clear)
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _rows(
    client: str, site: Site, samples: dict[str, list[float]], n: int, rounds: int
) -> list[dict[str, Any]]:
    target = TARGETS.get(site.where)
    to_floor = compare(samples, HAND_WRITTEN)[FINAUTH]["ratio"]
    return [
        {
            "workload": f"{client}, {site.where}",
            "client": client,
            "transport": site.where,
            "variant": variant,
            **{name: round(value, 4) for name, value in figures.items()},
            "rounds": rounds,
            "n": n,
            "target": target if variant == FINAUTH else None,
            "ratio_to_hand_written": round(to_floor, 4) if variant == FINAUTH else None,
            "meets_target": (
                figures["ratio"] <= target if variant == FINAUTH and target is not None else None
            ),
            "samples_us": [round(sample, 2) for sample in samples[variant]],
        }
        for variant, figures in compare(samples).items()
    ]
