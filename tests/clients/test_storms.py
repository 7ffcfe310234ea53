"""R6 and R12: however many threads and tasks want a token at once, one login or refresh."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest
import requests

from conftest import CLIENTS, Rig
from finauth._auth import LoginAuth

THREADS = 64
TASKS = 256


@pytest.fixture(params=["requests", "httpx"])
def client_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def mount(rig: Rig, session: requests.Session) -> requests.Session:
    if rig.transport == "in-process":
        session.mount("https://", rig.emulator.requests_adapter())
    return session


def thread_storm(rig: Rig, auth: LoginAuth, count: int = THREADS) -> list[int]:
    """`count` threads released at once, each sending one request with `auth`."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None
    # Room to keep every connection alive: httpcore's pool may close a surplus keep-alive
    # connection it has just handed to a waiting thread (encode/httpcore#1110), which
    # then reads from a closed socket (EBADF).
    limits = httpx.Limits(max_keepalive_connections=count)
    with httpx.Client(auth=auth, transport=transport, limits=limits) as shared_httpx:

        def one_request() -> None:
            barrier.wait(timeout=30)
            if rig.client == "requests":
                with mount(rig, requests.Session()) as session:
                    statuses.append(session.get(rig.url(), auth=auth).status_code)
            else:
                statuses.append(shared_httpx.get(rig.url()).status_code)

        run_threads(one_request, count)
    return statuses


def run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not [thread for thread in threads if thread.is_alive()]


@pytest.fixture
def storm_auth(rig: Rig) -> Iterator[LoginAuth]:
    with mount(rig, requests.Session()) as session:
        yield rig.auth(session=session)


def test_threads_with_no_token_make_one_login(rig: Rig, storm_auth: LoginAuth) -> None:
    statuses = thread_storm(rig, storm_auth)

    assert statuses == [200] * THREADS
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 0)


def test_threads_with_an_expiring_token_make_one_refresh(rig: Rig) -> None:
    rig.emulator.token_ttl = 30
    with mount(rig, requests.Session()) as session:
        auth = rig.auth(session=session, refresh_margin=60)
        auth.login()  # a token inside the margin: expiring
        rig.emulator.token_ttl = 3600  # its renewal will not be

        statuses = thread_storm(rig, auth)

    assert statuses == [200] * THREADS
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 1)


def test_threads_whose_token_was_revoked_renew_once(rig: Rig, storm_auth: LoginAuth) -> None:
    storm_auth.login()
    rig.emulator.revoke_tokens()

    statuses = thread_storm(rig, storm_auth)

    assert statuses == [200] * THREADS
    assert rig.emulator.logins == 2  # the first login and exactly one renewal
    assert rig.emulator.refreshes == 1  # tried once, refused, then the login


@pytest.mark.parametrize("client_name", ["httpx-asyncio", "httpx-trio"])
@pytest.mark.parametrize("expiring", [False, True], ids=["no-token", "expiring"])
def test_tasks_make_one_login_or_refresh(rig: Rig, expiring: bool) -> None:
    rig.emulator.token_ttl = 30
    auth = rig.auth(refresh_margin=60 if expiring else 0)
    statuses: list[int] = []

    async def storm() -> None:
        transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(auth=auth, transport=transport, limits=limits) as client:
            if expiring:
                await client.get(rig.url())  # a token inside the margin: expiring
                rig.emulator.token_ttl = 3600  # its renewal will not be

            async def one() -> None:
                statuses.append((await client.get(rig.url())).status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(TASKS):
                    tasks.start_soon(one)

    anyio.run(storm, backend=CLIENTS[rig.client][1])
    assert statuses == [200] * TASKS
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 1 if expiring else 0)


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
