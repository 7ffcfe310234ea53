"""Overhead per request: each variant against a static `Authorization` header, same client class.

Each client family (`clients.FAMILIES`) is timed on each transport it reaches:
in memory (the emulator's adapter or MockTransport), in memory bare (the same
behind a memo, so the client and its auth are all there is to time) and over
loopback HTTP to an `EmulatorServer` in another interpreter, keeping connections
alive. requests and httpx and httpx2, sync and async, reach all three; niquests
and aiohttp, loopback only. The baseline sends a token that was valid all along;
the auths find theirs cached after the warm-up, so what is timed is the common
case: a valid token, read and attached.

The workloads run in a few fresh interpreters, one after another, and each
workload's rounds from all of them are pooled: one interpreter's ratios can sit a
point or two off the others' (how it laid out its objects and code, what the machine
did meanwhile), and more rounds in the same process would not average that out
(pyperf runs its benchmarks in many processes for the same reason). Each is
`python -m benchmarks.overhead`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
from contextlib import AsyncExitStack, ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from .clients import FAMILIES, FINAUTH, HAND_WRITTEN, Family, factories, installed
from .emulator import (
    BARE,
    IN_MEMORY,
    LOOPBACK,
    PRODUCTION_LIKE_URL,
    BenchEmulator,
    Site,
    served_apart,
)
from .timing import TURN, compare, interleave, kept, kept_async, timed, timed_async

TARGETS = {IN_MEMORY: 1.05, LOOPBACK: 1.03}
"""SPEC §7: the most finauth may cost, as a ratio to the static header. BARE, stricter
than any transport a request really meets, has none: it shows what is left to gain."""
FLOOR_TARGET = 1.02
"""#21: the most finauth may cost against a hand-written auth, where TARGETS apply."""
KEPT = "responses kept"


def run(rounds: int, processes: int, in_memory: int, loopback: int) -> list[dict[str, Any]]:
    """Every workload's rows, one per variant, the baseline's included, from `rounds`
    rounds in each of `processes` fresh interpreters, pooled; a round is `in_memory`
    requests in memory and `loopback` over loopback, per variant."""
    runs = [_measured_apart(rounds, in_memory, loopback) for _ in range(processes)]
    return [row for parts in zip(*runs, strict=True) for row in _pooled_rows(parts)]


def _measured_apart(rounds: int, in_memory: int, loopback: int) -> list[dict[str, Any]]:
    """`measure` in a fresh interpreter."""
    with tempfile.TemporaryDirectory() as directory:
        results = Path(directory, "overhead.json")
        command = [sys.executable, "-m", __name__, str(rounds), str(in_memory), str(loopback)]
        repository = Path(__file__).parents[1]
        subprocess.run([*command, str(results)], check=True, cwd=repository)  # noqa: S603
        measured: list[dict[str, Any]] = json.loads(results.read_text())
    return measured


def _pooled_rows(parts: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The rows of one workload measured in several interpreters: each variant's rounds
    from all of them, in the same order for every variant, so that round-by-round ratios
    still pair the rounds that ran side by side."""
    pooled: dict[str, list[float]] = {}
    for part in parts:
        for variant, values in part["samples"].items():
            pooled.setdefault(variant, []).extend(values)
    first = parts[0]
    return _rows(
        first["client"],
        first["where"],
        pooled,
        first["n"],
        first["keep"],
        rounds=sum(len(part["samples"][FINAUTH]) for part in parts),
        processes=len(parts),
    )


def measure(rounds: int, in_memory: int, loopback: int) -> list[dict[str, Any]]:
    """Every workload's samples per variant in this interpreter: `rounds` rounds of
    `in_memory` requests in memory and `loopback` over loopback. Each client also keeps
    its responses once, bare if it can be served in memory."""
    bare = Site(BenchEmulator(), PRODUCTION_LIKE_URL, BARE)
    measured = [
        *_workloads(Site(BenchEmulator(), PRODUCTION_LIKE_URL, IN_MEMORY), rounds, in_memory),
        *_workloads(bare, rounds, in_memory),
        *_workloads(bare, rounds, in_memory, keep=True),
    ]
    with served_apart() as base_url:
        over_http = Site(BenchEmulator(), base_url, LOOPBACK)
        measured += _workloads(over_http, rounds, loopback)
        measured += _workloads(over_http, rounds, loopback, keep=True)
    return measured


def _workloads(site: Site, rounds: int, n: int, *, keep: bool = False) -> list[dict[str, Any]]:
    """The samples of every installed client that reaches `site`; keeping its responses,
    only at the first of BARE and LOOPBACK it reaches."""
    return [
        {
            "client": family.name,
            "where": site.where,
            "keep": keep,
            "n": n,
            "samples": _samples(family, site, n, rounds, keep),
        }
        for family in installed(FAMILIES)
        if site.where in family.transports and (not keep or site.where == _keeps_at(family))
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
        return interleave(contenders, n=n, rounds=rounds, turn=turn, between=site.forget)


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
            between=site.forget,
        )
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _rows(
    client: str,
    where: str,
    samples: dict[str, list[float]],
    n: int,
    keep: bool,
    *,
    rounds: int,
    processes: int,
) -> list[dict[str, Any]]:
    target = None if keep else TARGETS.get(where)
    floor_target = FLOOR_TARGET if target is not None else None
    to_floor = compare(samples, HAND_WRITTEN)[FINAUTH]["ratio"]
    return [
        {
            "workload": f"{client}, {where}" + (f", {KEPT}" if keep else ""),
            "client": client,
            "transport": where,
            "kept": keep,
            "variant": variant,
            **{name: round(value, 4) for name, value in figures.items()},
            "rounds": rounds,
            "processes": processes,
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


if __name__ == "__main__":
    *sizes, results = sys.argv[1:]
    Path(results).write_text(json.dumps(measure(*map(int, sizes))))
