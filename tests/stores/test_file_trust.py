"""A FileTokenStore that trusts nothing it did not make, keeps no token in plain text
with a key, and survives a lock holder killed mid-login (SPEC §4, stores for real fleets).

The directory is made 0700 under any umask and refused when others may write it or
it is not ours. A token or lock path holding anything but a regular file of ours (a
symlink, a FIFO, a directory, another user's file) is never followed nor waited on:
a miss, with a warning, replaced by the next write. Tests run as root here, so
"another user's" is a file or directory given to uid 65534 with os.chown.
"""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from conftest import PROVIDERS
from finauth import ConfigurationError
from finauth._auth import ProviderAuth
from finauth._token import Token
from finauth.stores import FileTokenStore
from finauth.stores.base import dump_token
from finauth.testing import Emulator, EmulatorServer
from fleet import Worker, start

KEY = "0" * 64
"""A key as token_key makes them: 64 hex digits."""
NOBODY = 65534
VICTIM = b"a file the store must never truncate, follow or read"


def make_token(access: str = "access-secret-1") -> Token:
    now = datetime.now(timezone.utc)
    return Token(access, "refresh-secret-1", now + timedelta(hours=1), now, {"session_id": "s"})


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "finauth" and record.levelno >= logging.WARNING
    ]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def is_our_file(path: Path) -> bool:
    status = path.lstat()
    return stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid()


@pytest.fixture
def emulator() -> Emulator:
    return PROVIDERS["Fincrux"]()


@pytest.fixture
def server(emulator: Emulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator) as running:
        yield running


# --- the directory -------------------------------------------------------------------------


def test_the_directory_and_its_parents_are_made_0700_under_umask_0(tmp_path: Path) -> None:
    directory = tmp_path / "home" / ".cache" / "finauth"
    previous = os.umask(0)
    try:
        FileTokenStore(directory)
    finally:
        os.umask(previous)

    assert [mode(path) for path in (directory, directory.parent, directory.parent.parent)] == [
        0o700
    ] * 3


@pytest.mark.parametrize("permissions", [0o770, 0o702, 0o777, 0o1777])
def test_a_directory_others_may_write_is_refused(tmp_path: Path, permissions: int) -> None:
    directory = tmp_path / "shared"
    directory.mkdir()
    directory.chmod(permissions)

    with pytest.raises(ConfigurationError) as refused:
        FileTokenStore(directory)

    message = str(refused.value)
    assert "writable by group or others" in message
    assert f"{permissions:04o}" in message
    assert "chmod 700" in message


def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, NOBODY, -1)

    with pytest.raises(ConfigurationError, match=f"belongs to uid {NOBODY}, not to this user"):
        FileTokenStore(directory)


# --- token paths ---------------------------------------------------------------------------

Plant = Callable[[Path, Path], None]
"""Put something untrusted at a path; the second path is a victim file it may point to."""


def symlink_to_a_token(path: Path, victim: Path) -> None:
    victim.write_bytes(dump_token(make_token("access-secret-planted")))
    path.symlink_to(victim)


def symlink_to_a_file(path: Path, victim: Path) -> None:
    path.symlink_to(victim)


def dangling_symlink(path: Path, victim: Path) -> None:
    victim.unlink()
    path.symlink_to(victim)


def fifo(path: Path, victim: Path) -> None:
    os.mkfifo(path, 0o600)


def empty_directory(path: Path, victim: Path) -> None:
    path.mkdir()


def another_users_token(path: Path, victim: Path) -> None:
    path.write_bytes(dump_token(make_token("access-secret-planted")))
    os.chown(path, NOBODY, -1)


PLANTS: dict[str, tuple[Plant, str]] = {
    "symlink to a token": (symlink_to_a_token, "a symbolic link"),
    "symlink to a file": (symlink_to_a_file, "a symbolic link"),
    "dangling symlink": (dangling_symlink, "a symbolic link"),
    "FIFO": (fifo, "a FIFO"),
    "directory": (empty_directory, "a directory"),
    "another user's token": (another_users_token, f"owned by uid {NOBODY}"),
}
plants = pytest.mark.parametrize(("plant", "kind"), list(PLANTS.values()), ids=list(PLANTS))


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim"
    path.write_bytes(VICTIM)
    return path


@plants
def test_an_untrusted_token_path_is_a_miss_with_a_warning(
    tmp_path: Path, victim: Path, plant: Plant, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    file = store.path / f"{KEY}.json"
    plant(file, victim)
    before = victim.read_bytes() if victim.exists() else None
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None

    [warning] = warnings_of(caplog)
    assert f"{file}: it is {kind}, not a file of this user's" in warning
    assert "access-secret" not in warning
    assert (victim.read_bytes() if victim.exists() else None) == before


@plants
def test_an_untrusted_token_path_is_replaced_by_the_next_write(
    tmp_path: Path, victim: Path, plant: Plant, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    file = store.path / f"{KEY}.json"
    plant(file, victim)
    before = victim.read_bytes() if victim.exists() else None
    caplog.set_level(logging.DEBUG, logger="finauth")

    store.set(KEY, make_token("access-secret-new"))

    assert warnings_of(caplog) == []
    assert is_our_file(file)
    assert mode(file) == 0o600
    assert store.get(KEY) == store.get(KEY) is not None
    assert (victim.read_bytes() if victim.exists() else None) == before
    assert sorted(path.name for path in store.path.iterdir()) == [file.name]


def test_a_fifo_at_the_token_path_hangs_no_request(
    tmp_path: Path, emulator: Emulator, server: EmulatorServer
) -> None:
    store = FileTokenStore(tmp_path)
    statuses: list[int] = []
    auth: ProviderAuth
    with emulator.auth(server.base_url, store=store) as auth:
        os.mkfifo(tmp_path / f"{auth._flow.key}.json", 0o600)
        os.mkfifo(tmp_path / f"{auth._flow.key}.lock", 0o600)

        def request() -> None:
            url = server.base_url + emulator.sample_path
            with requests.get(url, auth=auth, timeout=10) as response:
                statuses.append(response.status_code)

        thread = threading.Thread(target=request, daemon=True)
        thread.start()
        thread.join(timeout=15)

        assert not thread.is_alive(), "a FIFO at the token path hung the request"
        assert statuses == [200]
        assert emulator.logins == 1
        assert store.get(auth._flow.key) == auth.token
    assert is_our_file(tmp_path / f"{auth._flow.key}.json")
    assert is_our_file(tmp_path / f"{auth._flow.key}.lock")


# --- lock paths ----------------------------------------------------------------------------


@plants
def test_an_untrusted_lock_path_is_replaced_never_followed(
    tmp_path: Path, victim: Path, plant: Plant, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path / "tokens", lock_timeout=0.2)
    file = store.path / f"{KEY}.lock"
    plant(file, victim)
    before = victim.read_bytes() if victim.exists() else None
    caplog.set_level(logging.WARNING, logger="finauth")

    lock = store.lock(KEY)
    assert lock.acquire() is True
    try:
        assert store.lock(KEY).acquire() is False  # and it excludes, as a lock should
    finally:
        lock.release()

    [warning] = warnings_of(caplog)
    assert f"{file} is {kind}" in warning
    assert "replacing it" in warning
    assert is_our_file(file)
    assert mode(file) == 0o600
    assert (victim.read_bytes() if victim.exists() else None) == before


def test_a_lock_path_that_cannot_be_replaced_lets_the_process_go_ahead_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    (tmp_path / f"{KEY}.lock").mkdir()
    (tmp_path / f"{KEY}.lock" / "kept").touch()
    caplog.set_level(logging.WARNING, logger="finauth")

    lock = store.lock(KEY)
    assert lock.acquire() is True
    lock.release()

    assert len(warnings_of(caplog)) == 2  # what is there, then that it cannot lock
    assert "cannot lock" in warnings_of(caplog)[-1]
    assert "going ahead without the other processes" in warnings_of(caplog)[-1]


def test_a_symlinked_lock_path_through_an_auth_truncates_nothing(
    tmp_path: Path, victim: Path, emulator: Emulator, server: EmulatorServer
) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    auth: ProviderAuth
    with emulator.auth(server.base_url, store=store) as auth:
        (store.path / f"{auth._flow.key}.lock").symlink_to(victim)
        with requests.get(server.base_url + emulator.sample_path, auth=auth) as response:
            status = response.status_code

    assert status == 200
    assert victim.read_bytes() == VICTIM
    assert is_our_file(store.path / f"{auth._flow.key}.lock")


# --- encryption at rest --------------------------------------------------------------------


def everything_stored(directory: Path) -> bytes:
    return b"\n".join(
        path.name.encode() + b"\n" + path.read_bytes() for path in directory.iterdir()
    )


def test_with_a_key_no_token_is_written_in_plain_text(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    store = FileTokenStore(tmp_path, encryption_key=key)
    token = make_token()

    store.set(KEY, token)

    stored = everything_stored(tmp_path)
    assert b"access-secret-1" not in stored
    assert b"refresh-secret-1" not in stored
    assert store.get(KEY) == token
    assert key.decode() not in repr(store)


def test_an_auth_with_a_key_keeps_no_issued_token_in_plain_text(
    tmp_path: Path, emulator: Emulator, server: EmulatorServer
) -> None:
    store = FileTokenStore(tmp_path, encryption_key=Fernet.generate_key())
    url = server.base_url + emulator.sample_path
    with emulator.auth(server.base_url, store=store) as auth, requests.get(url, auth=auth) as sent:
        assert sent.status_code == 200

    stored = everything_stored(tmp_path)
    assert emulator.issued
    assert [token for token in emulator.issued if token.encode() in stored] == []


def test_a_rotated_key_reads_entries_of_the_old_one(tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    FileTokenStore(tmp_path, encryption_key=old).set(KEY, make_token("access-secret-old"))
    rotated = FileTokenStore(tmp_path, encryption_key=[new, old])

    found = rotated.get(KEY)
    rotated.set(KEY, make_token("access-secret-new"))

    assert found is not None
    assert found.access_token == "access-secret-old"
    assert FileTokenStore(tmp_path, encryption_key=new).get(KEY) == rotated.get(KEY)


UNREADABLE = {
    "another key": (Fernet.generate_key(), Fernet.generate_key()),
    "plain where a key is expected": (None, Fernet.generate_key()),
    "sealed where none is expected": (Fernet.generate_key(), None),
}


@pytest.mark.parametrize(("written", "read"), list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_entry_the_key_cannot_open_is_a_miss_with_one_warning(
    tmp_path: Path, written: bytes | None, read: bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    FileTokenStore(tmp_path, encryption_key=written).set(KEY, make_token())
    store = FileTokenStore(tmp_path, encryption_key=read)
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None

    [warning] = warnings_of(caplog)
    assert "sealed with another key or none" in warning
    assert "access-secret" not in warning
    assert [key for key in (written, read) if key and key.decode() in warning] == []


def test_a_corrupt_sealed_entry_is_a_miss_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path, encryption_key=Fernet.generate_key())
    store.set(KEY, make_token())
    file = tmp_path / f"{KEY}.json"
    file.write_bytes(file.read_bytes()[:-10])
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None
    assert len(warnings_of(caplog)) == 1


# --- crash safety --------------------------------------------------------------------------


def test_a_lock_holder_killed_mid_login_frees_the_others_at_once(tmp_path: Path) -> None:
    """The holder's login stalls at the provider and it is SIGKILLed holding the file lock:
    the kernel frees the lock, and the three waiters go on with exactly one login."""
    emulator = PROVIDERS["FinHub"]()
    with EmulatorServer(emulator) as server:
        worker = Worker(
            emulator.auth_class,
            {**emulator.credentials(), "base_url": server.base_url},
            partial(FileTokenStore, tmp_path / "tokens", lock_timeout=30),
            server.base_url + emulator.sample_path,
        )
        emulator.stall_next("login", 60)
        holder_crew = start(worker, 1, barrier=False)
        (holder,) = holder_crew.processes
        wait_for(lambda: emulator.logins == 1, "the holder never logged in")
        waiters = start(worker, 3, barrier=False)
        time.sleep(1.0)  # the waiters now wait for the holder's lock
        assert emulator.logins == 1
        os.kill(holder.pid or 0, signal.SIGKILL)

        # Within 20 s, though the lock_timeout is 30: the lock went with its process.
        reports = waiters.collect(timeout=20)
        holder.join(timeout=10)

    assert holder.exitcode == -signal.SIGKILL
    assert [(report.status, report.error) for report in reports] == [(200, None)] * 3
    assert emulator.logins == 2  # the holder's, never answered, and one more


def wait_for(condition: Callable[[], bool], failure: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.01)
