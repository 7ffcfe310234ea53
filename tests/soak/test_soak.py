"""A bounded soak: many threads and tasks on one auth, short-lived tokens, random revocations.

32 threads (requests and httpx.Client, by turns) and 64 asyncio tasks share one
auth per provider, over loopback to an emulator served from its own process.
Tokens live 6 s and are renewed 2.5 s early; every ~1,000 requests the provider
revokes every token. The margin is wide because it must outlast the slowest round
trip: a request whose token expires on its way is refused, and R4 rightly returns
the 401 of its re-send. Among 96 workers on 2 cores, the slowest take 1 to 1.7 s
(3 s and more with two more busy processes); with a 0.5 s margin, about one run in
nine returned a 401 or renewed once more than the clock says.

Every request must succeed, the renewals the provider counts must be within 10 %
of what the clock and the revocations call for, and no thread or socket may
outlive the run (ResourceWarning is an error).
`FINAUTH_SOAK_REQUESTS` sets the number of requests per provider: 3,000 in the
normal run, 20,000 in `nox -s soak`.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import random
import threading
import time
from collections.abc import Callable

import httpx
import pytest
import requests

from finauth._auth import ProviderAuth
from served_apart import PROVIDERS, ServedApart

REQUESTS = int(os.environ.get("FINAUTH_SOAK_REQUESTS", "3000"))
THREADS = 32
TASKS = 64
TTL = 6.0
MARGIN = 2.5
REVOKE_EVERY = 1000


class Run:
    """The shared request budget, the outcomes, and the revocations.

    Every ~REVOKE_EVERY requests, a revocation: the senders stop at a gate, the
    requests under way end, the provider revokes every token, and all go on, each
    world then holding a revoked token. Revoked while requests are under way, a
    request already renewing after one 401 would meet a second, and R4 rightly
    returns that 401: it is the one failure the soak cannot count as finauth's.
    """

    def __init__(self, revoke: Callable[[], None]) -> None:
        self._revoke = revoke
        self._guard = threading.Condition()
        self._open = threading.Event()
        self._open.set()
        self._started = self._under_way = 0
        self._next_revocation = self._gap()
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self.sent_at: list[float] = []
        self.revoked_at: list[float] = []

    def take(self) -> bool:
        """One more request to send, if the budget allows; waits while a revocation is due."""
        while (started := self._start()) is None:
            self._open.wait()
        return started

    async def take_async(self) -> bool:
        """`take`, for a task: it waits without blocking its event loop."""
        while (started := self._start()) is None:
            await asyncio.sleep(0.001)
        return started

    def done(self, outcome: int | Exception) -> None:
        """A request's end: its status, or the exception it raised."""
        with self._guard:
            if isinstance(outcome, Exception):
                self.failures.append(f"{type(outcome).__name__}: {outcome}")
            else:
                self.statuses.append(outcome)
            self._under_way -= 1
            if len(self.statuses) + len(self.failures) >= self._next_revocation:
                self._next_revocation += self._gap()
                self._open.clear()
            self._guard.notify_all()

    def revoke_when_due(self) -> None:
        """The revoker's life: at each gate, once nothing is under way, revoke."""
        with self._guard:
            while self._started < REQUESTS or self._under_way:
                if not self._open.is_set() and not self._under_way:
                    self.revoked_at.append(time.monotonic())
                    self._revoke()
                    self._open.set()
                self._guard.wait(timeout=1)
            self._open.set()

    def _start(self) -> bool | None:
        """True: send one more; False: the budget is spent; None: wait at the gate."""
        with self._guard:
            if not self._open.is_set():
                return None
            if self._started >= REQUESTS:
                return False
            self._started += 1
            self._under_way += 1
            self.sent_at.append(time.monotonic())
            return True

    def _gap(self) -> int:
        return random.randint(REVOKE_EVERY * 4 // 5, REVOKE_EVERY * 6 // 5)


def expected_renewals(sent_at: list[float], revoked_at: list[float]) -> int:
    """What the clock calls for, given when each request went out: a first login; a
    refresh whenever a request finds its token within MARGIN of expiry; and after each
    revocation, a refresh the provider refuses and a login.

    Counted from the sends, not from the run's length: while the machine stalls, no
    request goes out, and the one after a stall renews once however long it lasted.
    """
    lifetime = TTL - MARGIN
    events = sorted(
        [(when, "send") for when in sent_at] + [(when, "revoke") for when in revoked_at]
    )
    renewals, issued, revoked = 0, -math.inf, False
    for when, event in events:
        if event == "revoke":
            revoked = True
        elif revoked:
            renewals, issued, revoked = renewals + 2, when, False
        elif when - issued >= lifetime:
            renewals, issued = renewals + 1, when
    return renewals


def thread_sender(index: int, auth: ProviderAuth, url: str, run: Run) -> None:
    """One thread's share of the requests: with httpx.Client or requests, by turns."""
    with httpx.Client(auth=auth) as client, requests.Session() as session:
        while run.take():
            try:
                if index % 2:
                    run.done(client.get(url).status_code)
                else:
                    run.done(session.get(url, auth=auth).status_code)
            except Exception as error:
                run.done(error)


async def task_senders(auth: ProviderAuth, url: str, run: Run) -> None:
    """TASKS tasks on one httpx.AsyncClient, sharing the requests."""
    limits = httpx.Limits(max_connections=TASKS)
    async with httpx.AsyncClient(auth=auth, limits=limits) as client:

        async def task() -> None:
            while await run.take_async():
                try:
                    run.done((await client.get(url)).status_code)
                except Exception as error:
                    run.done(error)

        await asyncio.gather(*(task() for _ in range(TASKS)))


@pytest.mark.timeout(900)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_soak_loses_no_request_and_renews_as_often_as_the_clock_says(provider: str) -> None:
    threads_before = set(threading.enumerate())
    with ServedApart(provider, token_ttl=TTL) as emulator:
        run = Run(emulator.revoke_tokens)
        url = emulator.base_url + PROVIDERS[provider].sample_path
        auth = PROVIDERS[provider]().auth(emulator.base_url, refresh_margin=MARGIN)
        workers = [
            threading.Thread(target=thread_sender, args=(index, auth, url, run))
            for index in range(THREADS)
        ]
        workers.append(threading.Thread(target=asyncio.run, args=(task_senders(auth, url, run),)))
        workers.append(threading.Thread(target=run.revoke_when_due))
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        auth.close()
        logins, refreshes = emulator.counts()
    gc.collect()  # a socket left open warns (ResourceWarning, an error here) when collected

    assert run.failures == []
    assert len(run.revoked_at) >= REQUESTS // REVOKE_EVERY - 1
    assert len(run.statuses) == REQUESTS
    assert set(run.statuses) == {200}
    expected = expected_renewals(run.sent_at, run.revoked_at)
    assert abs(logins + refreshes - expected) <= max(2, expected // 10), (
        logins,
        refreshes,
        expected,
    )
    assert set(threading.enumerate()) == threads_before
