"""RedisTokenStore: tokens in Redis, shared by a fleet of machines."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from .._config import seconds
from .._errors import ConfigurationError
from .._token import Token
from .base import StoreLock, dump_token, load_token

if TYPE_CHECKING:
    import redis

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

    Entries expire with their token. One process at a time renews a token,
    under a Redis lock that expires after `lock_timeout`, so a holder that
    crashed frees it; the release frees only the caller's own lock. A Redis
    that cannot be reached degrades to logging in locally, with a warning:
    tokens keep flowing, but each process renews its own until Redis is back.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.Redis | None = None,
        prefix: str = "finauth:",
        lock_timeout: float = 30.0,
    ) -> None:
        self.prefix = prefix
        self.lock_timeout = seconds(_NAME, "lock_timeout", lock_timeout, allow_zero=False)
        self.client = _client(url, client)
        self._where = _address(self.client)
        self._reachable = True
        self._guard = threading.Lock()

    def get(self, key: str) -> Token | None:
        import redis

        def read() -> bytes | str | None:
            try:
                return self.client.get(self.prefix + key)
            except redis.ResponseError:  # WRONGTYPE: not a string, so not ours either
                return b""

        data = self._ask(read, None)
        if data is None:
            return None
        try:
            return load_token(data)
        except ValueError:
            logger.warning(
                "%s: the entry at %s is not a token; ignoring it, the next login replaces it",
                _NAME,
                self._where,
            )
            return None

    def set(self, key: str, token: Token) -> None:
        milliseconds = int(token.expires_in * 1000)
        if milliseconds <= 0:  # already expired: keeping it would only mislead
            self.delete(key)
            return
        self._ask(
            lambda: self.client.set(self.prefix + key, dump_token(token), px=milliseconds), None
        )

    def delete(self, key: str) -> None:
        self._ask(lambda: self.client.delete(self.prefix + key), None)

    def lock(self, key: str) -> StoreLock:
        return _RedisLock(self, self.prefix + key + ":lock")

    def _ask(self, command: Callable[[], T], fallback: T) -> T:
        """`command`'s result, or `fallback` with a warning when Redis cannot answer."""
        import redis

        try:
            result = command()
        except redis.RedisError as error:
            self._lost(error)
            return fallback
        self._found()
        return result

    def _lost(self, error: Exception) -> None:
        with self._guard:
            warn, self._reachable = self._reachable, False
        if warn:
            logger.warning(
                "%s: Redis at %s cannot be used (%s: %s); each process logs in on its own "
                "until it is back",
                _NAME,
                self._where,
                type(error).__name__,
                error,
            )

    def _found(self) -> None:
        with self._guard:
            back, self._reachable = not self._reachable, True
        if back:
            logger.info("%s: Redis at %s answers again; tokens are shared", _NAME, self._where)

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
        except redis.RedisError as error:
            self._store._lost(error)


def _address(client: redis.Redis) -> str:
    """Where `client` connects, for messages: host and port, or a socket's path; no password."""
    settings = client.connection_pool.connection_kwargs
    if "path" in settings:
        return str(settings["path"])
    return f"{settings.get('host', 'localhost')}:{settings.get('port', 6379)}"


def _client(url: str | None, client: redis.Redis | None) -> redis.Redis:
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
