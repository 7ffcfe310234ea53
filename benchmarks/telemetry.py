"""What OpenTelemetry costs installed without an SDK (SPEC §8, #19): per request with a
cached token, which must not reach it at all, and per login, which makes a span.

Both variants run in this one process, interleaved: "without opentelemetry" is
finauth's telemetry told that the API is not installed, as it finds on import. The
calls finauth makes to its telemetry while timing are counted too: none per request with
a cached token is the claim, the ratio its cost.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from typing import Any

import httpx

import finauth._telemetry

from .clients import FAMILIES
from .emulator import IN_MEMORY, PRODUCTION_LIKE_URL, BenchEmulator, Site
from .timing import compare, interleave, timed

ABSENT = "without opentelemetry"
API_ONLY = "opentelemetry-api, no SDK"
LOGINS_PER_ROUND = 10


def run(rounds: int, n: int) -> list[dict[str, Any]]:
    """A row per workload and variant, against ABSENT; none without opentelemetry-api."""
    if importlib.util.find_spec("opentelemetry") is None:
        return []
    site = Site(BenchEmulator(), PRODUCTION_LIKE_URL, IN_MEMORY)
    installed = finauth._telemetry._instruments
    counted = {ABSENT: 0, API_ONLY: 0}

    def told(variant: str) -> Callable[[], Any]:
        def instruments() -> Any:
            counted[variant] += 1
            return None if variant == ABSENT else installed()

        return instruments

    rows = []
    try:
        with ExitStack() as stack:
            for workload, get, per_round in _workloads(site, stack, n):
                contenders = []
                for variant in counted:
                    counted[variant] = 0
                    contenders.append(timed(variant, partial(_as, told(variant), get)))
                samples = interleave(contenders, n=per_round, rounds=rounds, between=site.forget)
                sent = per_round * (rounds + 1)  # the warm-up's and every round's
                rows += [
                    {
                        "workload": workload,
                        "variant": variant,
                        **{key: round(value, 4) for key, value in figures.items()},
                        "telemetry_calls_per_request": counted[variant] / sent,
                        "rounds": rounds,
                        "n": per_round,
                    }
                    for variant, figures in compare(samples, baseline=ABSENT).items()
                ]
    finally:
        finauth._telemetry._instruments = installed
    return rows


def _workloads(site: Site, stack: ExitStack, n: int) -> list[tuple[str, Callable[[], int], int]]:
    """(workload, one request or login answering 200, how many per round)."""
    cached = site.finauth(stack)
    cached.login()
    client = stack.enter_context(httpx.Client(auth=cached, **site.httpx_options()))
    request = partial(FAMILIES["httpx.Client"].get, client, site.url)
    logging_in = site.finauth(stack)

    def login() -> int:
        logging_in.login()
        return 200

    return [
        ("httpx.Client in memory, a cached token", request, n),
        ("a login, in memory (requests)", login, LOGINS_PER_ROUND),
    ]


def _as(instruments: Callable[[], Any], get: Callable[[], int]) -> int:
    """`get()` with finauth's telemetry as `instruments` says: each variant pays this."""
    finauth._telemetry._instruments = instruments  # type: ignore[assignment]
    return get()
