"""R6 and R12: however many threads and tasks want a token at once, one login or refresh.

Each storm also runs on a small pool (R6 v2): one client whose few connections are
shared by every caller, the auth's renewal included. A caller answered 401 must read
and release that answer before it waits for the renewal, or the callers hold every
connection while the renewal waits for one of them. Only the loopback server has
connections to run short of: the in-process transports answer each request at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import anyio
import httpx
import pytest
import requests
from crowd import (
    Outcome,
    async_client,
    async_outcome,
    httpcore_expiry_checked_under_lock,  # noqa: F401  (autouse)
    outcome,
    run_threads,
)
from requests.adapters import HTTPAdapter

from conftest import CLIENTS, Rig, make_due
from finauth._auth import ProviderAuth
from finauth.testing import Reply

pytestmark = pytest.mark.timeout(90)

THREADS = 64
TASKS = 256
SMALL_POOL_TASKS = 64
"""Tasks of a storm on a small pool: 16 callers a connection (R6 asks for 48 or more in
all), so that on a loaded machine the last in the queue still gets its connection well
within the pool timeout, whereas a starved pool never gives it one."""
TASK_CONNECTIONS = 64
"""Connections of the task storms' roomy client."""
SMALL_POOL = 4
"""Connections of a small pool: far fewer than the callers sharing it."""
TIMEOUT = httpx.Timeout(10, pool=10)
"""A call that waits 10 s for a connection fails (httpx.PoolTimeout): a starved pool,
which never gives one, fails rather than hanging the storm. 3 s was too short for the
last of 16 callers a connection on a loaded machine, and once failed a storm that was
not starved."""
REQUESTS_TIMEOUT = 10.0
"""requests has no pool timeout: its socket timeout, and `run_threads`, bound a storm."""

POOLS = pytest.mark.parametrize(
    ("pool", "transport"),
    [
        pytest.param("roomy", "loopback", marks=pytest.mark.load),
        pytest.param("roomy", "in-process", marks=pytest.mark.load),
        ("small", "loopback"),
    ],
)
"""Every storm with a connection per caller, and over loopback on a small pool."""


@pytest.fixture(params=["requests", "httpx"])
def client_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def pool() -> str:
    """A connection for each caller ("roomy"), unless a test runs on a "small" pool (`POOLS`)."""
    return "roomy"


def mount(rig: Rig, session: requests.Session) -> requests.Session:
    if rig.transport == "in-process":
        session.mount("https://", rig.emulator.requests_adapter())
    return session


@pytest.fixture
def session(rig: Rig, pool: str) -> Iterator[requests.Session]:
    """The auth's login session; on a small pool, every requests thread shares it too, so
    that the renewal needs a connection from the callers' own pool."""
    with mount(rig, requests.Session()) as session:
        if pool == "small":
            session.mount("http://", HTTPAdapter(pool_maxsize=SMALL_POOL, pool_block=True))
        yield session


def httpx_pool(pool: str, roomy: int) -> dict[str, Any]:
    """An httpx client's limits and timeout: `roomy` connections, or SMALL_POOL.

    As much room to keep connections alive as there are connections: httpcore's pool
    may close a surplus keep-alive connection it has just handed to a waiting caller
    (encode/httpcore#1110), which then reads from a closed socket (EBADF).
    """
    connections = SMALL_POOL if pool == "small" else roomy
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return {"limits": limits, "timeout": TIMEOUT}


def thread_storm(
    rig: Rig, auth: ProviderAuth, session: requests.Session, pool: str, count: int = THREADS
) -> list[Outcome]:
    """`count` threads released at once, each sending one request with `auth`.

    Each requests thread has a session of its own, or on a small pool they share
    `session`; httpx threads share one client.
    """
    barrier = threading.Barrier(count)
    outcomes: list[Outcome] = []
    transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None
    options = httpx_pool(pool, count)
    with httpx.Client(auth=auth, transport=transport, **options) as shared_httpx:

        def get_with_requests() -> requests.Response:
            if pool == "small":
                return session.get(rig.url(), auth=auth, timeout=REQUESTS_TIMEOUT)
            with mount(rig, requests.Session()) as own:
                return own.get(rig.url(), auth=auth, timeout=REQUESTS_TIMEOUT)

        def one_request() -> None:
            barrier.wait(timeout=30)
            if rig.client == "requests":
                outcomes.append(outcome(get_with_requests))
            else:
                outcomes.append(outcome(lambda: shared_httpx.get(rig.url())))

        run_threads(one_request, count)
    return outcomes


@pytest.fixture
def storm_auth(rig: Rig, session: requests.Session) -> ProviderAuth:
    return rig.auth(session=session)


@POOLS
def test_threads_with_no_token_make_one_login(
    rig: Rig, storm_auth: ProviderAuth, session: requests.Session, pool: str
) -> None:
    outcomes = thread_storm(rig, storm_auth, session, pool)

    assert Counter(outcomes) == {200: THREADS}
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 0)


@POOLS
def test_threads_with_an_expiring_token_make_one_refresh(
    rig: Rig, session: requests.Session, pool: str
) -> None:
    auth = rig.auth(session=session, refresh_margin=60)
    auth.login()
    make_due(auth)  # a token inside the margin: expiring

    outcomes = thread_storm(rig, auth, session, pool)

    assert Counter(outcomes) == {200: THREADS}
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 1)


@POOLS
def test_threads_whose_token_was_revoked_renew_once(
    rig: Rig, storm_auth: ProviderAuth, session: requests.Session, pool: str
) -> None:
    storm_auth.login()
    rig.emulator.revoke_tokens()

    outcomes = thread_storm(rig, storm_auth, session, pool)

    assert Counter(outcomes) == {200: THREADS}
    assert rig.emulator.logins == 2  # the first login and exactly one renewal
    assert rig.emulator.refreshes == 1  # tried once, refused, then the login


TASK_RENEWALS = {"no-token": (1, 0), "expiring": (1, 1), "revoked": (2, 1)}
"""(logins, refreshes) at the provider after each task storm; "revoked": the first
login, then one renewal, whose refresh is refused and falls back to a login."""


ASYNC_CLIENTS = [
    ("httpx-asyncio", False, "httpx-asyncio"),
    ("httpx-trio", False, "httpx-trio"),
    ("httpx-asyncio", True, "httpx-asyncio-bound"),
    ("httpx2-asyncio", False, "httpx2-asyncio"),
    ("httpx2-trio", False, "httpx2-trio"),
    ("aiohttp", False, "aiohttp"),
    ("niquests-async", False, "niquests-async"),
]
"""Every async client, and httpx's bound to its client (`bind`)."""
TASK_STORMS = [
    pytest.param(client, bound, pool, transport, id=f"{name}-{pool}-{transport}", marks=marks)
    for client, bound, name in ASYNC_CLIENTS
    for pool, transport, marks in (
        [("roomy", "loopback", pytest.mark.load), ("roomy", "in-process", pytest.mark.load)]
        if client.startswith("httpx-")
        else []
    )
    + [("small", "loopback", ())]
]
"""Each async client's storms on a small pool; httpx's also with a connection per caller,
over loopback and in-process (the others share an adapter with it, or have no in-process
transport)."""
HELD_BACK = 1.0
"""Seconds the provider holds back a task storm's refresh: a loop blocked while it waits
would not tick in that time. The ticks are looked for in that window, not timed over the
whole storm: just before it, the loop runs every caller's first step, a burst of about
0.1 s that a loaded machine once stretched to 2 s."""
TICK = 0.01


@pytest.mark.parametrize(("client_name", "bound", "pool", "transport"), TASK_STORMS)
@pytest.mark.parametrize("scenario", list(TASK_RENEWALS))
def test_tasks_make_one_login_or_refresh(rig: Rig, pool: str, scenario: str, bound: bool) -> None:
    """Bound to its client, the auth sends its renewals from a task of its own: through
    the same pool, which the waiting callers have let go of. While the renewal is held
    back (the refresh of a token found expiring, on a small pool), the event loop goes on:
    a ticker task ticks while the provider holds the refresh back."""
    auth = rig.auth(refresh_margin=60)
    outcomes: list[Outcome] = []
    ticks: list[float] = []
    held_back_at: list[float] = []
    watched = pool == "small" and scenario == "expiring"

    def held_back(reply: Reply) -> Reply:
        held_back_at.append(time.monotonic())
        return replace(reply, stall=HELD_BACK)

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())  # trio's clock is not monotonic()'s
            await anyio.sleep(TICK)

    async def storm() -> None:
        transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None
        options = httpx_pool(pool, TASK_CONNECTIONS)
        if transport is not None:
            options["transport"] = transport
        async with async_client(rig.kind, auth, **options) as client:
            if bound:
                auth.bind(client)
            if scenario != "no-token":
                await client.get(rig.url())
            if scenario == "expiring":
                make_due(auth)  # a token inside the margin
            elif scenario == "revoked":
                rig.emulator.revoke_tokens()  # a token answered 401
            if watched:
                rig.emulator.tamper_next("refresh", held_back)

            async def one() -> None:
                outcomes.append(await async_outcome(lambda: client.get(rig.url())))

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(ticker)
                async with anyio.create_task_group() as callers:
                    for _ in range(callers_count):
                        callers.start_soon(one)
                tasks.cancel_scope.cancel()

    callers_count = SMALL_POOL_TASKS if pool == "small" else TASKS
    anyio.run(storm, backend=CLIENTS[rig.client][1])
    assert Counter(outcomes) == {200: callers_count}
    assert (rig.emulator.logins, rig.emulator.refreshes) == TASK_RENEWALS[scenario]
    if watched:
        (start,) = held_back_at
        during = [tick for tick in ticks if start < tick < start + HELD_BACK]
        assert during, f"the loop never ticked while the refresh was held back ({len(ticks)} ticks)"


@pytest.mark.parametrize("client_name", ["httpx"])
def test_threads_and_an_event_loop_share_one_auth(rig: Rig) -> None:
    """R12: both worlds at once stay correct, and share one flight."""
    auth = rig.auth()
    statuses: list[int] = []
    transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None
    barrier = threading.Barrier(17)

    async def tasks() -> None:
        async with httpx.AsyncClient(auth=auth, transport=transport) as client:
            barrier.wait(timeout=30)
            answers = await asyncio.gather(*(client.get(rig.url()) for _ in range(64)))
            statuses.extend(answer.status_code for answer in answers)

    with httpx.Client(auth=auth, transport=transport) as client:

        def one_request() -> None:
            barrier.wait(timeout=30)
            statuses.append(client.get(rig.url()).status_code)

        loop_thread = threading.Thread(target=lambda: asyncio.run(tasks()))
        loop_thread.start()
        run_threads(one_request, 16)
        loop_thread.join(timeout=60)

    assert statuses == [200] * 80
    # One flight in the whole process, threads and event loop alike: R12 would allow one
    # per world, but FinHub, whose new session ends the previous one, shows why not.
    assert rig.emulator.logins == 1
    assert rig.emulator.refreshes == 0
