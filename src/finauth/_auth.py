"""LoginAuth: where a provider, the flow and both client adapters meet.

Each public login-based auth (FincruxJWTAuth, ...) is a LoginAuth built with its
provider. One instance is at once a `requests.auth.AuthBase` and an
`httpx.Auth`, usable by threads and event loops at the same time (R12).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TypeVar

import requests

from ._config import seconds
from ._errors import ConfigurationError
from ._flow import TokenFlow
from ._httpx import HttpxAuth
from ._provider import Provider
from ._requests import RequestsAuth
from ._token import Token
from .stores import MemoryTokenStore, TokenStore

_Auth = TypeVar("_Auth", bound="LoginAuth")


class LoginAuth(RequestsAuth, HttpxAuth):
    """Logs in when first needed, refreshes before expiry, re-sends once after a 401."""

    def __init__(
        self,
        provider: Provider,
        *,
        store: TokenStore | None,
        refresh_margin: float,
        session: requests.Session | None,
        timeout: float,
    ) -> None:
        self.timeout = seconds(provider.name, "timeout", timeout, allow_zero=False)
        self._flow = TokenFlow(
            provider,
            _checked(provider.name, store),
            refresh_margin=seconds(
                provider.name, "refresh_margin", refresh_margin, allow_zero=True
            ),
            timeout=self.timeout,
        )
        self._session = session
        self._owns_session = session is None
        self._session_lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """What carries login and refresh calls made for requests: your `session=`, so
        that its adapters, proxies and TLS settings apply to them.

        Made on first use when none was given, so an auth used only with httpx
        never builds one.
        """
        with self._session_lock:
            if self._session is None:
                self._session = requests.Session()
            return self._session

    @property
    def token(self) -> Token | None:
        """The current token, if any; never logs in."""
        return self._flow.token

    @property
    def store(self) -> TokenStore:
        return self._flow.store

    def invalidate(self) -> None:
        """Drop the cached token; the next request logs in."""
        self._flow.invalidate()

    def close(self) -> None:
        """Close the private requests.Session, if one was made."""
        with self._session_lock:
            if self._owns_session and self._session is not None:
                self._session.close()
                self._session = None

    def __enter__(self: _Auth) -> _Auth:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._flow.provider!r})"


def _checked(provider: str, store: TokenStore | None) -> TokenStore:
    """`store`, or a private MemoryTokenStore; anything without a store's methods is refused."""
    if store is None:
        return MemoryTokenStore()
    if not isinstance(store, TokenStore):
        raise ConfigurationError(
            f"{provider}: store must have the methods of finauth.TokenStore "
            f"(get, set, delete and lock); got a {type(store).__name__}",
            provider=provider,
        )
    return store
