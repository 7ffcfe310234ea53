"""RedisTokenStore: tokens in Redis, shared by a fleet of machines."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from .._config import seconds
from .._errors import ConfigurationError
from .._token import Token
from .base import StoreLock, dump_token, load_token
from .sealing import EncryptionKey, sealer_for

if TYPE_CHECKING:
    import redis
    from redis.cluster import RedisCluster

    Client = redis.Redis | RedisCluster

logger = logging.getLogger("finauth")

_NAME = "RedisTokenStore"
DEFAULT_URL = "redis://localhost:6379/0"
SOCKET_TIMEOUT = 5.0
"""Seconds a client made from a URL waits to connect or for an answer before giving up."""
LOCK_POLL = 0.01
"""Seconds between a waiter's tries for a lock another process holds."""

T = TypeVar("T")


class RedisTokenStore:
    """Tokens in Redis under `prefix` + key, for workers on many machines.

    `client` may be a standalone `redis.Redis`, a `redis.cluster.RedisCluster` or a
    Sentinel-managed client (`Sentinel(...).master_for(name)`): every command names
    one key only (the entry, or its lock at key + ":lock"), so a cluster never sees
    a command that crosses slots, and the key layout is the same in every deployment.

    Entries expire with their token. One process at a time renews a token,
    under a Redis lock that expires after `lock_timeout`, so a holder that
    crashed frees it; the release frees only the caller's own lock. A Redis
    that cannot be reached degrades to logging in locally, with a warning:
    tokens keep flowing, but each process renews its own until Redis is back.

    With `encryption_key` (a Fernet key, or a sequence of them: the first seals,
    all open, so keys rotate) no token is stored in plain text. An entry that
    cannot be read (torn, foreign, sealed with another key, or plain where a key
    is expected) is a miss, with a warning: the next renewal replaces it.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Client | None = None,
        prefix: str = "finauth:",
        lock_timeout: float = 30.0,
        encryption_key: EncryptionKey | Sequence[EncryptionKey] | None = None,
    ) -> None:
        self.prefix = prefix
        self.lock_timeout = seconds(_NAME, "lock_timeout", lock_timeout, allow_zero=False)
        self._sealer = sealer_for(_NAME, encryption_key)
        self.client: Client = _client(url, client)
        self._where, self._redis = _address(self.client)
        self._reachable = True
        self._guard = threading.Lock()

    def get(self, key: str) -> Token | None:
        import redis

        def read() -> bytes | str | None:
            try:
                return self.client.get(self.prefix + key)
            except redis.ResponseError as error:
                if not str(error).startswith("WRONGTYPE"):  # a cluster that is down, say
                    raise
                return b""  # not a string, so not ours either

        data = self._ask(read, None)
        if data is None:
            return None
        try:
            return load_token(data, self._sealer)
        except ValueError:
            logger.warning(
                "%s: the entry at %s %s; ignoring it, the next login replaces it",
                _NAME,
                self._where,
                "cannot be opened with encryption_key (sealed with another key, not sealed, "
                "or tampered with)"
                if self._sealer is not None
                else "is not a token",
            )
            return None

    def set(self, key: str, token: Token) -> None:
        milliseconds = int(token.expires_in * 1000)
        if milliseconds <= 0:  # already expired: keeping it would only mislead
            self.delete(key)
            return
        self._ask(
            lambda: self.client.set(
                self.prefix + key, dump_token(token, self._sealer), px=milliseconds
            ),
            None,
        )

    def delete(self, key: str) -> None:
        self._ask(lambda: self.client.delete(self.prefix + key), None)

    def lock(self, key: str) -> StoreLock:
        return _RedisLock(self, self.prefix + key + ":lock")

    def _ask(self, command: Callable[[], T], fallback: T) -> T:
        """`command`'s result, or `fallback` with a warning when Redis cannot answer."""
        import redis
        from redis.exceptions import RedisClusterException

        try:
            result = command()
        except (redis.RedisError, RedisClusterException) as error:  # the latter is not the former
            self._lost(error)
            return fallback
        self._found()
        return result

    def _lost(self, error: Exception) -> None:
        with self._guard:
            warn, self._reachable = self._reachable, False
        if warn:
            logger.warning(
                "%s: %s cannot be used (%s: %s); each process logs in on its own until it is back",
                _NAME,
                self._redis,
                type(error).__name__,
                error,
            )

    def _found(self) -> None:
        with self._guard:
            back, self._reachable = not self._reachable, True
        if back:
            logger.info("%s: %s answers again; tokens are shared", _NAME, self._redis)

    def __repr__(self) -> str:
        return f"{_NAME}({self._where!r}, prefix={self.prefix!r})"


class _RedisLock:
    """redis-py's lock: expires after the store's lock timeout, freed only by its holder.

    Not thread-local, since a task may take it in a worker thread and free it
    in the event loop's. When Redis cannot be reached the lock counts as taken,
    after the store's warning: each process then goes ahead alone.
    """

    def __init__(self, store: RedisTokenStore, name: str) -> None:
        self._store = store
        self._lock = store.client.lock(
            name,
            timeout=store.lock_timeout,
            sleep=LOCK_POLL,
            blocking_timeout=store.lock_timeout,
            thread_local=False,
        )

    def acquire(self) -> bool:
        return self._store._ask(self._lock.acquire, None) is not False

    def release(self) -> None:
        import redis
        from redis.exceptions import RedisClusterException

        if self._lock.local.token is None:  # degraded: nothing was taken
            return
        try:
            self._lock.release()
        except redis.exceptions.LockNotOwnedError:
            logger.warning(
                "%s: a renewal took longer than lock_timeout (%.1f s); another process "
                "may have renewed at the same time",
                _NAME,
                self._store.lock_timeout,
            )
        except (redis.RedisError, RedisClusterException) as error:
            self._store._lost(error)


def _address(client: Client) -> tuple[str, str]:
    """Where `client` connects: shortly, for repr, and as a phrase, for messages; no password.

    A cluster by the node it was pointed at, a Sentinel-managed client by its
    master's name (its address changes with failovers), others by host and port
    or a socket's path.
    """
    from redis.cluster import RedisCluster
    from redis.sentinel import SentinelConnectionPool

    if isinstance(client, RedisCluster):
        node = client.nodes_manager.default_node  # None only before it ever connected
        at = "" if node is None else f" at {node.host}:{node.port}"
        return f"cluster{at}", f"the Redis cluster{at}"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        return f"Sentinel master {pool.service_name}", f"Redis Sentinel master {pool.service_name}"
    settings = pool.connection_kwargs
    if "path" in settings:
        where = str(settings["path"])
    else:
        where = f"{settings.get('host', 'localhost')}:{settings.get('port', 6379)}"
    return where, f"Redis at {where}"


def _client(url: str | None, client: Client | None) -> Client:
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise ConfigurationError(f"{_NAME} needs redis-py: pip install 'finauth[redis]'") from None
    if client is not None:
        if url is not None:
            raise ConfigurationError(f"{_NAME}: pass url or client, not both")
        return client
    try:
        return redis.Redis.from_url(
            DEFAULT_URL if url is None else url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 1),  # once, for a connection Redis closed (a restart)
        )
    except ValueError:
        raise ConfigurationError(
            f"{_NAME}: the url is not a Redis URL; use redis://[:password@]host:port/db, "
            "rediss:// or unix://"
        ) from None
