"""httpx.AsyncClient with a shared store: waiting on disk, Redis or a lock never stalls the loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio
import httpx
import pytest

from conftest import PROVIDERS
from finauth import FileTokenStore, RedisTokenStore, TokenStore
from finauth.testing import EmulatorServer

LOCK_TIMEOUT = 1.0
TICK = 0.01


@pytest.fixture(params=["file", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., TokenStore]:
    if request.param == "file":
        return partial(FileTokenStore, tmp_path, lock_timeout=LOCK_TIMEOUT)
    url: str = request.getfixturevalue("redis_url")
    return partial(RedisTokenStore, url, lock_timeout=LOCK_TIMEOUT)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_loop_runs_while_a_task_waits_for_another_process_lock(
    make_store: Callable[..., TokenStore], backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the lock past lock_timeout: the task goes ahead alone, and
    meanwhile the loop's other tasks kept running."""
    emulator = PROVIDERS["FinHub"]()
    ticks = 0
    status = 0
    with EmulatorServer(emulator) as server:
        auth = emulator.auth(server.base_url, store=make_store())
        # Held far longer than the task waits: a Redis lock expires after its store's
        # lock_timeout, and one expiring as the wait runs out would race it.
        held = make_store(lock_timeout=60).lock(auth._flow.key)
        assert held is not None
        assert held.acquire()

        async def main() -> None:
            nonlocal status

            async def ticker(scope: anyio.CancelScope) -> None:
                nonlocal ticks
                while not scope.cancel_called:
                    await anyio.sleep(TICK)
                    ticks += 1

            async with httpx.AsyncClient(auth=auth) as client, anyio.create_task_group() as tasks:
                tasks.start_soon(ticker, tasks.cancel_scope)
                status = (await client.get(server.base_url + emulator.sample_path)).status_code
                tasks.cancel_scope.cancel()

        try:
            anyio.run(main, backend=backend)
        finally:
            held.release()

    assert status == 200
    # The wait lasted LOCK_TIMEOUT (100 ticks' worth); a blocked loop would tick ~once.
    assert ticks >= LOCK_TIMEOUT / TICK / 4
    going_alone = [r for r in caplog.records if "going ahead alone" in r.getMessage()]
    assert [r.levelno for r in going_alone] == [logging.WARNING]
    assert emulator.logins == 1
