"""When the flow reads and writes its store: never for a valid cached token, always to renew.

A recording store wraps a MemoryTokenStore; the emulator answers in-process.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
import requests

from conftest import PROVIDERS, make_due
from finauth import MemoryTokenStore, Token
from finauth._auth import ProviderAuth
from finauth.stores import StoreLock
from finauth.testing import Emulator

THREADS = 16


class RecordingStore(MemoryTokenStore):
    """A memory store that writes down each call; `forgetful` ones keep nothing (an outage)."""

    def __init__(self, *, forgetful: bool = False) -> None:
        super().__init__()
        self.forgetful = forgetful
        self.log: list[str] = []

    def get(self, key: str) -> Token | None:
        self.log.append("get")
        return None if self.forgetful else super().get(key)

    def set(self, key: str, token: Token) -> None:
        self.log.append("set")
        if not self.forgetful:
            super().set(key, token)

    def lock(self, key: str) -> StoreLock | None:
        self.log.append("lock")
        return None


@pytest.fixture
def emulator() -> Emulator:
    return PROVIDERS["Finvera"]()


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emulator.httpx_transport()) as client:
        yield client


def auth_with(emulator: Emulator, store: RecordingStore, **options: float) -> ProviderAuth:
    """An auth whose own login calls (`login()`) are answered by `emulator` too."""
    session = requests.Session()
    session.mount("https://", emulator.requests_adapter())
    auth: ProviderAuth = emulator.auth(
        emulator.production_url, store=store, session=session, **options
    )
    return auth


def get(client: httpx.Client, emulator: Emulator, auth: ProviderAuth) -> int:
    return client.get(emulator.production_url + emulator.sample_path, auth=auth).status_code


def test_a_valid_cached_token_costs_no_store_call(emulator: Emulator, client: httpx.Client) -> None:
    store = RecordingStore()
    auth = auth_with(emulator, store)
    assert get(client, emulator, auth) == 200
    assert store.log == ["get", "lock", "get", "set"]  # missing; locked, checked again; saved
    store.log.clear()

    assert [get(client, emulator, auth) for _ in range(50)] == [200] * 50
    assert store.log == []


def test_a_401_consults_the_store_before_renewing(emulator: Emulator, client: httpx.Client) -> None:
    store = RecordingStore()
    auth = auth_with(emulator, store)
    get(client, emulator, auth)
    emulator.revoke_tokens()
    store.log.clear()

    assert get(client, emulator, auth) == 200
    assert store.log == ["lock", "get", "set"]


def test_a_token_near_expiry_consults_the_store_first(
    emulator: Emulator, client: httpx.Client
) -> None:
    """Another worker may have renewed it already: then there is nothing to do."""
    store = RecordingStore()
    first = auth_with(emulator, store, refresh_margin=60)
    get(client, emulator, first)
    make_due(first)  # its token is inside its margin from now on
    auth_with(emulator, store).login()  # another worker logs in
    store.log.clear()

    assert get(client, emulator, first) == 200
    assert store.log == ["get"]
    assert (emulator.logins, emulator.refreshes) == (2, 0)


def test_waiters_renew_once_when_the_store_keeps_nothing(
    emulator: Emulator, client: httpx.Client
) -> None:
    """With the store gone (a Redis outage), waiters still see the renewal that just happened."""
    auth = auth_with(emulator, RecordingStore(forgetful=True))
    get(client, emulator, auth)
    emulator.revoke_tokens()
    statuses: list[int] = []
    flight = auth._flow._flight.thread_lock
    flight.acquire()  # every thread gets its 401 before the first renewal starts
    threads = [
        threading.Thread(target=lambda: statuses.append(get(client, emulator, auth)))
        for _ in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while emulator.denials < THREADS and time.monotonic() < deadline:
        time.sleep(0.001)
    flight.release()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200] * THREADS
    assert (emulator.logins, emulator.refreshes) == (2, 1)  # a refused refresh, one login


def test_a_local_copy_refreshes_when_the_stores_entry_is_gone(
    emulator: Emulator, client: httpx.Client
) -> None:
    """A Redis entry expires with its token; the refresh token in the local copy still serves."""
    store = RecordingStore()
    auth = auth_with(emulator, store, refresh_margin=60)
    get(client, emulator, auth)
    make_due(auth)  # inside the margin: due for a refresh at the next request
    store.delete(auth._flow.key)

    assert get(client, emulator, auth) == 200
    assert (emulator.logins, emulator.refreshes) == (1, 1)


def test_the_newest_token_wins_between_store_and_local_copy(
    emulator: Emulator, client: httpx.Client
) -> None:
    store = RecordingStore()
    auth = auth_with(emulator, store)
    get(client, emulator, auth)
    local = auth.token
    assert local is not None
    older = dataclasses.replace(  # e.g. left by a worker whose later write failed
        local,
        access_token="an-older-access-token",
        refresh_token="an-older-refresh-token",
        obtained_at=local.obtained_at - timedelta(minutes=5),
    )
    store.set(auth._flow.key, older)
    emulator.expire_tokens()

    assert get(client, emulator, auth) == 200  # 401, then a refresh with the local copy's
    assert (emulator.logins, emulator.refreshes) == (1, 1)
