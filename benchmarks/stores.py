"""What a valid cached token costs with each store, sealed or not (#16).

The store is touched only to renew: a request whose token is cached and valid is a
memory read whatever the store, so every row should be level with the memory store's.
Each store's auth has logged in before the clock starts; httpx.Client in memory, so
that the auth is most of what is timed. The store calls made while timing are counted
too: none is the claim, the ratio its cost.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from finauth import FileTokenStore, MemoryTokenStore, RedisTokenStore, Token, TokenStore

from .clients import FAMILIES
from .emulator import IN_MEMORY, PRODUCTION_LIKE_URL, BenchEmulator, Site
from .redis_server import redis_server
from .timing import compare, interleave, timed

MEMORY = "MemoryTokenStore"


class Counted:
    """A store that counts the calls made to it, so a row can show it was never read."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store
        self.calls = 0

    def get(self, key: str) -> Token | None:
        self.calls += 1
        return self.store.get(key)

    def set(self, key: str, token: Token) -> None:
        self.calls += 1
        self.store.set(key, token)

    def delete(self, key: str) -> None:
        self.calls += 1
        self.store.delete(key)

    def lock(self, key: str) -> Any:
        self.calls += 1
        return self.store.lock(key)


def run(rounds: int, n: int) -> list[dict[str, Any]]:
    """One row per store: µs per request with a cached token, against the memory store."""
    site = Site(BenchEmulator(), PRODUCTION_LIKE_URL, IN_MEMORY)
    with _stores() as stores, ExitStack() as stack:
        counted = {name: Counted(store) for name, store in stores.items()}
        contenders = []
        for name, store in counted.items():
            auth = site.finauth(stack, store=store)
            auth.login()
            store.calls = 0  # from here on, every token is cached and valid
            client = stack.enter_context(httpx.Client(auth=auth, **site.httpx_options()))
            get = partial(FAMILIES["httpx.Client"].get, client, site.url)
            contenders.append(timed(name, get))
        samples = interleave(contenders, n=n, rounds=rounds, between=site.forget)
        sent = n * (rounds + 1)  # the warm-up's requests and every round's
        return [
            {
                "store": name,
                **{key: round(value, 4) for key, value in figures.items()},
                "store_calls_per_request": counted[name].calls / sent,
                "rounds": rounds,
                "n": n,
            }
            for name, figures in compare(samples, baseline=MEMORY).items()
        ]


@contextmanager
def _stores() -> Iterator[dict[str, TokenStore]]:
    """The memory and file stores, and Redis when redis-server is installed; the shared
    ones sealed and not."""
    key = Fernet.generate_key()
    with tempfile.TemporaryDirectory() as scratch, redis_server(Path(scratch)) as redis_url:
        stores: dict[str, TokenStore] = {
            MEMORY: MemoryTokenStore(),
            "FileTokenStore": FileTokenStore(Path(scratch) / "plain"),
            "FileTokenStore, encrypted": FileTokenStore(
                Path(scratch) / "sealed", encryption_key=key
            ),
        }
        if redis_url is not None:
            stores["RedisTokenStore"] = RedisTokenStore(redis_url, prefix="plain:")
            stores["RedisTokenStore, encrypted"] = RedisTokenStore(
                redis_url, prefix="sealed:", encryption_key=key
            )
        yield stores
