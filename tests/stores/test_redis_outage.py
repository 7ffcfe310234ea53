"""A Redis that goes away and comes back: requests keep succeeding, and people are told.

Each test has a redis-server of its own, stopped and started again on the same port.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import CLIENTS, PROVIDERS
from finauth import RedisTokenStore
from finauth.testing import EmulatorServer
from finauth.testing._clients import open_client
from redis_server import RedisServer

THREADS = 4
ROUNDS = 30


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def warnings_about_redis(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "finauth"
        and record.levelno == logging.WARNING
        and "RedisTokenStore" in record.getMessage()
    ]


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("client_name", ["requests", "httpx", "httpx-asyncio"])
def test_requests_keep_succeeding_while_redis_restarts(
    server: RedisServer, provider: str, client_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewals during the outage log in locally; after it, tokens are shared again."""
    caplog.set_level(logging.INFO, logger="finauth")
    emulator = PROVIDERS[provider]()
    kind, backend = CLIENTS[client_name]
    with EmulatorServer(emulator) as api:
        url = api.base_url + emulator.sample_path
        store = RedisTokenStore(server.url, lock_timeout=5)
        auth = emulator.auth(api.base_url, store=store)
        with auth, open_client(kind, auth=auth, backend=backend) as fetch:
            statuses = [fetch("GET", url).status_code]

            server.stop()
            emulator.revoke_tokens()  # so the next request must renew, with Redis gone
            statuses += [fetch("GET", url).status_code for _ in range(3)]
            warned = warnings_about_redis(caplog)

            server.start()
            emulator.revoke_tokens()  # renew again, now into the restarted Redis
            statuses += [fetch("GET", url).status_code for _ in range(3)]

        assert statuses == [200] * 7
        assert len(warned) == 1
        assert f"127.0.0.1:{server.port} cannot be used" in warned[0]
        assert "answers again" in caplog.text
        assert emulator.logins == 3  # the first, one during the outage, one after
        # Another worker finds the token the restarted Redis now holds: no login of its own.
        other = emulator.auth(api.base_url, store=RedisTokenStore(server.url))
        with other, open_client("requests", auth=other) as fetch:
            assert fetch("GET", url).status_code == 200
        assert emulator.logins == 3


def test_threads_keep_succeeding_through_an_outage(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Four threads send while Redis stops and starts and tokens are revoked under them."""
    emulator = PROVIDERS["FinHub"]()
    with EmulatorServer(emulator) as api:
        url = api.base_url + emulator.sample_path
        auth = emulator.auth(api.base_url, store=RedisTokenStore(server.url, lock_timeout=5))
        statuses: list[int] = []
        rounds = threading.Barrier(THREADS + 1)

        def sender() -> None:
            with open_client("requests", auth=auth) as fetch:
                for _ in range(ROUNDS):
                    rounds.wait(timeout=30)
                    statuses.append(fetch("GET", url).status_code)
                    rounds.wait(timeout=30)

        threads = [threading.Thread(target=sender) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for round_ in range(ROUNDS):
            if round_ == 10:
                server.stop()
            if round_ == 20:
                server.start()
            if round_ % 5 == 0 and round_ > 0:
                emulator.revoke_tokens()
            rounds.wait(timeout=30)  # go
            rounds.wait(timeout=30)  # done
        for thread in threads:
            thread.join(timeout=30)
        auth.close()

    assert statuses == [200] * (THREADS * ROUNDS)
    assert len(warnings_about_redis(caplog)) == 1
    # One renewal per revocation, outage or not: a refused refresh, then a login.
    revocations = ROUNDS // 5 - 1
    assert (emulator.logins, emulator.refreshes) == (1 + revocations, revocations)
