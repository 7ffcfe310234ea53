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
from .timing import TURN, compare, interleave, kept, kept_async, timed, timed_async

TARGETS = {IN_MEMORY: 1.05, LOOPBACK: 1.03}
"""SPEC §7: the most finauth may cost, as a ratio to the static header. BARE, stricter
than any transport a request really meets, has none: it shows what is left to gain."""
FLOOR_TARGET = 1.02
"""#21: the most finauth may cost against a hand-written auth, where TARGETS apply."""
KEPT = "responses kept"


def run(rounds: int, in_memory: int, loopback: int) -> list[dict[str, Any]]:
    """Every workload's rows, one per variant, the baseline's included; a round is
    `in_memory` requests in memory and `loopback` over loopback, per variant. Each
    client also keeps its responses once, bare if it can be served in memory."""
    bare = Site(BenchEmulator(), PRODUCTION_LIKE_URL, BARE)
    rows = [
        *_workloads(Site(BenchEmulator(), PRODUCTION_LIKE_URL, IN_MEMORY), rounds, in_memory),
        *_workloads(bare, rounds, in_memory),
        *_workloads(bare, rounds, in_memory, keep=True),
    ]
    emulator = BenchEmulator()
    with EmulatorServer(emulator) as server:
        over_http = Site(emulator, server.base_url, LOOPBACK)
        rows += _workloads(over_http, rounds, loopback)
        rows += _workloads(over_http, rounds, loopback, keep=True)
    return rows


def _workloads(site: Site, rounds: int, n: int, *, keep: bool = False) -> list[dict[str, Any]]:
    """The rows of every installed client that reaches `site`; keeping its responses,
    only at the first of BARE and LOOPBACK it reaches."""
    return [
        row
        for family in installed(FAMILIES)
        if site.where in family.transports and (not keep or site.where == _keeps_at(family))
        for row in _rows(
            family.name, site, _samples(family, site, n, rounds, keep), n, rounds, keep
        )
    ]


def _keeps_at(family: Family) -> str:
    """Where `family` keeps its responses: bare, if it can be served in memory."""
    return BARE if BARE in family.transports else LOOPBACK


def _samples(family: Family, site: Site, n: int, rounds: int, keep: bool) -> dict[str, list[float]]:
    """Samples per variant of `family`, side by side in interleaved rounds: in turns of
    TURN requests, or, keeping responses, of a whole round, so that each variant's pile
    is its own."""
    turn = n if keep else TURN
    if family.asynchronous:
        return _async_samples(family, site, n, rounds, keep)
    with ExitStack() as stack:
        contenders = [
            kept(variant, partial(family.fetch, client, site.url), family.status)
            if keep
            else timed(variant, partial(family.get, client, site.url))
            for variant, build in factories(family).items()
            for client in (build(site, stack),)
        ]
        return interleave(
            contenders, n=n, rounds=rounds, turn=turn, between=site.emulator.calls.clear
        )


def _async_samples(
    family: Family, site: Site, n: int, rounds: int, keep: bool
) -> dict[str, list[float]]:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        contenders = [
            kept_async(variant, loop, partial(family.fetch, client, site.url), family.status)
            if keep
            else timed_async(variant, loop, partial(family.get, client, site.url))
            for variant, build in factories(family).items()
            for client in (loop.run_until_complete(build(site, stack)),)
        ]
        return interleave(
            contenders,
            n=n,
            rounds=rounds,
            turn=n if keep else TURN,
            between=site.emulator.calls.clear,
        )
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _rows(
    client: str,
    site: Site,
    samples: dict[str, list[float]],
    n: int,
    rounds: int,
    keep: bool,
) -> list[dict[str, Any]]:
    target = None if keep else TARGETS.get(site.where)
    floor_target = FLOOR_TARGET if target is not None else None
    to_floor = compare(samples, HAND_WRITTEN)[FINAUTH]["ratio"]
    return [
        {
            "workload": f"{client}, {site.where}" + (f", {KEPT}" if keep else ""),
            "client": client,
            "transport": site.where,
            "kept": keep,
            "variant": variant,
            **{name: round(value, 4) for name, value in figures.items()},
            "rounds": rounds,
            "n": n,
            "target": target if variant == FINAUTH else None,
            "ratio_to_hand_written": round(to_floor, 4) if variant == FINAUTH else None,
            "meets_target": (
                figures["ratio"] <= target if variant == FINAUTH and target is not None else None
            ),
            "floor_target": floor_target if variant == FINAUTH else None,
            "meets_floor_target": (
                to_floor <= floor_target
                if variant == FINAUTH and floor_target is not None
                else None
            ),
            "samples_us": [round(sample, 2) for sample in samples[variant]],
        }
        for variant, figures in compare(samples).items()
    ]
