"""Overhead per request: each variant against a static `Authorization` header, same client class.

Nine workloads: requests.Session, httpx.Client and httpx.AsyncClient, each
in memory (the emulator's adapter or MockTransport), in memory bare (the same
behind a memo, so the client and its auth are all there is to time) and over
loopback HTTP to an `EmulatorServer` keeping connections alive. The baseline
sends a token that was valid all along; the auths find theirs cached after the
warm-up, so what is timed is the common case: a valid token, read and attached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, ExitStack
from typing import Any

import httpx
import requests

from finauth.testing import EmulatorServer

from .clients import (
    ASYNC_CLIENTS,
    CLIENTS,
    FINAUTH,
    HAND_WRITTEN,
    SESSIONS,
    ClientFactory,
    SessionFactory,
)
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
    return [
        *_rows("requests", site, _synchronous(SESSIONS, site, n, rounds), n, rounds),
        *_rows("httpx.Client", site, _synchronous(CLIENTS, site, n, rounds), n, rounds),
        *_rows("httpx.AsyncClient", site, _async_clients(site, n, rounds), n, rounds),
    ]


def _synchronous(
    factories: Mapping[str, SessionFactory] | Mapping[str, ClientFactory],
    site: Site,
    n: int,
    rounds: int,
) -> dict[str, list[float]]:
    """Samples per variant for a synchronous client family: requests or httpx.Client."""
    with ExitStack() as stack:
        contenders = [
            timed(variant, _getter(factory(site, stack), site.url))
            for variant, factory in factories.items()
        ]
        return interleave(contenders, n=n, rounds=rounds, between=site.emulator.calls.clear)


def _async_clients(site: Site, n: int, rounds: int) -> dict[str, list[float]]:
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        contenders = [
            timed_async(
                variant,
                loop,
                _async_getter(loop.run_until_complete(factory(site, stack)), site.url),
            )
            for variant, factory in ASYNC_CLIENTS.items()
        ]
        return interleave(contenders, n=n, rounds=rounds, between=site.emulator.calls.clear)
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _getter(client: requests.Session | httpx.Client, url: str) -> Callable[[], int]:
    return lambda: client.get(url).status_code


def _async_getter(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[int]]:
    async def get() -> int:
        return (await client.get(url)).status_code

    return get


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
