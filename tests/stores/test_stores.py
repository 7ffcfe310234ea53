"""The TokenStore contract, held by MemoryTokenStore, FileTokenStore and RedisTokenStore alike.

Each test takes `store`, parametrized over every store: memory, file, and Redis by URL,
as a 3-master cluster and behind a sentinel, the shared ones each with and without an
`encryption_key` ("+key"). Those about sharing tokens or locks between processes run
for the shared stores only, with a second instance on the same directory or Redis
standing in for another process. Also here: the stored form of a token, `dump_token`
and `load_token`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import pytest
from cryptography.fernet import Fernet

from finauth._token import Token
from finauth.stores import (
    FileTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    StoreLock,
    TokenStore,
    token_key,
)
from finauth.stores.base import dump_token, load_token
from redis_deployments import (  # noqa: F401  (fixtures, found by pytest under their names)
    emptied_deployment,
    redis_cluster_fixture,
    redis_sentinel_fixture,
)

KEY = token_key("Fincrux", "https://api.fincrux.test", ["demo@fincrux.test"], ["demo-pass"])
OTHER_KEY = token_key("Fincrux", "https://api.fincrux.test", ["other@fincrux.test"], ["pass"])
SHORT = 0.3
"""The lock_timeout of a waiter that is meant to give up."""

PLAIN = ["memory", "file", "redis", "redis-cluster", "redis-sentinel"]
KINDS = [*PLAIN, *(f"{kind}+key" for kind in PLAIN if kind != "memory")]
SHARED = [kind for kind in KINDS if kind != "memory"]
SEALING_KEY = Fernet.generate_key()


def make_token(
    access: str = "access-1",
    *,
    refresh: str | None = "refresh-1",
    lifetime: float = 3600.0,
) -> Token:
    """A token obtained now, expiring in `lifetime` s; times off UTC, to the microsecond."""
    india = timezone(timedelta(hours=5, minutes=30))
    now = datetime.now(india).replace(microsecond=123456)
    extra: dict[str, Any] = {
        "session_id": "s-42",
        "tier": 3,
        "flags": [True, None],
        "n": {"a": 1.5},
    }
    return Token(access, refresh, now + timedelta(seconds=lifetime), now, extra)


def assert_same_token(found: Token | None, expected: Token) -> None:
    assert found is not None
    assert found == expected
    assert found.access_token == expected.access_token
    assert found.refresh_token == expected.refresh_token
    assert found.expires_at == expected.expires_at
    assert found.obtained_at == expected.obtained_at
    assert found.expires_at.utcoffset() == timedelta(0)
    assert found.obtained_at.utcoffset() == timedelta(0)
    assert dict(found.extra) == dict(expected.extra)


class OpenStore(Protocol):
    def __call__(self, *, lock_timeout: float = ...) -> TokenStore: ...


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def open_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[OpenStore]:
    """Opens another instance of this test's kind of store, on the same directory or Redis."""
    base, sealed, _ = kind.partition("+")
    options: dict[str, Any] = {"encryption_key": SEALING_KEY} if sealed else {}
    redis_stores: list[RedisTokenStore] = []
    redis_url: str = request.getfixturevalue("redis_url") if base == "redis" else ""
    deployed = base.startswith("redis-")
    deployment = emptied_deployment(request, base.removeprefix("redis-")) if deployed else None

    def open_(*, lock_timeout: float = 30.0) -> TokenStore:
        if base == "memory":
            return MemoryTokenStore()
        if base == "file":
            return FileTokenStore(tmp_path / "tokens", lock_timeout=lock_timeout, **options)
        if deployment is not None:
            store = deployment.store(lock_timeout=lock_timeout, **options)
        else:
            store = RedisTokenStore(redis_url, lock_timeout=lock_timeout, **options)
        redis_stores.append(store)
        return store

    yield open_
    for store in redis_stores:
        store.client.close()


@pytest.fixture
def store(open_store: OpenStore) -> TokenStore:
    return open_store()


@pytest.fixture
def release_later() -> Iterator[Callable[[StoreLock], None]]:
    """Registers a held lock to be released when the test ends, whatever it asserted."""
    held: list[StoreLock] = []
    yield held.append
    for lock in held:
        lock.release()


def lock_of(store: TokenStore, key: str = KEY) -> StoreLock:
    lock = store.lock(key)
    assert lock is not None
    return lock


def assert_free(
    open_store: OpenStore, release_later: Callable[[StoreLock], None], key: str = KEY
) -> None:
    """Another process (a second store) can take `key`'s lock at once."""
    lock = lock_of(open_store(lock_timeout=SHORT), key)
    assert lock.acquire() is True
    release_later(lock)


# --- get, set, delete --------------------------------------------------------------------


def test_a_token_comes_back_whole(store: TokenStore) -> None:
    token = make_token()

    store.set(KEY, token)

    assert_same_token(store.get(KEY), token)


def test_a_token_without_refresh_token_comes_back_whole(store: TokenStore) -> None:
    token = make_token(refresh=None)

    store.set(KEY, token)

    assert_same_token(store.get(KEY), token)


def test_a_missing_key_gives_none(store: TokenStore) -> None:
    assert store.get(KEY) is None


def test_set_replaces_the_token(store: TokenStore) -> None:
    store.set(KEY, make_token("access-1"))
    second = make_token("access-2", refresh="refresh-2")

    store.set(KEY, second)

    assert_same_token(store.get(KEY), second)


def test_keys_hold_their_own_tokens(store: TokenStore) -> None:
    first, second = make_token("access-1"), make_token("access-2")

    store.set(KEY, first)
    store.set(OTHER_KEY, second)

    assert_same_token(store.get(KEY), first)
    assert_same_token(store.get(OTHER_KEY), second)


def test_delete_forgets_only_its_key(store: TokenStore) -> None:
    kept = make_token("access-2")
    store.set(KEY, make_token("access-1"))
    store.set(OTHER_KEY, kept)

    store.delete(KEY)

    assert store.get(KEY) is None
    assert_same_token(store.get(OTHER_KEY), kept)


def test_deleting_a_missing_key_is_fine(store: TokenStore) -> None:
    store.delete(KEY)

    assert store.get(KEY) is None


def test_a_deleted_key_can_be_set_again(store: TokenStore) -> None:
    store.set(KEY, make_token("access-1"))
    store.delete(KEY)
    again = make_token("access-2")

    store.set(KEY, again)

    assert_same_token(store.get(KEY), again)


@pytest.mark.parametrize("kind", SHARED)
def test_two_instances_see_each_others_tokens(open_store: OpenStore) -> None:
    first, second = open_store(), open_store()
    token = make_token("from-first")

    first.set(KEY, token)
    assert_same_token(second.get(KEY), token)

    replacement = make_token("from-second")
    second.set(KEY, replacement)
    assert_same_token(first.get(KEY), replacement)

    first.delete(KEY)
    assert second.get(KEY) is None


@pytest.mark.parametrize("kind", ["memory"])
def test_memory_stores_do_not_share(open_store: OpenStore) -> None:
    first, second = open_store(), open_store()

    first.set(KEY, make_token())

    assert second.get(KEY) is None


def test_every_store_is_a_token_store(store: TokenStore) -> None:
    assert isinstance(store, TokenStore)


# --- lock --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory"])
def test_a_memory_store_has_no_lock(store: TokenStore) -> None:
    assert store.lock(KEY) is None


@pytest.mark.parametrize("kind", SHARED)
def test_a_free_lock_is_acquired(
    store: TokenStore, release_later: Callable[[StoreLock], None]
) -> None:
    lock = lock_of(store)

    assert lock.acquire() is True
    release_later(lock)


@pytest.mark.parametrize("kind", SHARED)
def test_a_held_lock_cannot_be_acquired_until_the_wait_runs_out(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store)
    assert holder.acquire() is True
    release_later(holder)
    waiter = lock_of(open_store(lock_timeout=SHORT))

    started = time.monotonic()
    acquired = waiter.acquire()
    waited = time.monotonic() - started

    assert acquired is False
    assert SHORT - 0.1 <= waited < SHORT + 2


@pytest.mark.parametrize("kind", ["file"])
def test_two_locks_from_one_store_conflict(
    open_store: OpenStore, release_later: Callable[[StoreLock], None]
) -> None:
    # file only: a Redis lock expires after lock_timeout, the very time its waiter waits
    store = open_store(lock_timeout=SHORT)
    holder = lock_of(store)
    assert holder.acquire() is True
    release_later(holder)

    assert lock_of(store).acquire() is False


@pytest.mark.parametrize("kind", SHARED)
def test_a_released_lock_can_be_acquired(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store)
    assert holder.acquire() is True
    holder.release()

    assert_free(open_store, release_later)


@pytest.mark.parametrize("kind", SHARED)
def test_a_waiter_gets_the_lock_when_the_holder_releases(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store)
    assert holder.acquire() is True
    waiter = lock_of(open_store(lock_timeout=10))
    releaser = threading.Timer(0.2, holder.release)
    releaser.start()

    started = time.monotonic()
    acquired = waiter.acquire()
    waited = time.monotonic() - started
    releaser.join()

    assert acquired is True
    release_later(waiter)
    assert waited >= 0.1  # it did wait for the holder


@pytest.mark.parametrize("kind", SHARED)
def test_a_lock_can_be_released_by_another_thread(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store)
    assert holder.acquire() is True
    errors: list[BaseException] = []

    def release() -> None:
        try:
            holder.release()
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    thread = threading.Thread(target=release)
    thread.start()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert errors == []
    assert_free(open_store, release_later)


@pytest.mark.parametrize("kind", SHARED)
def test_a_lock_can_be_acquired_in_another_thread_and_released_here(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store)
    results: list[bool] = []
    thread = threading.Thread(target=lambda: results.append(holder.acquire()))
    thread.start()
    thread.join(timeout=10)
    assert results == [True]

    holder.release()

    assert_free(open_store, release_later)


@pytest.mark.parametrize("kind", SHARED)
def test_locks_of_different_keys_do_not_conflict(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store, KEY)
    assert holder.acquire() is True
    release_later(holder)

    assert_free(open_store, release_later, OTHER_KEY)


@pytest.mark.parametrize("kind", SHARED)
def test_a_held_lock_does_not_block_tokens(
    store: TokenStore,
    open_store: OpenStore,
    release_later: Callable[[StoreLock], None],
) -> None:
    holder = lock_of(store)
    assert holder.acquire() is True
    release_later(holder)
    other = open_store(lock_timeout=SHORT)
    token = make_token()

    other.set(KEY, token)

    assert_same_token(store.get(KEY), token)


# --- the stored form ---------------------------------------------------------------------


def test_dump_and_load_give_back_the_token() -> None:
    token = make_token()

    loaded = load_token(dump_token(token))

    assert_same_token(loaded, token)


def test_load_reads_text_too() -> None:
    """A Redis client made with decode_responses=True hands back str."""
    token = make_token(refresh=None)

    assert_same_token(load_token(dump_token(token).decode()), token)


def test_dump_is_json_with_every_field() -> None:
    token = make_token()

    fields = json.loads(dump_token(token))

    assert sorted(fields) == ["access_token", "expires_at", "extra", "obtained_at", "refresh_token"]
    assert fields["extra"] == dict(token.extra)


def stored(**changes: object) -> str:
    """A stored token's JSON text with `changes` made (a value of ... removes the field)."""
    fields: dict[str, object] = json.loads(dump_token(make_token()))
    for name, value in changes.items():
        if value is ...:
            del fields[name]
        else:
            fields[name] = value
    return json.dumps(fields)


NOT_TOKENS: dict[str, str | bytes] = {
    "empty": "",
    "truncated": dump_token(make_token())[:40],
    "a list": json.dumps([dump_token(make_token()).decode()]),
    "a string": json.dumps("access-1"),
    "null": "null",
    "missing access_token": stored(access_token=...),
    "missing refresh_token": stored(refresh_token=...),
    "missing expires_at": stored(expires_at=...),
    "missing obtained_at": stored(obtained_at=...),
    "missing extra": stored(extra=...),
    "access_token a number": stored(access_token=42),
    "access_token null": stored(access_token=None),
    "refresh_token a number": stored(refresh_token=7),
    "extra a list": stored(extra=["session_id"]),
    "extra a list of pairs": stored(extra=[["session_id", "s-42"]]),
    "extra null": stored(extra=None),
    "expires_at a number": stored(expires_at=1893456000),
    "obtained_at null": stored(obtained_at=None),
    "expires_at not a date": stored(expires_at="tomorrow"),
    "naive expires_at": stored(expires_at="2030-01-01T00:00:00"),
    "naive obtained_at": stored(obtained_at="2030-01-01T00:00:00.123456"),
    "expires_at past year 9999 in UTC": stored(expires_at="9999-12-31T23:59:59-23:59"),
    "obtained_at before year 1 in UTC": stored(obtained_at="0001-01-01T00:00:00+01:00"),
    "invalid UTF-8": b'{"access_token": "\xff\xfe\xfd"}',
    "invalid UTF-8 in a whole token": dump_token(make_token()).replace(b"access", b"\xc3("),
    "deeply nested": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("data", list(NOT_TOKENS.values()), ids=list(NOT_TOKENS))
def test_load_refuses_what_is_not_a_token(data: str | bytes) -> None:
    with pytest.raises(ValueError, match="not a stored finauth token"):
        load_token(data)
