"""RedisTokenStore on every Redis deployment: standalone, a 3-master cluster, a sentinel.

Real servers on loopback, real worker processes, and the emulator over HTTP;
counts are taken at the emulator. Also encryption at rest, and a Redis restart
in the middle of a storm.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conftest import PROVIDERS
from finauth import Token
from finauth.stores.base import dump_token
from finauth.testing import Call, Emulator, EmulatorServer, Reply
from finauth.testing._clients import open_client
from fleet import CONTEXT, Crew, Worker, start, work
from redis_deployments import (  # noqa: F401  (fixtures, found by pytest under their names)
    Deployment,
    deployment_fixture,
    redis_cluster_fixture,
    redis_sentinel_fixture,
)
from redis_server import RedisServer

PROCESSES = 4
THREADS = 64
LOCK_TIMEOUT = 2.0


@dataclasses.dataclass
class Api:
    emulator: Emulator
    base_url: str

    @property
    def url(self) -> str:
        return self.base_url + self.emulator.sample_path

    def renewals(self) -> int:
        return self.emulator.logins + self.emulator.refreshes


@pytest.fixture
def api() -> Iterator[Api]:
    emulator = PROVIDERS["FinHub"]()
    with EmulatorServer(emulator) as server:
        yield Api(emulator, server.base_url)


def worker(api: Api, deployment: Deployment) -> Worker:
    return Worker(
        api.emulator.auth_class,
        {**api.emulator.credentials(), "base_url": api.base_url},
        partial(deployment.store, lock_timeout=LOCK_TIMEOUT),
        api.url,
    )


def make_token(left: float = 3600) -> Token:
    now = datetime.now(timezone.utc)
    return Token(
        "access-" + os.urandom(12).hex(),
        "refresh-" + os.urandom(12).hex(),
        now + timedelta(seconds=left),
        now,
        {"session_id": "s-" + os.urandom(6).hex()},
    )


def warnings_of(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "finauth"
        and record.levelno == logging.WARNING
        and text in record.getMessage()
    ]


# -- basics ----------------------------------------------------------------------------


def test_get_set_delete_and_ttl(deployment: Deployment) -> None:
    store = deployment.store()
    token = make_token(left=60)

    store.set("account", token)
    found = store.get("account")
    ttl = store.client.pttl(store.prefix + "account")
    store.delete("account")

    assert found is not None
    assert found.access_token == token.access_token
    assert 55_000 < ttl <= 60_000  # the entry expires with its token
    assert store.get("account") is None


def test_the_lock_excludes_another_store_until_released(deployment: Deployment) -> None:
    # The lock expires lock_timeout after it is taken, and a waiter waits as long: mine
    # must outlast their wait, or it may expire while they wait.
    mine, theirs = deployment.store(lock_timeout=30), deployment.store(lock_timeout=0.3)
    held = mine.lock("account")

    assert held.acquire()
    assert not theirs.lock("account").acquire()  # waits 0.3 s, then gives up
    held.release()
    again = theirs.lock("account")
    assert again.acquire()
    again.release()


def test_messages_and_repr_say_where_redis_is(deployment: Deployment) -> None:
    store = deployment.store()
    where = {
        "standalone": f"127.0.0.1:{deployment.port}",
        "cluster": f"cluster at 127.0.0.1:{deployment.port}",
        "sentinel": "Sentinel master finauth",
    }[deployment.name]

    assert repr(store) == f"RedisTokenStore({where!r}, prefix='finauth:')"


# -- encryption at rest ----------------------------------------------------------------


def test_with_a_key_no_token_is_stored_in_plain_text(deployment: Deployment, api: Api) -> None:
    store = deployment.store(encryption_key=Fernet.generate_key())
    auth = api.emulator.auth(api.base_url, store=store)
    with auth, open_client("requests", auth=auth) as fetch:
        assert fetch("GET", api.url).status_code == 200
        token = store.get(auth._flow.key)

    stored = b"\n".join(key + b"\n" + value for key, value in deployment.values().items())
    assert token is not None
    assert token.refresh_token is not None
    assert token.access_token.encode() not in stored
    assert token.refresh_token.encode() not in stored
    assert [issued for issued in api.emulator.issued if issued.encode() in stored] == []


def test_a_rotated_key_still_reads_old_entries(deployment: Deployment) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = make_token()
    deployment.store(encryption_key=old).set("account", token)

    found = deployment.store(encryption_key=[new, old]).get("account")

    assert found is not None
    assert found.access_token == token.access_token


@pytest.mark.parametrize(
    ("writer_key", "reader_key", "says"),
    [
        (Fernet.generate_key(), Fernet.generate_key(), "cannot be opened with encryption_key"),
        (None, Fernet.generate_key(), "cannot be opened with encryption_key"),
        (Fernet.generate_key(), None, "is not a token"),
    ],
    ids=["another key", "plain, key expected", "sealed, no key"],
)
def test_an_entry_that_cannot_be_read_is_a_miss_with_a_warning(
    deployment: Deployment,
    writer_key: bytes | None,
    reader_key: bytes | None,
    says: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deployment.store(encryption_key=writer_key).set("account", make_token())
    reader = deployment.store(encryption_key=reader_key)

    assert reader.get("account") is None
    assert len(warnings_of(caplog, says)) == 1


# -- single flight across processes and threads ----------------------------------------


def seed_expired_token(api: Api, deployment: Deployment) -> None:
    """Log in here, then leave that token in Redis as already expired."""
    store = deployment.store()
    with api.emulator.auth(api.base_url, store=store) as auth:
        token = auth.login()
        key = auth._flow.key
    expired = dataclasses.replace(token, expires_at=token.obtained_at - timedelta(seconds=1))
    api.emulator.expire_tokens()
    store.client.set(store.prefix + key, dump_token(expired), px=60_000)  # set() drops it


@pytest.mark.load
def test_a_storm_of_processes_and_threads_renews_once(deployment: Deployment, api: Api) -> None:
    """Four processes and sixty-four threads find the token expired at the same moment."""
    seed_expired_token(api, deployment)
    before = api.renewals()
    crew = Crew([], CONTEXT.Queue(), CONTEXT.Barrier(PROCESSES + THREADS))
    recipe = worker(api, deployment)
    for _ in range(PROCESSES):
        process = CONTEXT.Process(
            target=work, args=(recipe, "requests", crew.barrier, crew.reports)
        )
        process.start()
        crew.processes.append(process)
    store = deployment.store(lock_timeout=LOCK_TIMEOUT)  # one client, as one process has
    statuses: list[int | str] = []

    def thread() -> None:
        auth = api.emulator.auth(api.base_url, store=store)
        with auth, open_client("requests", auth=auth) as fetch:
            assert crew.barrier is not None
            crew.barrier.wait(timeout=60)
            try:
                statuses.append(fetch("GET", api.url).status_code)
            except Exception as error:  # every caller must be answered
                statuses.append(repr(error))

    threads = [threading.Thread(target=thread) for _ in range(THREADS)]
    for each in threads:
        each.start()
    for each in threads:
        each.join(timeout=60)
    reports = crew.collect(timeout=60)

    assert [(report.status, report.error) for report in reports] == [(200, None)] * PROCESSES
    assert statuses == [200] * THREADS
    assert api.renewals() - before == 1


# -- crash safety ----------------------------------------------------------------------


def test_a_lock_holder_killed_mid_login_frees_the_lock_after_lock_timeout(
    deployment: Deployment, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first worker's login hangs at the provider and it is SIGKILLed holding the lock;
    the others wait until the lock expires, then one logs in, and all are answered."""
    first_login, release = threading.Event(), threading.Event()
    handle = api.emulator.handle

    def stall_the_first_login(call: Call) -> Reply:
        if call.method == "POST" and not first_login.is_set():
            first_login.set()
            release.wait(timeout=30)
            return Reply(503)  # to nobody: its caller is dead, and it is no login
        return handle(call)

    monkeypatch.setattr(api.emulator, "handle", stall_the_first_login)
    try:
        first = start(worker(api, deployment), 1, barrier=False)
        (holder,) = first.processes
        assert first_login.wait(timeout=30), "the first worker never logged in"
        time.sleep(LOCK_TIMEOUT / 2)  # so the waiters' own bound outlasts the lock
        others = start(worker(api, deployment), 3, barrier=False)
        time.sleep(0.3)  # the others now wait for the lock
        os.kill(holder.pid or 0, signal.SIGKILL)
        reports = others.collect(timeout=30)
        holder.join(timeout=10)
    finally:
        release.set()

    assert holder.exitcode == -signal.SIGKILL
    assert [(report.status, report.error) for report in reports] == [(200, None)] * 3
    # One login: the others waited for the dead holder's lock to expire, not each alone.
    assert api.emulator.logins == 1


# -- a restart in the middle of a storm --------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_a_restart_mid_storm_raises_nothing_and_sharing_resumes(
    own_server: RedisServer, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Sixteen threads on one auth send while Redis shuts down (NOSAVE) and comes back.

    One auth, because FinHub ends a user's older sessions at each login: separate
    auths renewing on their own during the outage would revoke each other's tokens.
    """
    caplog.set_level(logging.INFO, logger="finauth")
    standalone = Deployment("standalone", own_server.port)
    auth = api.emulator.auth(api.base_url, store=standalone.store(lock_timeout=LOCK_TIMEOUT))
    stop, failures, answers = threading.Event(), list[str](), list[int]()
    started: dict[int, float] = {}
    """When each thread last began a request: its earlier requests are answered by then."""

    def sender(number: int) -> None:
        with open_client("requests", auth=auth) as fetch:
            while not stop.is_set():
                started[number] = time.monotonic()
                try:
                    answers.append(fetch("GET", api.url).status_code)
                except Exception as error:  # every caller must be answered
                    failures.append(repr(error))

    threads = [threading.Thread(target=sender, args=(number,)) for number in range(16)]
    for each in threads:
        each.start()
    try:
        time.sleep(0.3)
        own_server.shutdown()
        api.emulator.revoke_tokens()  # a renewal while Redis is away
        time.sleep(0.5)
        own_server.start()
        # and one once it is back, when every thread has begun a request since: none is
        # still re-sending after the first revocation, with a token this one would revoke
        # before it arrives (R4 then rightly returns that 401)
        back = time.monotonic()
        deadline = back + 10
        while min(started.values()) <= back and time.monotonic() < deadline:
            time.sleep(0.01)
        api.emulator.revoke_tokens()
        time.sleep(0.5)
    finally:
        stop.set()
        for each in threads:
            each.join(timeout=30)
    with auth:
        renewals = api.renewals()
        other = api.emulator.auth(api.base_url, store=standalone.store())
        with other, open_client("requests", auth=other) as fetch:
            assert fetch("GET", api.url).status_code == 200

    assert failures == []
    assert answers
    assert set(answers) == {200}
    assert len(warnings_of(caplog, f"Redis at 127.0.0.1:{own_server.port} cannot be used")) == 1
    assert "answers again" in caplog.text
    assert api.renewals() == renewals  # the other auth found the token in Redis: shared again
