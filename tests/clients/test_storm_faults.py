"""R6 (v2) when the renewal a crowd waits for goes wrong: it times out, or its caller is
cancelled.

- A renewal that is never answered: its caller gets its client's read timeout, and the
  callers waiting for it must not all give up at once and renew each on its own. A
  waiter's bound covers the whole renewal it waits for, and when the renewal fails, one
  waiter takes over: one more renewal at most (a refresh, and the login it falls back
  to), not one per waiter.
- A caller cancelled while its renewal is in flight (an anyio cancel scope, asyncio or
  trio): the renewal is not abandoned, so the next call uses its token.

Stalls are acted out by the loopback server, so the transport is pinned to loopback.
"""

from __future__ import annotations

import asyncio
import importlib
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import anyio
import httpx
import pytest
import requests
from crowd import (
    async_client,
    crowd,
    httpcore_expiry_checked_under_lock,  # noqa: F401  (autouse)
)

from conftest import CLIENTS, Rig, make_due
from finauth.testing import Emulator
from finauth.testing._emulator import AuthKind

pytestmark = [
    pytest.mark.parametrize("transport", ["loopback"]),
    pytest.mark.timeout(20),
]

HERD = 8
AUTH_TIMEOUT = 1.0
"""The auth's `timeout`: what each auth call of requests may take, and each waiter's bound
before the fix."""
CLIENT_TIMEOUT = 1.25
"""An httpx client's timeout, which the auth calls it carries take on: a renewal that
outlasts AUTH_TIMEOUT."""
STALL = 10.0
"""Seconds an answer is held back: far beyond every timeout here (the server gives up as
soon as the client hangs up)."""
READ_TIMEOUTS = {
    "requests": requests.exceptions.ReadTimeout,
    "httpx": httpx.ReadTimeout,
    "aiohttp": asyncio.TimeoutError,  # the auth call's total timeout
}
"""What an auth call that times out raises, by client family (niquests' and httpx2's own
classes of the same names, as `read_timeout` finds them)."""


def read_timeout(rig: Rig) -> type[Exception]:
    package = rig.package
    if package in ("niquests", "httpx2"):
        library = importlib.import_module(package)
        error: type[Exception] = (
            library.ReadTimeout if package == "httpx2" else library.exceptions.ReadTimeout
        )
        return error
    return READ_TIMEOUTS[rig.family]


RETRY_AFTER = 0.3
"""Seconds the provider asks for before the refresh is tried again (R9), in `retried`."""


def stalled(emulator: Emulator) -> None:
    """The refresh is never answered."""
    emulator.stall_next("refresh", STALL)


def retried(emulator: Emulator) -> None:
    """The refresh is answered 503 with Retry-After, then tried again and never answered:
    a renewal that outlasts the auth's `timeout` by RETRY_AFTER, whatever the client."""
    emulator.fail_next_refresh(503, headers=[("Retry-After", str(RETRY_AFTER))])
    emulator.stall_next("refresh", STALL)


HERD_CLIENTS = [client for client in CLIENTS if not client.startswith("httpx2")]
"""Every client but httpx2, which goes through httpx's adapter, timeouts and all."""


@pytest.mark.parametrize("client_name", HERD_CLIENTS)
@pytest.mark.parametrize(
    ("fault", "refresh_calls"),
    [pytest.param(stalled, 1, id="stalled"), pytest.param(retried, 2, id="503-then-stalled")],
)
def test_a_renewal_that_times_out_is_taken_over_by_one_waiter(
    rig: Rig, fault: Callable[[Emulator], None], refresh_calls: int
) -> None:
    """Eight callers answered 401; the refresh that goes out (`refresh_calls` calls) is
    never answered. Its caller gets its client's read timeout, after AUTH_TIMEOUT
    (requests) or CLIENT_TIMEOUT (httpx); the seven others are answered 200, after one
    more renewal between them."""
    auth = rig.auth(timeout=AUTH_TIMEOUT)
    # aiohttp's timeout bounds the whole of a call, its wait for a renewal included
    options = {"timeout": CLIENT_TIMEOUT} if rig.family == "httpx" else {}

    def refuse_and_stall() -> None:
        rig.emulator.expire_tokens()
        fault(rig.emulator)

    outcomes = crowd(rig, auth, HERD, refuse_and_stall, **options)

    assert Counter(outcomes) == {200: HERD - 1, read_timeout(rig): 1}
    # One waiter's renewal after the failed one: a refresh, refused (the stalled call
    # spent the refresh token), then a login. Never one of each per waiter.
    assert rig.emulator.refreshes <= refresh_calls + 1
    assert rig.emulator.logins <= 1 + 1


LATE = 0.5
"""Seconds the cancelled caller's renewal is held back: long after it was cancelled."""
POLL = 0.005


CANCELLATIONS = [
    pytest.param("httpx-asyncio", "scope", id="anyio-scope"),
    pytest.param("httpx-trio", "scope", id="trio-scope"),
    pytest.param("httpx-asyncio", "wait_for", id="asyncio-wait_for"),
    pytest.param("httpx-asyncio", "wait_for-bound", id="asyncio-wait_for-bound"),
    pytest.param("httpx-asyncio", "wait_for-per-request", id="asyncio-wait_for-per-request"),
    pytest.param("httpx2-asyncio", "wait_for", id="httpx2-asyncio-wait_for"),
    pytest.param("httpx2-asyncio", "wait_for-bound", id="httpx2-asyncio-wait_for-bound"),
    pytest.param("httpx2-trio", "scope", id="httpx2-trio-scope"),
    pytest.param("aiohttp", "wait_for", id="aiohttp-wait_for"),
    pytest.param("niquests-async", "wait_for", id="niquests-async-wait_for"),
]


@pytest.mark.parametrize(("client_name", "cancel"), CANCELLATIONS)
@pytest.mark.parametrize(
    ("phase", "renewals"),
    [
        pytest.param("login", (1, 0), id="login"),
        pytest.param("expiring", (1, 1), id="refresh-before-sending"),
        pytest.param("expired", (1, 1), id="refresh-after-a-401"),
    ],
)
def test_a_cancelled_caller_leaves_its_renewal_to_the_next(
    rig: Rig, cancel: str, phase: str, renewals: tuple[int, int]
) -> None:
    """The first call is cancelled while its login or refresh is in flight, by an anyio
    cancel scope or by `asyncio.wait_for` (with the auth the client's, bound to it, or
    the request's); the next call is answered 200 with that renewal's token, none of its
    own: (logins, refreshes) counted from the start."""
    auth = rig.auth(refresh_margin=60)
    kind: AuthKind = "login" if phase == "login" else "refresh"
    flight = auth._flow._flight

    def client() -> AbstractAsyncContextManager[Any]:
        if rig.family != "httpx":  # aiohttp's and niquests' auths always renew apart
            return async_client(rig.kind, auth, timeout=5)
        session: httpx.AsyncClient = importlib.import_module(rig.package).AsyncClient(timeout=5)
        if cancel == "wait_for-bound":
            return auth.bind(session)
        if cancel != "wait_for-per-request":
            session.auth = auth
        return session

    def get(session: Any) -> Awaitable[httpx.Response]:
        if cancel == "wait_for-per-request":
            return cast("Awaitable[httpx.Response]", session.get(rig.url(), auth=auth))
        return cast("Awaitable[httpx.Response]", session.get(rig.url()))

    async def renewing() -> None:
        """Until the caller's renewal is at the provider, which holds its answer back:
        then, not after a fixed time that a loaded machine may outlast, the caller is
        cancelled in the middle of it."""
        counts = (rig.emulator.logins, rig.emulator.refreshes)
        with anyio.fail_after(LATE):
            while (rig.emulator.logins, rig.emulator.refreshes) == counts:
                await anyio.sleep(POLL)

    async def cancelled(call: Awaitable[httpx.Response]) -> None:
        if cancel == "scope":

            async def caller_task() -> None:
                await call

            async with anyio.create_task_group() as caller:
                caller.start_soon(caller_task)
                await renewing()
                caller.cancel_scope.cancel()
            return
        task = asyncio.ensure_future(call)
        await renewing()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(task, 0)  # its deadline has come
        # Cancelled at once: the renewal is still in flight, without its caller.
        assert flight.thread_lock.locked()

    async def calls() -> int:
        async with client() as session:
            if phase == "login":
                # Without the auth: a connection, and all a first request loads, made
                # ready, so that the login is at the provider well before the cancel.
                # (Not with niquests, whose session's auth `auth=None` does not turn off,
                # and whose auth calls open a session of their own anyway.)
                if rig.family != "requests":
                    assert (await session.get(rig.url(), auth=None)).status_code == 401
            else:
                assert (await get(session)).status_code == 200
            if phase == "expiring":
                make_due(auth)
            elif phase == "expired":
                rig.emulator.expire_tokens()
            rig.emulator.stall_next(kind, LATE)
            await cancelled(get(session))
            status: int = (await get(session)).status_code
            return status

    assert anyio.run(calls, backend=CLIENTS[rig.client][1]) == 200
    assert (rig.emulator.logins, rig.emulator.refreshes) == renewals
