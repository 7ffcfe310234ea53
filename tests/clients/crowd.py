"""Crowds of callers for the storm tests: released at once, and each call's end recorded.

A storm that goes wrong should say how its calls failed (a PoolTimeout, a ReadTimeout),
not just that some status is missing: so each call's end is kept as its status code or
the class of what it raised, and a thread never dies of an exception.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from httpcore._sync.http11 import HTTP11Connection

from conftest import CLIENTS, Rig
from finauth._auth import ProviderAuth

Outcome = int | type[Exception]
"""How one call ended: its status code, or the class of what it raised."""


@pytest.fixture(autouse=True)
def httpcore_expiry_checked_under_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work around a race in httpcore's thread pool (seen in 1.0.9), which storms on a
    small pool hit about once a run: autouse in the modules that import it.

    Each pass over the pool asks every connection whether it has expired: idle (a read of
    its state) and its socket readable (the server hung up). A thread that starts a
    request on it between the two, answered at once over loopback, makes it readable: the
    pool closes it under that thread, which fails with a ReadError (EBADF) or waits out
    its read timeout. That is no fault of the auth's, so the check is made under the
    connection's own state lock, which a request takes to start.
    """
    unlocked = HTTP11Connection.has_expired

    def has_expired(connection: HTTP11Connection) -> bool:
        with connection._state_lock:
            return unlocked(connection)

    monkeypatch.setattr(HTTP11Connection, "has_expired", has_expired)


def outcome(send: Callable[[], Any]) -> Outcome:
    """How `send()` ended."""
    try:
        status: int = send().status_code
    except Exception as error:
        return type(error)
    return status


async def async_outcome(send: Callable[[], Awaitable[Any]]) -> Outcome:
    """How `await send()` ended."""
    try:
        status: int = (await send()).status_code
    except Exception as error:
        return type(error)
    return status


def run_threads(target: Callable[[], None], count: int, within: float = 60) -> None:
    """Run `count` threads of `target` to their end, all of them within `within` seconds."""
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + within
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not [thread for thread in threads if thread.is_alive()]


def crowd(
    rig: Rig, auth: ProviderAuth, count: int, spoil: Callable[[], None], **options: Any
) -> list[Outcome]:
    """A client of the rig's kind logs in with one call; `spoil()` sets up the trouble;
    then `count` callers send one request each, at once: threads sharing the httpx
    client (with requests, each its own session), or tasks sharing the async client.

    `options` go to the httpx client (its transport, timeout, limits).
    """
    if rig.family == "requests" and not rig.is_async:
        assert not options, "requests callers take no client options"
        return _requests_crowd(rig, auth, count, spoil)
    if not rig.is_async:
        return _httpx_crowd(rig, count, spoil, auth=auth, **options)
    outcomes: list[Outcome] = []

    async def tasks() -> None:
        async with async_client(rig.kind, auth, **options) as client:
            assert (await client.get(rig.url())).status_code == 200
            spoil()

            async def one() -> None:
                outcomes.append(await async_outcome(lambda: client.get(rig.url())))

            async with anyio.create_task_group() as group:
                for _ in range(count):
                    group.start_soon(one)

    anyio.run(tasks, backend=CLIENTS[rig.client][1])
    return outcomes


@asynccontextmanager
async def async_client(kind: str, auth: ProviderAuth, **options: Any) -> AsyncIterator[Any]:
    """An async client of `kind` using `auth`, whose `get(url)` returns an answer with a
    `status_code` (aiohttp's read and released).

    `options` are httpx's: its transport, `limits` (aiohttp: a connector's limit, niquests:
    its pool size) and `timeout` (aiohttp: its total).
    """
    if kind in ("httpx-async", "httpx2-async"):
        library = importlib.import_module(kind.partition("-")[0])
        async with library.AsyncClient(auth=auth, **in_terms_of(library, options)) as client:
            yield client
    elif kind == "aiohttp":
        async with _aiohttp_session(auth, **options) as session:
            yield session
    elif kind == "niquests-async":
        import niquests

        limits = options.get("limits")
        connections = limits.max_connections if limits else 10
        async with niquests.AsyncSession(
            auth=auth.as_async(), pool_maxsize=connections, timeout=10
        ) as session:
            yield session
    else:
        raise ValueError(f"{kind} is no async client kind")


def in_terms_of(library: Any, options: dict[str, Any]) -> dict[str, Any]:
    """httpx's `limits` and `timeout` as httpx2's, for an httpx2 client."""
    if library is httpx:
        return options
    converted = dict(options)
    if isinstance(limits := options.get("limits"), httpx.Limits):
        converted["limits"] = library.Limits(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
        )
    if isinstance(timeout := options.get("timeout"), httpx.Timeout):
        converted["timeout"] = library.Timeout(**timeout.as_dict())
    return converted


@asynccontextmanager
async def _aiohttp_session(
    auth: ProviderAuth, limits: httpx.Limits | None = None, timeout: Any = None
) -> AsyncIterator[Any]:
    import aiohttp

    connections = limits.max_connections if limits else None
    connector = aiohttp.TCPConnector(limit=connections or 100)
    seconds = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
    session = aiohttp.ClientSession(
        middlewares=(auth,), connector=connector, timeout=aiohttp.ClientTimeout(total=seconds)
    )

    class Answered:
        def __init__(self, status: int) -> None:
            self.status_code = status

    class Getter:
        async def get(self, url: str, **options: Any) -> Answered:
            if "auth" in options and options.pop("auth") is None:
                options["middlewares"] = ()  # httpx's auth=None: without the auth
            async with session.get(url, **options) as response:
                await response.read()
                return Answered(response.status)

    async with session:
        yield Getter()


def _requests_crowd(
    rig: Rig, auth: ProviderAuth, count: int, spoil: Callable[[], None]
) -> list[Outcome]:
    assert rig.transport == "loopback", "in-process, each session would need the adapter"
    auth.login()
    spoil()
    barrier = threading.Barrier(count)
    outcomes: list[Outcome] = []
    library = importlib.import_module(rig.kind)

    def one() -> None:
        barrier.wait(timeout=30)
        with library.Session() as session:
            outcomes.append(outcome(lambda: session.get(rig.url(), auth=auth, timeout=10)))

    run_threads(one, count)
    return outcomes


def _httpx_crowd(rig: Rig, count: int, spoil: Callable[[], None], **options: Any) -> list[Outcome]:
    barrier = threading.Barrier(count)
    outcomes: list[Outcome] = []
    library = importlib.import_module(rig.kind)
    with library.Client(**in_terms_of(library, options)) as client:
        assert client.get(rig.url()).status_code == 200
        spoil()

        def one() -> None:
            barrier.wait(timeout=30)
            outcomes.append(outcome(lambda: client.get(rig.url())))

        run_threads(one, count)
    return outcomes
