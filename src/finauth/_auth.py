"""ProviderAuth: where a provider, the flow and the client adapters meet.

Each login-based auth (FincruxJWTAuth, ..., and yours: `finauth.providers`) is a
ProviderAuth built with its provider. One instance is at once a `requests.auth.AuthBase` and an
`httpx.Auth`, usable by threads and event loops at the same time (R12).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import requests

from ._config import seconds
from ._errors import ConfigurationError
from ._flow import TokenFlow
from ._provider import Provider
from ._token import Token
from .clients._aiohttp import AiohttpAuth
from .clients._httpx import HttpxAuth
from .clients._requests import RequestsAuth
from .stores import MemoryTokenStore, TokenStore

if TYPE_CHECKING:
    from typing import TypeAlias

    import niquests

    from .clients._niquests_async import AsyncRequestsAuth

    LoginSession: TypeAlias = requests.Session | niquests.Session
    """What may carry login and refresh calls: a requests or niquests session (sync or
    async: niquests' AsyncSession is a Session)."""

_Auth = TypeVar("_Auth", bound="ProviderAuth")


class ProviderAuth(RequestsAuth, HttpxAuth, AiohttpAuth):
    """Logs in when first needed, refreshes before expiry, re-sends once after a 401.

    Give it a `Provider` and it is an auth for every client finauth works with:
    `ProviderAuth(MyProvider(...))`, or a subclass whose constructor builds the provider
    from the user's arguments. `store` is where tokens live (default: a private
    `MemoryTokenStore`), `refresh_margin` the seconds before expiry a token is renewed,
    `session` what carries login and refresh calls made for requests or niquests, and
    `timeout` the seconds a whole login or refresh may take.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        store: TokenStore | None = None,
        refresh_margin: float = 60.0,
        session: LoginSession | None = None,
        timeout: float = 30.0,
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
        self._private_sessions: dict[str, requests.Session] = {}
        self._session_lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """What carries login and refresh calls made for requests: your `session=`, so
        that its adapters, proxies and TLS settings apply to them.

        Made on first use when none was given, so an auth used only with httpx
        never builds one.
        """
        return self.session_for(requests)

    def session_for(self, library: Any) -> requests.Session:
        """What carries login and refresh calls for `library` (requests or niquests): your
        `session=` if it is one of that library's, else a private one, made on first use."""
        # niquests' AsyncSession is a Session too, which a sync call cannot use
        if isinstance(self._session, library.Session) and not isinstance(
            self._session, getattr(library, "AsyncSession", ())
        ):
            given: requests.Session = self._session
            return given
        with self._session_lock:
            private: requests.Session | None = self._private_sessions.get(library.__name__)
            if private is None:
                private = self._private_sessions[library.__name__] = library.Session()
        return private

    def as_async(self) -> AsyncRequestsAuth:
        """This auth for niquests' `AsyncSession`: `AsyncSession(auth=auth.as_async())`.

        niquests tells a sync auth from an async one by its `__call__`, so one object
        cannot serve both its `Session` and its `AsyncSession`. The returned auth shares
        this one's token, store and single flight.
        """
        from .clients._niquests_async import AsyncRequestsAuth

        return AsyncRequestsAuth(self)

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
        """Close the private sessions made for logins (requests, niquests), if any."""
        with self._session_lock:
            private, self._private_sessions = self._private_sessions, {}
        for session in private.values():
            session.close()

    def __call__(self, request: Any, handler: Any = None) -> Any:
        """requests and niquests call an auth with their request; aiohttp calls it, as a
        middleware, with its request and the handler that sends it."""
        if handler is None:
            return RequestsAuth.__call__(self, request)
        return self.middleware(request, handler)

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
        """The provider's own repr, or its identity and base_url; its secrets masked in
        either (R10), even where a provider's repr shows them, as a dataclass's does."""
        provider = self._flow.provider
        if type(provider).__repr__ is object.__repr__:
            described = f"identity={provider.identity!r}, base_url={provider.base.url!r}"
        else:
            described = repr(provider)
        # as typed and as a repr escapes it (a backslash, a quote), longest first
        shown = {form for secret in provider.secrets if secret for form in _shown(secret)}
        for form in sorted(shown, key=len, reverse=True):
            described = described.replace(form, "***")
        return f"{type(self).__name__}({described})"


def _shown(secret: str) -> tuple[str, str]:
    """`secret` as typed, and as `repr` writes it inside its quotes."""
    return secret, repr(secret)[1:-1]


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
