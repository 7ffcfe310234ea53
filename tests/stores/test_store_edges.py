"""What each store does at its edges: permissions, damage, bad settings, outages, expiry.

FileTokenStore: private files and directory, corrupt files ignored with a warning
and replaced by the next login, failed writes logged, refused paths, keys and
timeouts. RedisTokenStore: entries expire with their token, under their prefix;
foreign entries ignored; bad URLs refused without echoing a password; an
unreachable Redis degrades with one warning and recovers; a lock released late
frees only itself. Then where stores meet auths: a store that is not one is
refused, and a store lock held too long is logged and gone around.
"""

from __future__ import annotations

import json
import logging
import math
import stat
import time
import traceback
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import pytest
import redis
import requests

from conftest import PROVIDERS
from finauth import ConfigurationError
from finauth._auth import ProviderAuth
from finauth._token import Token
from finauth.stores import FileTokenStore, RedisTokenStore, StoreLock, TokenStore, token_key
from finauth.stores.base import dump_token, load_token
from finauth.testing import Emulator, EmulatorServer
from redis_server import RedisServer, free_port

KEY = token_key("Fincrux", "https://api.fincrux.test", ["demo@fincrux.test"], ["demo-pass"])
SECRET = "hunter2"
"""A password in a Redis URL: it must show nowhere."""


def make_token(access: str = "access-1", *, lifetime: float = 3600.0) -> Token:
    now = datetime.now(timezone.utc)
    return Token(access, "refresh-1", now + timedelta(seconds=lifetime), now, {"session_id": "s"})


def records(
    caplog: pytest.LogCaptureFixture, level: int, containing: str = ""
) -> list[logging.LogRecord]:
    """finauth's log records at exactly `level` whose message holds `containing`."""
    return [
        record
        for record in caplog.records
        if record.name == "finauth"
        and record.levelno == level
        and containing in record.getMessage()
    ]


def finauth_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """finauth's own records: the sweep keeps every logger at DEBUG, redis-py's too."""
    return [record for record in caplog.records if record.name == "finauth"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def held_lock(store: TokenStore, key: str = KEY) -> StoreLock:
    lock = store.lock(key)
    assert lock is not None
    assert lock.acquire() is True
    return lock


@pytest.fixture
def emulator() -> Emulator:
    return PROVIDERS["Fincrux"]()


@pytest.fixture
def server(emulator: Emulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator) as running:
        yield running


def get_sample(server: EmulatorServer, auth: ProviderAuth) -> int:
    with requests.get(server.base_url + server.emulator.sample_path, auth=auth) as response:
        return response.status_code


# --- FileTokenStore: permissions ---------------------------------------------------------


def test_token_file_is_private(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)

    store.set(KEY, make_token())

    assert mode(tmp_path / f"{KEY}.json") == 0o600


def test_an_overwritten_token_file_becomes_private(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    file = tmp_path / f"{KEY}.json"
    file.write_bytes(dump_token(make_token("old")))
    file.chmod(0o644)

    store.set(KEY, make_token("new"))

    assert mode(file) == 0o600
    assert load_token(file.read_bytes()).access_token == "new"


def test_lock_file_is_private(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)

    lock = held_lock(store)
    try:
        assert mode(tmp_path / f"{KEY}.lock") == 0o600
    finally:
        lock.release()
    assert mode(tmp_path / f"{KEY}.lock") == 0o600


def test_a_created_directory_is_private(tmp_path: Path) -> None:
    directory = tmp_path / "home" / ".cache" / "finauth"

    FileTokenStore(directory)

    assert directory.is_dir()
    assert mode(directory) == 0o700


def test_writes_leave_only_the_token_file(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)

    for number in range(5):
        store.set(KEY, make_token(f"access-{number}"))

    assert [path.name for path in tmp_path.iterdir()] == [f"{KEY}.json"]


# --- FileTokenStore: damage --------------------------------------------------------------

DAMAGED = {
    "garbage": b"\x00\xffnot-json access-secret-in-a-torn-file",
    "truncated": dump_token(make_token("access-secret-in-a-torn-file"))[:60],
    "empty": b"",
    "foreign JSON": b'{"token": "access-secret-in-a-torn-file"}',
}


@pytest.mark.parametrize("content", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_file_is_ignored_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    file = tmp_path / f"{KEY}.json"
    file.write_bytes(content)
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None

    assert len(finauth_records(caplog)) == 1
    [warning] = records(caplog, logging.WARNING)
    message = warning.getMessage()
    assert "FileTokenStore" in message
    assert str(file) in message
    assert "access-secret" not in message


@pytest.mark.parametrize("content", list(DAMAGED.values()), ids=list(DAMAGED))
def test_a_damaged_file_is_repaired_by_the_next_login(
    tmp_path: Path,
    content: bytes,
    emulator: Emulator,
    server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FileTokenStore(tmp_path)
    auth: ProviderAuth
    with emulator.auth(server.base_url, store=store) as auth:
        file = tmp_path / f"{auth._flow.key}.json"
        file.write_bytes(content)
        caplog.set_level(logging.WARNING, logger="finauth")

        statuses = [get_sample(server, auth), get_sample(server, auth)]
        current = auth.token

    assert statuses == [200, 200]
    assert emulator.logins == 1
    # read twice before the login: once, then again under the lock (double-checked)
    assert len(records(caplog, logging.WARNING)) == 2
    assert len(records(caplog, logging.WARNING, "is not a whole token")) == 2
    assert current is not None
    assert load_token(file.read_bytes()) == current
    assert FileTokenStore(tmp_path).get(auth._flow.key) == current


def test_an_unreadable_entry_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    (tmp_path / f"{KEY}.json").mkdir()
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None

    assert len(finauth_records(caplog)) == 1
    assert len(records(caplog, logging.WARNING, "FileTokenStore: cannot read")) == 1


def test_a_failed_write_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    # An empty directory in the way is replaced (test_file_trust); one with entries stays.
    (tmp_path / f"{KEY}.json").mkdir()
    (tmp_path / f"{KEY}.json" / "kept").touch()
    caplog.set_level(logging.DEBUG, logger="finauth")

    store.set(KEY, make_token("access-secret-not-written"))

    assert len(finauth_records(caplog)) == 1
    [warning] = records(caplog, logging.WARNING, "FileTokenStore: cannot write")
    assert "access-secret" not in warning.getMessage()
    assert [path.name for path in tmp_path.iterdir()] == [f"{KEY}.json"]  # no temporary file
    assert (tmp_path / f"{KEY}.json").is_dir()


def test_a_failed_delete_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    (tmp_path / f"{KEY}.json").mkdir()  # unlink refuses a directory
    caplog.set_level(logging.DEBUG, logger="finauth")

    store.delete(KEY)

    assert len(finauth_records(caplog)) == 1
    assert len(records(caplog, logging.WARNING, "FileTokenStore: cannot remove")) == 1


# --- FileTokenStore: what it refuses -----------------------------------------------------


def test_a_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("not a directory")

    with pytest.raises(ConfigurationError, match="FileTokenStore: cannot keep tokens in"):
        FileTokenStore(path)


def test_a_path_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "tokens").write_text("not a directory")

    with pytest.raises(ConfigurationError, match="FileTokenStore: cannot keep tokens in"):
        FileTokenStore(tmp_path / "tokens" / "finauth")


BAD_KEYS = ["../x", "", "a/b", "/etc/passwd", "a.b", "key with space", "a\n", "é", "k" * 129]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("method", ["get", "set", "delete", "lock"])
def test_a_bad_key_is_refused(tmp_path: Path, key: str, method: str) -> None:
    store = FileTokenStore(tmp_path / "tokens")
    arguments: tuple[object, ...] = (key, make_token()) if method == "set" else (key,)

    with pytest.raises(ConfigurationError, match="FileTokenStore: a key is 1 to 128"):
        getattr(store, method)(*arguments)

    assert sorted(path.name for path in tmp_path.rglob("*")) == ["tokens"]


def test_the_longest_key_is_fine(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    key = "Az09_-" * 21 + "ab"
    assert len(key) == 128
    token = make_token()

    store.set(key, token)

    assert store.get(key) == token


BAD_TIMEOUTS: list[Any] = [0, 0.0, -1, math.nan, math.inf, "3", True, None]


@pytest.mark.parametrize("lock_timeout", BAD_TIMEOUTS, ids=repr)
def test_a_bad_file_lock_timeout_is_refused(tmp_path: Path, lock_timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="FileTokenStore: lock_timeout must be"):
        FileTokenStore(tmp_path, lock_timeout=lock_timeout)


@pytest.mark.parametrize("lock_timeout", BAD_TIMEOUTS, ids=repr)
def test_a_bad_redis_lock_timeout_is_refused(lock_timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="RedisTokenStore: lock_timeout must be"):
        RedisTokenStore("redis://127.0.0.1:1/0", lock_timeout=lock_timeout)


# --- RedisTokenStore: entries ------------------------------------------------------------


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


class OpenRedis(Protocol):
    def __call__(self, **options: Any) -> RedisTokenStore: ...


@pytest.fixture
def open_redis(redis_url: str) -> Iterator[OpenRedis]:
    """Makes RedisTokenStores on the test's Redis, closed afterwards."""
    made: list[RedisTokenStore] = []

    def open_(**options: Any) -> RedisTokenStore:
        store = RedisTokenStore(redis_url, **options)
        made.append(store)
        return store

    yield open_
    for store in made:
        store.client.close()


def test_an_entry_expires_with_its_token(open_redis: OpenRedis, redis_client: redis.Redis) -> None:
    store = open_redis()
    token = make_token(lifetime=120)

    store.set(KEY, token)

    remaining = redis_client.pttl(f"finauth:{KEY}")
    assert isinstance(remaining, int)
    assert token.expires_in * 1000 - 2000 < remaining <= 120_000


def test_a_replaced_entry_takes_the_new_tokens_expiry(
    open_redis: OpenRedis, redis_client: redis.Redis
) -> None:
    store = open_redis()
    store.set(KEY, make_token(lifetime=60))

    store.set(KEY, make_token(lifetime=600))

    remaining = redis_client.pttl(f"finauth:{KEY}")
    assert isinstance(remaining, int)
    assert 598_000 < remaining <= 600_000


def test_an_expired_token_is_not_stored(open_redis: OpenRedis, redis_client: redis.Redis) -> None:
    store = open_redis()

    store.set(KEY, make_token(lifetime=-5))

    assert redis_client.exists(f"finauth:{KEY}") == 0
    assert store.get(KEY) is None


def test_an_expired_token_removes_the_entry(
    open_redis: OpenRedis, redis_client: redis.Redis
) -> None:
    store = open_redis()
    store.set(KEY, make_token("live"))

    store.set(KEY, make_token("dead", lifetime=-5))

    assert redis_client.exists(f"finauth:{KEY}") == 0
    assert store.get(KEY) is None


def test_entries_and_locks_live_under_the_prefix(
    open_redis: OpenRedis, redis_client: redis.Redis
) -> None:
    store = open_redis(prefix="billing-app:")

    store.set(KEY, make_token())
    lock = held_lock(store)
    try:
        keys = sorted(redis_client.scan_iter("*"))
    finally:
        lock.release()

    assert keys == [f"billing-app:{KEY}".encode(), f"billing-app:{KEY}:lock".encode()]
    assert sorted(redis_client.scan_iter("*")) == [f"billing-app:{KEY}".encode()]


def test_the_default_prefix_is_finauth(open_redis: OpenRedis, redis_client: redis.Redis) -> None:
    store = open_redis()

    store.set(KEY, make_token())

    assert list(redis_client.scan_iter("*")) == [f"finauth:{KEY}".encode()]


def test_prefixes_keep_stores_apart(open_redis: OpenRedis) -> None:
    first = open_redis(prefix="one:")
    second = open_redis(prefix="two:")
    first.set(KEY, make_token())

    assert second.get(KEY) is None
    lock = held_lock(first)
    try:
        other = second.lock(KEY)
        assert other is not None
        assert other.acquire() is True
        other.release()
    finally:
        lock.release()


FOREIGN = {
    "text": b"not a token access-secret-foreign",
    "a JSON list": b'["access-secret-foreign"]',
    "truncated": dump_token(make_token("access-secret-foreign"))[:50],
}


@pytest.mark.parametrize("value", list(FOREIGN.values()), ids=list(FOREIGN))
def test_a_foreign_entry_is_ignored_with_a_warning(
    open_redis: OpenRedis, redis_client: redis.Redis, value: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_redis()
    redis_client.set(f"finauth:{KEY}", value)
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None

    assert len(finauth_records(caplog)) == 1
    [warning] = records(caplog, logging.WARNING, "RedisTokenStore: the entry at")
    assert "is not a token" in warning.getMessage()
    assert "access-secret" not in warning.getMessage()


def test_an_entry_of_another_type_is_foreign_not_an_outage(
    open_redis: OpenRedis, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_redis()
    redis_client.hset(f"finauth:{KEY}", "field", "value")
    caplog.set_level(logging.DEBUG, logger="finauth")

    assert store.get(KEY) is None

    assert len(finauth_records(caplog)) == 1
    assert records(caplog, logging.WARNING, "is not a token") == finauth_records(caplog)


def test_an_auth_logs_in_over_an_out_of_range_token_file(
    tmp_path: Path, emulator: Emulator, server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A date that fits its own zone but not UTC's (year 9999 at -23:59) is no token either."""
    store = FileTokenStore(tmp_path)
    auth = emulator.auth(server.base_url, store=store)
    fields = json.loads(dump_token(make_token()))
    fields["expires_at"] = "9999-12-31T23:59:59-23:59"
    (tmp_path / f"{auth._flow.key}.json").write_text(json.dumps(fields))

    assert get_sample(server, auth) == 200
    assert emulator.logins == 1
    assert records(caplog, logging.WARNING, "is not a whole token")


# --- RedisTokenStore: configuration ------------------------------------------------------


def test_url_and_client_together_are_refused() -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(ConfigurationError, match="pass url or client, not both"):
            RedisTokenStore("redis://127.0.0.1:1/0", client=client)
    finally:
        client.close()


def test_a_client_is_used_as_given(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        store = RedisTokenStore(client=client, prefix="given:")
        token = make_token()
        store.set(KEY, token)

        assert store.client is client
        assert store.get(KEY) == token
        assert client.exists(f"given:{KEY}") == 1
    finally:
        client.close()


NOT_REDIS = [
    "http://x",
    f"http://:{SECRET}@x",
    f"https://user:{SECRET}@redis.internal:6379/0",
    f"ftp://u:{SECRET}@x",
    f"redis://:{SECRET}@x:not-a-port/0",
    SECRET,
]


@pytest.mark.parametrize("url", NOT_REDIS)
def test_a_url_that_is_not_redis_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigurationError, match="RedisTokenStore: the url is not a Redis URL"):
        RedisTokenStore(url)


@pytest.mark.parametrize("url", [url for url in NOT_REDIS if SECRET in url])
def test_a_refused_url_shows_no_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        RedisTokenStore(url)

    shown = "".join(traceback.format_exception(refused.value))
    assert SECRET not in str(refused.value)
    assert SECRET not in repr(refused.value)
    assert SECRET not in shown


@pytest.mark.parametrize(
    "url", [f"redis://:{SECRET}@127.0.0.1:1/0", f"redis://alice:{SECRET}@127.0.0.1:1/0"]
)
def test_repr_shows_where_but_no_password(url: str) -> None:
    store = RedisTokenStore(url, prefix="app:")
    try:
        shown = repr(store)
    finally:
        store.client.close()

    assert shown == "RedisTokenStore('127.0.0.1:1', prefix='app:')"
    assert SECRET not in shown


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("redis://127.0.0.1/0", "127.0.0.1:6379"),
        ("redis://cache.internal", "cache.internal:6379"),
        (f"unix://:{SECRET}@/run/redis.sock?db=1", "/run/redis.sock"),
    ],
)
def test_repr_names_the_default_port_or_the_socket(url: str, where: str) -> None:
    store = RedisTokenStore(url)
    try:
        assert repr(store) == f"RedisTokenStore({where!r}, prefix='finauth:')"
    finally:
        store.client.close()


def test_an_empty_url_is_refused_not_taken_for_the_default() -> None:
    with pytest.raises(ConfigurationError, match="the url is not a Redis URL"):
        RedisTokenStore("")


# --- RedisTokenStore: outages ------------------------------------------------------------


def test_an_unreachable_redis_degrades_with_one_warning_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path)  # its port is free until it starts
    store = RedisTokenStore(server.url)
    where = f"127.0.0.1:{server.port}"
    token = make_token()
    caplog.set_level(logging.DEBUG, logger="finauth")
    try:
        assert store.get(KEY) is None
        store.set(KEY, token)
        store.delete(KEY)
        lock = store.lock(KEY)
        assert lock.acquire() is True  # as held as it can be
        lock.release()
        assert store.get(KEY) is None

        assert len(finauth_records(caplog)) == 1
        [warning] = records(caplog, logging.WARNING, f"Redis at {where} cannot be used")
        assert "ConnectionError" in warning.getMessage()

        server.start()
        caplog.clear()
        store.set(KEY, token)
        assert store.get(KEY) == token
        lock = store.lock(KEY)
        assert lock.acquire() is True
        lock.release()

        assert len(finauth_records(caplog)) == 1
        assert len(records(caplog, logging.INFO, f"Redis at {where} answers again")) == 1
        with server.client() as client:
            assert client.exists(f"finauth:{KEY}") == 1

        server.stop()  # a second outage is a second warning
        caplog.clear()
        assert store.get(KEY) is None
        assert store.get(KEY) is None

        assert len(finauth_records(caplog)) == 1
        assert len(records(caplog, logging.WARNING, f"Redis at {where} cannot be used")) == 1
    finally:
        server.stop()
        store.client.close()


def test_a_restarted_redis_is_used_again_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    store = RedisTokenStore(server.url)
    token = make_token()
    try:
        store.set(KEY, token)  # a pooled connection, which the restart closes
        server.stop()
        server.start()
        caplog.set_level(logging.DEBUG, logger="finauth")

        store.set(KEY, token)

        assert store.get(KEY) == token
        assert finauth_records(caplog) == []
    finally:
        server.stop()
        store.client.close()


def test_an_unreachable_redis_warning_shows_no_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    store = RedisTokenStore(f"redis://alice:{SECRET}@127.0.0.1:{port}/0")
    caplog.set_level(logging.DEBUG, logger="finauth")
    try:
        assert store.get(KEY) is None
    finally:
        store.client.close()

    [warning] = records(caplog, logging.WARNING)
    assert f"127.0.0.1:{port}" in warning.getMessage()
    assert SECRET not in caplog.text
    assert SECRET not in repr(store)


def test_an_auth_with_an_unreachable_redis_logs_in_alone(
    emulator: Emulator, server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisTokenStore(f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.WARNING, logger="finauth")
    auth: ProviderAuth
    try:
        with emulator.auth(server.base_url, store=store) as auth:
            statuses = [get_sample(server, auth) for _ in range(3)]
    finally:
        store.client.close()

    assert statuses == [200, 200, 200]
    assert emulator.logins == 1
    assert len(records(caplog, logging.WARNING)) == 1
    assert len(records(caplog, logging.WARNING, "cannot be used")) == 1


# --- RedisTokenStore: locks held too long ------------------------------------------------


def test_a_late_release_frees_only_its_own_lock(
    open_redis: OpenRedis, caplog: pytest.LogCaptureFixture
) -> None:
    short = open_redis(lock_timeout=0.3)
    patient = open_redis(lock_timeout=30)
    first = held_lock(short)
    time.sleep(0.5)  # past its expiry
    started = time.monotonic()
    second = held_lock(patient)
    assert time.monotonic() - started < 10  # free at once, not after its 30 s wait
    caplog.set_level(logging.DEBUG, logger="finauth")

    first.release()

    assert len(finauth_records(caplog)) == 1
    assert len(records(caplog, logging.WARNING, "a renewal took longer than lock_timeout")) == 1
    third = short.lock(KEY)
    assert third.acquire() is False  # the second still holds it
    second.release()
    assert len(finauth_records(caplog)) == 1
    fourth = short.lock(KEY)
    assert fourth.acquire() is True
    fourth.release()


def test_a_lock_that_was_not_acquired_releases_quietly(
    open_redis: OpenRedis, caplog: pytest.LogCaptureFixture
) -> None:
    patient = open_redis(lock_timeout=30)
    short = open_redis(lock_timeout=0.3)
    holder = held_lock(patient)
    loser = short.lock(KEY)
    assert loser.acquire() is False
    caplog.set_level(logging.DEBUG, logger="finauth")

    loser.release()

    assert finauth_records(caplog) == []
    assert short.lock(KEY).acquire() is False  # the holder's lock is untouched
    holder.release()


# --- stores meet auths -------------------------------------------------------------------


class NoLock:
    """A store from before locks: get, set and delete only."""

    def get(self, key: str) -> Token | None:
        return None

    def set(self, key: str, token: Token) -> None:
        pass

    def delete(self, key: str) -> None:
        pass


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("store", [object(), NoLock(), {}], ids=["object", "no lock", "dict"])
def test_an_auth_refuses_what_is_not_a_token_store(provider: str, store: object) -> None:
    emulator = PROVIDERS[provider]()

    with pytest.raises(
        ConfigurationError, match=r"store must have the methods of finauth\."
    ) as refused:
        emulator.auth(emulator.production_url, store=store)

    assert "TokenStore" in str(refused.value)
    assert f"got a {type(store).__name__}" in str(refused.value)
    assert type(refused.value) is ConfigurationError


def test_a_store_lock_held_too_long_is_gone_around(
    tmp_path: Path,
    emulator: Emulator,
    server: EmulatorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FileTokenStore(tmp_path, lock_timeout=0.3)
    auth: ProviderAuth
    with emulator.auth(server.base_url, store=store) as auth:
        holder = held_lock(FileTokenStore(tmp_path), auth._flow.key)  # "another process"
        caplog.set_level(logging.WARNING, logger="finauth")
        try:
            status = get_sample(server, auth)
        finally:
            holder.release()
        current = auth.token

    assert status == 200
    assert emulator.logins == 1
    [warning] = records(caplog, logging.WARNING)
    assert warning.getMessage() == (
        f"Fincrux: another process kept {store!r}'s lock past its timeout; going ahead alone"
    )
    assert current is not None
    assert store.get(auth._flow.key) == current


def test_a_store_lock_is_taken_and_freed_around_a_login(
    tmp_path: Path, emulator: Emulator, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileTokenStore(tmp_path, lock_timeout=0.3)
    seen: list[bool] = []
    auth: ProviderAuth
    with emulator.auth(server.base_url, store=store) as auth:
        key = auth._flow.key
        real_set = store.set

        def set_while_checking(key_: str, token: Token) -> None:
            # another process, trying the lock while the login saves its token
            probe = FileTokenStore(tmp_path, lock_timeout=0.3).lock(key)
            seen.append(probe.acquire())
            if seen[-1]:
                probe.release()
            real_set(key_, token)

        monkeypatch.setattr(store, "set", set_while_checking)
        status = get_sample(server, auth)

    assert status == 200
    assert seen == [False]
    after = FileTokenStore(tmp_path, lock_timeout=0.3).lock(key)
    assert after.acquire() is True
    after.release()
