"""R6 across processes: workers sharing a FileTokenStore or a RedisTokenStore renew once.

Every worker is a real process with its own auth and its own store object, the
emulator answers over loopback, and the store is a real directory or a real
redis-server. Counts are taken at the emulator.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from conftest import PROVIDERS, SECRET_CREDENTIALS
from finauth import FileTokenStore, RedisTokenStore, TokenStore
from finauth.stores.base import dump_token, load_token
from finauth.testing import Call, Emulator, EmulatorServer, Reply
from fleet import CONTEXT, Worker, rewrite, start


@dataclasses.dataclass
class Fleet:
    """An emulator over loopback and a store recipe every worker process can rebuild."""

    emulator: Emulator
    base_url: str
    store_kind: str
    recipe: Callable[[], TokenStore]

    def worker(self) -> Worker:
        return Worker(
            self.emulator.auth_class,
            {**self.emulator.credentials(), "base_url": self.base_url},
            self.recipe,
            self.base_url + self.emulator.sample_path,
        )

    def renewals(self) -> int:
        return self.emulator.logins + self.emulator.refreshes

    def seed_expired_token(self) -> None:
        """Log in here, then leave that token in the store as already expired."""
        store = self.recipe()
        with self.emulator.auth(self.base_url, store=store) as auth:
            token = auth.login()
            key = auth._flow.key
        expired = dataclasses.replace(token, expires_at=token.obtained_at - timedelta(seconds=1))
        self.emulator.expire_tokens()
        if isinstance(store, RedisTokenStore):  # whose set() drops expired tokens, as it should
            store.client.set(store.prefix + key, dump_token(expired), px=60_000)
        else:
            store.set(key, expired)


@pytest.fixture(params=["file", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def recipe(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[], TokenStore]:
    if store_kind == "file":
        return partial(FileTokenStore, tmp_path / "tokens", lock_timeout=30)
    url: str = request.getfixturevalue("redis_url")
    return partial(RedisTokenStore, url, lock_timeout=5)


SCALES = [
    *(pytest.param(name, 4, id=f"{name}-4") for name in PROVIDERS),
    pytest.param("Fincrux", 16, marks=pytest.mark.load, id="Fincrux-16"),
]
"""Every provider's fleet of 4 processes, and one of 16: single flight across processes is
the store's, which 16 processes at once test as well with one provider as with each.
A run of 16 takes 5 to 7 s, and takes both cores of a CI machine while it lasts."""


@pytest.fixture(params=list(PROVIDERS))
def fleet(
    request: pytest.FixtureRequest, store_kind: str, recipe: Callable[[], TokenStore]
) -> Iterator[Fleet]:
    emulator = PROVIDERS[request.param]()
    with EmulatorServer(emulator) as server:
        yield Fleet(emulator, server.base_url, store_kind, recipe)


@pytest.mark.parametrize(("fleet", "count"), SCALES, indirect=["fleet"])
def test_processes_finding_the_token_expired_renew_it_once(fleet: Fleet, count: int) -> None:
    fleet.seed_expired_token()
    before = fleet.renewals()

    reports = start(fleet.worker(), count).collect()

    assert [(report.status, report.error) for report in reports] == [(200, None)] * count
    assert fleet.renewals() - before == 1
    assert len({report.pid for report in reports}) == count


@pytest.mark.parametrize(("fleet", "count"), SCALES, indirect=["fleet"])
def test_processes_with_no_token_log_in_once(fleet: Fleet, count: int) -> None:
    reports = start(fleet.worker(), count).collect()

    assert [(report.status, report.error) for report in reports] == [(200, None)] * count
    assert (fleet.emulator.logins, fleet.emulator.refreshes) == (1, 0)


@pytest.mark.parametrize("fleet", ["FinHub"], indirect=True)
def test_a_lock_holder_killed_mid_login_does_not_stall_the_fleet(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first worker's login hangs at the provider; it is SIGKILLed holding the lock.

    A file lock dies with its process; a Redis lock expires after lock_timeout
    (5 s here). Either way the second worker then logs in, within bounds.
    """
    first_login, release = threading.Event(), threading.Event()
    handle = fleet.emulator.handle

    def stall_the_first_login(call: Call) -> Reply:
        if call.method == "POST" and not first_login.is_set():
            first_login.set()
            release.wait(timeout=60)
        return handle(call)

    monkeypatch.setattr(fleet.emulator, "handle", stall_the_first_login)
    try:
        first = start(fleet.worker(), 1, barrier=False)
        (holder,) = first.processes
        assert first_login.wait(timeout=30), "the first worker never logged in"
        second = start(fleet.worker(), 1, barrier=False)
        time.sleep(0.5)  # the second worker is now waiting for the lock
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(timeout=10)

        (report,) = second.collect(timeout=30)
    finally:
        release.set()

    assert holder.exitcode == -signal.SIGKILL
    assert (report.status, report.error) == (200, None)
    assert fleet.emulator.logins == 1  # the second worker's; the first never got its answer


def test_the_store_holds_tokens_and_no_credentials(fleet: Fleet) -> None:
    """Neither a password, tenant key or secret, nor the account's names, reach the store."""
    fleet.seed_expired_token()
    assert start(fleet.worker(), 2).collect()[0].status == 200  # refreshed into the store

    stored = stored_bytes(fleet)

    assert fleet.emulator.issued[-1].encode() in stored  # the scan sees the live token
    credentials = fleet.emulator.credentials()
    secrets = {credentials[name] for name in SECRET_CREDENTIALS if name in credentials}
    names = set(credentials.values()) - secrets
    assert [secret for secret in secrets if secret.encode() in stored] == []
    assert [name for name in names if name.encode() in stored_names(fleet)] == []


def stored_bytes(fleet: Fleet) -> bytes:
    """Everything the store keeps: file names and contents, or Redis keys and values."""
    return b"\n".join(name + b"\n" + value for name, value in stored(fleet).items())


def stored_names(fleet: Fleet) -> bytes:
    return b"\n".join(stored(fleet))


def stored(fleet: Fleet) -> dict[bytes, bytes]:
    store = fleet.recipe()
    if isinstance(store, FileTokenStore):
        return {path.name.encode(): path.read_bytes() for path in store.path.iterdir()}
    assert isinstance(store, RedisTokenStore)
    client = store.client
    return {as_bytes(key): as_bytes(client.get(key)) for key in client.scan_iter()}


def as_bytes(value: bytes | str | None) -> bytes:
    return value.encode() if isinstance(value, str) else value or b""


def test_concurrent_writers_never_leave_a_torn_file(tmp_path: Path) -> None:
    """Four processes rewrite one token file while this one reads it as fast as it can."""
    emulator = PROVIDERS["FinHub"]()
    with EmulatorServer(emulator) as server, emulator.auth(server.base_url) as auth:
        token = auth.login()
    # Large enough that a plain open-and-write is seen half done by a reader.
    token = dataclasses.replace(token, extra={"session_id": "s" * 256_000})
    store = FileTokenStore(tmp_path)
    store.set("shared", token)
    file = tmp_path / "shared.json"
    writers = [CONTEXT.Process(target=rewrite, args=(tmp_path, token, 150)) for _ in range(4)]
    for writer in writers:
        writer.start()
    reads = torn = 0
    while any(writer.is_alive() for writer in writers):
        try:
            load_token(file.read_bytes())
        except ValueError:
            torn += 1
        reads += 1
    for writer in writers:
        writer.join(timeout=30)

    assert [writer.exitcode for writer in writers] == [0] * 4
    assert reads > 0
    assert torn == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shared.json"]
