"""The hot path: what a request with a valid cached token costs in finauth itself.

Three views of it. The auth's own work, timed without a client: requests'
`auth(prepared)` and the response hook it registers, or one pass of an httpx
auth flow, against the peers' and against httpx's no-op `Auth`. Where a
request's time goes, from a pyinstrument profile of finauth on each client.
And the cyclic garbage each request leaves on every client, which reference
counting cannot free: the garbage collector's passes over it are paid by every
request.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, suppress
from functools import partial
from pathlib import PurePath
from typing import Any

import httpx
import requests
from pyinstrument import Profiler
from pyinstrument.frame import Frame

from finauth.testing import EmulatorServer

from . import peers
from .clients import (
    CLIENTS,
    FAMILIES,
    FINAUTH,
    HAND_WRITTEN,
    SESSIONS,
    SYNC_PEERS,
    Family,
    factories,
    installed,
)
from .emulator import BARE, LOOPBACK, PRODUCTION_LIKE_URL, BenchEmulator, Site
from .timing import BASELINE

CALLS = 2000
"""Auth passes per sample of the auth's own work."""
SAMPLES = 7
PROFILED = 3000
"""Requests per profile."""
INTERVAL = 0.0001
"""Seconds between profile samples."""


def run() -> dict[str, Any]:
    site = Site(BenchEmulator(), PRODUCTION_LIKE_URL, BARE)
    with ExitStack() as stack:
        sessions = {variant: build(site, stack) for variant, build in SESSIONS.items()}
        clients = {
            variant: build(site, stack) for variant, build in {**CLIENTS, **SYNC_PEERS}.items()
        }
        for session in sessions.values():
            session.get(site.url)  # the first token, fetched
        for client in clients.values():
            client.get(site.url)
        return {
            "auth_work_us": {
                "requests": _requests_auth_work(site, sessions),
                "httpx": _httpx_auth_work(site, clients),
            },
            "cyclic_garbage_per_request": _every_clients_garbage(),
            "profile": {
                "requests": _profile(lambda: sessions[FINAUTH].get(site.url)),
                "httpx.Client": _profile(lambda: clients[FINAUTH].get(site.url)),
            },
        }


def _requests_auth_work(site: Site, sessions: dict[str, requests.Session]) -> dict[str, float]:
    """µs per request of each auth's own work with requests, on requests prepared before
    the clock starts: deducting a separate timing of the preparation, which takes ten
    times as long, left the noise of that timing in the figure."""
    response = requests.Response()
    response.status_code = 200

    def sample(auth: Any) -> float:
        prepared = [requests.Request("GET", site.url).prepare() for _ in range(CALLS)]
        start = time.perf_counter_ns()
        for request in prepared:
            response.request = auth(request)
            for hook in request.hooks["response"]:
                hook(response)
        return (time.perf_counter_ns() - start) / CALLS / 1000

    auths = {
        HAND_WRITTEN: sessions[HAND_WRITTEN].auth,
        FINAUTH: sessions[FINAUTH].auth,
        peers.AUTHLIB: _authlib_auth(sessions[peers.AUTHLIB]),
    }
    return {
        variant: round(statistics.median(sample(auth) for _ in range(SAMPLES)), 3)
        for variant, auth in auths.items()
    }


def _httpx_auth_work(site: Site, clients: dict[str, httpx.Client]) -> dict[str, float]:
    """µs per request of one pass of each auth flow; httpx's no-op `Auth` is the baseline."""
    request = httpx.Request("GET", site.url)
    response = httpx.Response(200, request=request)

    def flowing(auth: httpx.Auth) -> Callable[[], object]:
        def once() -> object:
            flow = auth.sync_auth_flow(request)
            sent = next(flow)
            with suppress(StopIteration):
                flow.send(response)
            return sent

        return once

    auths = {
        BASELINE: httpx.Auth(),
        HAND_WRITTEN: clients[HAND_WRITTEN].auth,
        FINAUTH: clients[FINAUTH].auth,
        peers.HTTPX_AUTH: clients[peers.HTTPX_AUTH].auth,
        peers.AUTHLIB: _authlib_auth(clients[peers.AUTHLIB]),
    }
    return {variant: round(_per_call(flowing(auth)), 3) for variant, auth in auths.items()}


def _authlib_auth(client: Any) -> Any:
    """The auth authlib's client applies to each request, its token refreshed when due."""
    client.ensure_active_token(client.token)
    return client.token_auth


def _per_call(call: Callable[[], object]) -> float:
    """Median over SAMPLES of µs per call, CALLS calls a sample."""
    samples = []
    for _ in range(SAMPLES):
        start = time.perf_counter_ns()
        for _ in range(CALLS):
            call()
        samples.append((time.perf_counter_ns() - start) / CALLS / 1000)
    return statistics.median(samples)


def _garbage(get: Callable[[str], object], url: str, n: int = 500) -> float:
    """Objects per request that only the cyclic garbage collector can free, after a first
    request (a login, connections) whose garbage is not counted."""
    get(url)
    gc.collect()
    gc.disable()
    try:
        for _ in range(n):
            get(url)
        return gc.collect() / n
    finally:
        gc.enable()


def _every_clients_garbage() -> dict[str, float]:
    """`_garbage` of each variant of every installed client, bare where it can be served
    in memory, else over loopback."""
    found: dict[str, float] = {}
    bare, emulator = Site(BenchEmulator(), PRODUCTION_LIKE_URL, BARE), BenchEmulator()
    with EmulatorServer(emulator) as server:
        over_http = Site(emulator, server.base_url, LOOPBACK)
        for family in installed(FAMILIES):
            site = bare if BARE in family.transports else over_http
            for variant, build in factories(family).items():
                found[f"{family.name}, {variant}"] = _garbage_of(family, build, site)
    return found


def _garbage_of(family: Family, build: Any, site: Site) -> float:
    if not family.asynchronous:
        with ExitStack() as stack:
            client = build(site, stack)
            return _garbage(partial(family.get, client), site.url)
    loop = asyncio.new_event_loop()
    async_stack = AsyncExitStack()
    try:
        client = loop.run_until_complete(build(site, async_stack))
        return _garbage(lambda url: loop.run_until_complete(family.get(client, url)), site.url)
    finally:
        loop.run_until_complete(async_stack.aclose())
        loop.close()


def _profile(send: Callable[[], object]) -> dict[str, Any]:
    """µs per request in all, and in finauth's frames (their callees included), with the
    functions of finauth that take most time themselves."""
    profiler = Profiler(interval=INTERVAL)
    profiler.start()
    for _ in range(PROFILED):
        send()
    profiler.stop()
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is None:
        return {}
    inside = sum(frame.time for frame in _outermost(root, _is_finauth))
    own: defaultdict[str, float] = defaultdict(float)
    for frame in _walk(root):
        if _is_finauth(frame):
            own[f"{frame.function} ({PurePath(frame.file_path or '').name})"] += (
                frame.total_self_time
            )
    return {
        "requests": PROFILED,
        "us_per_request": round(root.time / PROFILED * 1e6, 2),
        "finauth_us_per_request": round(inside / PROFILED * 1e6, 2),
        "top_self_us_per_request": {
            name: round(seconds / PROFILED * 1e6, 2)
            for name, seconds in sorted(own.items(), key=lambda item: -item[1])[:6]
        },
    }


def _is_finauth(frame: Frame) -> bool:
    path = PurePath(frame.file_path or "")
    return "finauth" in path.parts and "testing" not in path.parts


def _walk(frame: Frame) -> Iterator[Frame]:
    yield frame
    for child in frame.children:
        yield from _walk(child)


def _outermost(frame: Frame, matches: Callable[[Frame], bool]) -> Iterator[Frame]:
    """The frames that match and have no matching ancestor, so none is counted twice."""
    if matches(frame):
        yield frame
        return
    for child in frame.children:
        yield from _outermost(child, matches)
