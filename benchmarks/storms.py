"""Storms: many workers find the token expired at once.

How many token calls reach the provider, and how long until every request has
succeeded? Every variant renews `MARGIN` seconds before expiry; its warm-up
request gets a token while the emulator issues 2-second ones, and once that token
has lived half its life (finauth renews no earlier, R14) it is inside the margin for
all of them. The emulator then goes back to hour-long tokens and the workers are
released together, over loopback HTTP.
Counts are taken at the emulator: logins and refreshes for finauth, OAuth2
grants for the peers. Every installed client has its storm: threads sharing a
synchronous client, asyncio tasks sharing an async one (aiohttp's session
included); the processes' storms are httpx.Client's (authlib's own, which is httpx2's when that
is installed).

A last storm has the provider refuse every access token while the clients still
think theirs valid, which only a re-send after a 401 (R4) recovers from.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, replace
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import httpx
from httpx_auth import JsonTokenFileCache, OAuth2

from finauth import FileTokenStore, RedisTokenStore
from finauth.testing import EmulatorServer

from . import peers
from .clients import (
    FAMILIES,
    FINAUTH,
    HAND_WRITTEN,
    MARGIN,
    PEERS_BUILT_ON,
    SYNC_PEERS,
    Factory,
    Family,
    factories,
    installed,
)
from .emulator import LOOPBACK, BenchEmulator, Site
from .redis_server import redis_server
from .timing import BASELINE

THREADS = 64
TASKS = 256
PROCESSES = 4
EXPIRING_TTL = 2.0
"""Seconds the warm-up's token lives: less than MARGIN, so it is due for renewal once it
has lived half its life, AGE."""
AGE = EXPIRING_TTL / 2 + 0.25
FRESH_TTL = 3600.0
WAIT = 60.0
"""Seconds any one wait of a storm may take before it is called hung."""

FILE_STORE = f"{FINAUTH} + FileTokenStore"
REDIS_STORE = f"{FINAUTH} + RedisTokenStore"
JSON_CACHE = f"{peers.HTTPX_AUTH} + JsonTokenFileCache"


@dataclass(frozen=True)
class Finish:
    """How one worker's request ended: when, and what went wrong if it did not succeed."""

    at: float
    error: str | None
    complaints: int = 0
    """Log records of WARNING or above from a storm's process, when it ran in one of its own."""


class _Complaints(logging.Handler):
    """Counts the log records of WARNING or above: what a storm made a library complain about.

    On the root logger, it also keeps them off stderr, where logging would print them
    for want of a handler.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@contextmanager
def _complaints() -> Iterator[_Complaints]:
    heard = _Complaints()
    logging.getLogger().addHandler(heard)
    try:
        yield heard
    finally:
        logging.getLogger().removeHandler(heard)


def run() -> list[dict[str, Any]]:
    """Every storm's rows, one per variant."""
    emulator = BenchEmulator()
    with EmulatorServer(emulator) as server:
        site = Site(emulator, server.base_url, LOOPBACK)
        rows = []
        for family in installed(FAMILIES):
            storm = _task_storm if family.asynchronous else _thread_storm
            rows += [storm(site, family, variant, build) for variant, build in _auths(family)]
        rows += _process_storms(site)
        return rows + [
            _revoked_storm(site, family, variant, build)
            for family in installed(FAMILIES)
            if not family.asynchronous
            for variant, build in _auths(family)
        ]


def _auths(family: Family) -> list[tuple[str, Factory]]:
    """finauth's and the peers' factories: the static header, set on the client or by a
    hand-written auth, has no token to renew."""
    static = (BASELINE, HAND_WRITTEN)
    return [
        (variant, build) for variant, build in factories(family).items() if variant not in static
    ]


def _thread_storm(site: Site, family: Family, variant: str, build: Factory) -> dict[str, Any]:
    with ExitStack() as stack:
        site.emulator.token_ttl = EXPIRING_TTL
        client = build(site, stack)
        family.get(client, site.url)
        site.emulator.token_ttl = FRESH_TTL
        time.sleep(AGE)
        before = site.emulator.token_calls
        with _complaints() as heard:
            start, finished = _release_threads(partial(family.get, client, site.url))
        calls = site.emulator.token_calls - before
        storm = f"{THREADS} threads"
        return _row(storm, family.name, variant, calls, start, finished, heard.count)


def _task_storm(site: Site, family: Family, variant: str, build: Factory) -> dict[str, Any]:
    return asyncio.run(_tasks(site, family, variant, build))


def _revoked_storm(site: Site, family: Family, variant: str, build: Factory) -> dict[str, Any]:
    with ExitStack() as stack:
        client = build(site, stack)
        family.get(client, site.url)  # an hour-long token, which the provider is about to refuse
        site.emulator.expire_tokens()
        before = site.emulator.token_calls
        with _complaints() as heard:
            start, finished = _release_threads(partial(family.get, client, site.url))
        storm = f"{THREADS} threads, token refused by the provider"
        calls = site.emulator.token_calls - before
        return _row(storm, family.name, variant, calls, start, finished, heard.count)


def _release_threads(send: Callable[[], int]) -> tuple[float, list[Finish]]:
    """THREADS threads, each sending one request, released at once: when, and how each ended."""
    barrier = threading.Barrier(THREADS + 1)
    finished: list[Finish] = []

    def worker() -> None:
        barrier.wait(WAIT)
        finished.append(_attempt(send))

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    barrier.wait(WAIT)
    start = time.monotonic()
    for thread in threads:
        thread.join(WAIT)
    return start, finished


async def _tasks(site: Site, family: Family, variant: str, build: Factory) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        site.emulator.token_ttl = EXPIRING_TTL
        client = await build(site, stack)
        await family.get(client, site.url)
        site.emulator.token_ttl = FRESH_TTL
        await asyncio.sleep(AGE)
        before = site.emulator.token_calls
        go = asyncio.Event()

        async def worker() -> Finish:
            await go.wait()
            try:
                status: int = await family.get(client, site.url)
            except Exception as error:  # a peer's failure is a result, not a crash
                return _failed(error)
            return _answered(status)

        workers = [asyncio.create_task(worker()) for _ in range(TASKS)]
        await asyncio.sleep(0)  # every task is now waiting for `go`
        with _complaints() as heard:
            start = time.monotonic()
            go.set()
            finished = await asyncio.wait_for(asyncio.gather(*workers), WAIT)
        calls = site.emulator.token_calls - before
        storm = f"{TASKS} asyncio tasks"
        return _row(storm, family.name, variant, calls, start, finished, heard.count)


def _process_storms(site: Site) -> list[dict[str, Any]]:
    """PROCESSES processes, one request each: finauth sharing a FileTokenStore, and a
    RedisTokenStore when redis-server is installed; the peers as they come, and
    httpx-auth with its JsonTokenFileCache too, which shares tokens but not renewals."""
    with tempfile.TemporaryDirectory() as scratch, redis_server(Path(scratch)) as redis_url:
        shared = {
            variant: tempfile.mkdtemp(dir=scratch)
            for variant in (FILE_STORE, peers.HTTPX_AUTH, JSON_CACHE, peers.AUTHLIB)
        }
        if redis_url is not None:
            shared = {REDIS_STORE: redis_url, **shared}
        return [_process_storm(site, variant, where) for variant, where in shared.items()]


def _process_storm(site: Site, variant: str, shared: str) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    ready, go = context.Barrier(PROCESSES + 1), context.Barrier(PROCESSES + 1)
    results: Queue[Finish] = context.Queue()
    site.emulator.token_ttl = EXPIRING_TTL
    workers = [
        context.Process(
            target=process_worker, args=(variant, site.base_url, shared, ready, go, results)
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        ready.wait(WAIT)
        site.emulator.token_ttl = FRESH_TTL
        time.sleep(AGE)
        before = site.emulator.token_calls
        go.wait(WAIT)
        start = time.monotonic()
        finished = [results.get(timeout=WAIT) for _ in workers]
    finally:
        for worker in workers:
            worker.join(WAIT)
    calls = site.emulator.token_calls - before
    complaints = sum(finish.complaints for finish in finished)
    client = f"{PEERS_BUILT_ON.get(variant, 'httpx')}.Client"
    return _row(f"{PROCESSES} processes", client, variant, calls, start, finished, complaints)


def process_worker(
    variant: str,
    base_url: str,
    shared: str,
    ready: Barrier,
    go: Barrier,
    results: Queue[Finish],
) -> None:
    """One process of a storm: warm up, wait for the others, send one request, report.

    Its Site's emulator is never served: it only lends the account's credentials
    (the demo account's, as the parent's). The parent serves the real one.
    """
    site = Site(BenchEmulator(), base_url, LOOPBACK)
    with ExitStack() as stack:
        heard = stack.enter_context(_complaints())
        try:
            client = _process_client(variant, site, stack, shared)
            client.get(site.url)
        except BaseException:
            ready.abort()  # so that nobody waits out WAIT for a process that is gone
            raise
        ready.wait(WAIT)
        go.wait(WAIT)
        before = heard.count
        finish = _attempt(lambda: client.get(site.url).status_code)
        results.put(replace(finish, complaints=heard.count - before))


def _process_client(variant: str, site: Site, stack: ExitStack, shared: str) -> httpx.Client:
    if variant in (FILE_STORE, REDIS_STORE):
        store = FileTokenStore(shared) if variant == FILE_STORE else RedisTokenStore(shared)
        auth = site.finauth(stack, refresh_margin=MARGIN, store=store)
        return stack.enter_context(httpx.Client(auth=auth, **site.httpx_options()))
    client: httpx.Client = SYNC_PEERS[peers.HTTPX_AUTH if variant == JSON_CACHE else variant](
        site, stack
    )
    if variant == JSON_CACHE:
        OAuth2.token_cache = JsonTokenFileCache(Path(shared, "tokens.json"))
    return client


def _attempt(send: Callable[[], int]) -> Finish:
    try:
        status = send()
    except Exception as error:  # a peer's failure is a result, not a crash
        return _failed(error)
    return _answered(status)


def _answered(status: int) -> Finish:
    return Finish(time.monotonic(), None if status == 200 else f"HTTP {status}")


def _failed(error: Exception) -> Finish:
    return Finish(time.monotonic(), type(error).__name__)


def _row(
    storm: str,
    client: str,
    variant: str,
    token_calls: int,
    start: float,
    finished: list[Finish],
    complaints: int,
) -> dict[str, Any]:
    errors = Counter(finish.error for finish in finished if finish.error is not None)
    return {
        "storm": storm,
        "client": client,
        "variant": variant,
        "token_calls": token_calls,
        "succeeded": len(finished) - sum(errors.values()),
        "failed": sum(errors.values()),
        "errors": dict(errors),
        "seconds": round(max(finish.at for finish in finished) - start, 4),
        "log_warnings": complaints,
    }
