"""The token lifecycle of SPEC §2, written once, for every provider and client.

`TokenFlow.authenticate` is a generator in the style of `httpx.Auth.auth_flow`:
it does no I/O itself but yields the steps it needs carried out and receives
their results. The adapters carry them out: `AuthCall` with the user's client
or session, `Send` by sending the user's request, `Pause` and `Acquire` in the
current world (a thread or an event loop), and `Blocking` store calls where
they cannot stall an event loop. So lazy login (R2), refresh with a
fall-back to login (R3), the single re-send after a 401 (R4, R5), single flight
(R6) and the backoff of R9 each live here and nowhere else.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any, NamedTuple, TypeVar

from . import _retry
from ._errors import FinauthError, RateLimitedError
from ._provider import Provider
from ._single_flight import Flight, flight_for
from ._token import Token
from ._wire import Answer, AuthCall, Outgoing
from .stores import TokenStore, token_key

logger = logging.getLogger("finauth")

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send the user's request as it now stands; the reply is the response's status code."""

    request: Outgoing


@dataclass(frozen=True)
class Pause:
    """Wait before trying an auth call again; the reply is None."""

    seconds: float


@dataclass(frozen=True)
class Acquire:
    """Take `flight`'s lock for the current world, waiting at most `timeout` seconds.

    The reply is a function that releases the lock, or None when the wait ran out.
    """

    flight: Flight
    timeout: float


@dataclass(frozen=True)
class Blocking:
    """Run a store call that may block on a disk or the network; the reply is its result.

    A thread just calls it; an event loop runs it in a worker thread.
    """

    call: Callable[[], Any]


Step = Send | AuthCall | Pause | Acquire | Blocking
Steps = Generator[Step, Any, T]


class _Cached(NamedTuple):
    token: Token
    expires: float
    """`token.expires_at` as a timestamp, so the common path compares two floats."""


class _LocalCopy:
    """The last token seen, kept in front of the store; twin flows share one.

    One attribute holding an immutable pair, so threads read it whole.
    """

    cached: _Cached | None = None


class TokenFlow:
    """One account's token: where it is kept, when it is renewed, and how."""

    def __init__(
        self,
        provider: Provider,
        store: TokenStore,
        *,
        refresh_margin: float,
        timeout: float,
        local: _LocalCopy | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.key = token_key(provider.name, provider.base.url, provider.identity)
        self._margin = refresh_margin
        self._timeout = timeout
        self._flight = flight_for(store, self.key)
        self._local = local or _LocalCopy()

    def twin(self, provider: Provider) -> TokenFlow:
        """A flow for the same token, presented another way by `provider`."""
        return TokenFlow(
            provider,
            self.store,
            refresh_margin=self._margin,
            timeout=self._timeout,
            local=self._local,
        )

    @property
    def token(self) -> Token | None:
        """The current token, from the local copy or the store; never logs in."""
        cached = self._local.cached
        return cached.token if cached is not None else self._remember(self.store.get(self.key))

    def invalidate(self) -> None:
        """Forget the token, here and in the store: the next request logs in."""
        self._local.cached = None
        self.store.delete(self.key)

    def login(self) -> Steps[Token]:
        """Log in now, whatever the cache holds."""
        return self._locked(self._log_in)

    def authenticate(self, request: Outgoing) -> Steps[None]:
        """Everything done for one user request, from the token check to the re-send.

        The request is always sent at least once, as it is when it is not bound
        for the provider's origin.
        """
        if not self._ours(request):
            yield Send(request)  # R1: not ours, so sent untouched.
            return
        token = self._usable()
        if token is None:
            stale = yield from self._reload()  # the shared store may hold a newer token
            token = self._usable() or (yield from self._renewed(stale))
        self.provider.apply(request, token)
        if (yield Send(request)) != 401:
            return
        if not request.replayable:
            # R5: its 401 is returned, not re-sent; yet the token it carried is refused,
            # so the next request renews it first instead of meeting the same 401.
            refused = token
            yield from self._locked(lambda: self._spend(refused))
            return
        logger.debug(
            "%s: a request was answered 401; renewing and sending it once more", self._name
        )
        token = yield from self._renewed(token)
        request.rewind()
        self.provider.apply(request, token)
        yield Send(request)

    def withdraw(self, request: Outgoing) -> None:
        """Take back the credentials of a request about to follow a redirect elsewhere.

        Only from requests bound for the provider's origin: others were never
        touched, and what they carry is the caller's own (R1).
        """
        if self._ours(request):
            self.provider.withdraw(request)

    def _ours(self, request: Outgoing) -> bool:
        """Whether `request` is bound for the provider's origin, where credentials go (R1)."""
        return request.origin == self.provider.base.origin

    @property
    def _name(self) -> str:
        return self.provider.name

    def _usable(self) -> Token | None:
        """The common case, kept to a memory read: a cached token, not yet expiring."""
        cached = self._local.cached
        if cached is not None and time.time() + self._margin < cached.expires:
            return cached.token
        return None

    def _renewed(self, stale: Token | None) -> Steps[Token]:
        """A token to use instead of `stale`, the one found wanting (None: there was none).

        If the store holds another by the time the lock is ours, someone renewed
        while we waited: that token is used even inside the margin, so that a
        crowd of waiters makes one renewal, not one each.
        """
        return self._locked(lambda: self._reuse_or_renew(stale))

    def _locked(self, work: Callable[[], Steps[T]]) -> Steps[T]:
        """`work` done by one renewer at a time: in this process, then among the store's."""
        with ExitStack() as held:
            if (yield from self._hold_flight(held)):
                yield from self._hold_store_lock(held)
            return (yield from work())

    def _hold_flight(self, held: ExitStack) -> Steps[bool]:
        release = yield Acquire(self._flight, self._timeout)
        if release is None:
            logger.warning(
                "%s: waited %.1f s for another login or refresh to finish; going ahead alone",
                self._name,
                self._timeout,
            )
            return False
        held.callback(release)
        return True

    def _hold_store_lock(self, held: ExitStack) -> Steps[None]:
        lock = self.store.lock(self.key)
        if lock is None:
            return
        if (yield Blocking(lock.acquire)):
            held.callback(lock.release)
        else:
            logger.warning(
                "%s: another process kept %r's lock past its timeout; going ahead alone",
                self._name,
                self.store,
            )

    def _reuse_or_renew(self, stale: Token | None) -> Steps[Token]:
        current = yield from self._reload()  # double-checked, now that the lock is ours
        if (
            current is not None
            and not current.is_expired()
            and (stale is None or current.access_token != stale.access_token)
        ):
            return current
        return (yield from self._renew(current or stale))

    def _spend(self, refused: Token) -> Steps[None]:
        """Mark `refused` expired, here and in the store, unless it was renewed meanwhile."""
        current = yield from self._reload()
        if current is not None and current.access_token == refused.access_token:
            spent = replace(current, expires_at=datetime.now(timezone.utc))
            yield Blocking(partial(self.store.set, self.key, spent))
            self._remember(spent)

    def _renew(self, previous: Token | None) -> Steps[Token]:
        """Refresh when the provider can; on any failure but a rate limit, log in (R3)."""
        call = self.provider.refresh_call(previous) if previous is not None else None
        if previous is not None and call is not None:
            try:
                answer = yield from self._exchange(call)
                return (yield from self._save(call, self.provider.read_refresh(answer, previous)))
            except RateLimitedError:
                raise
            except FinauthError as error:
                logger.info("%s: refresh failed, logging in instead: %s", self._name, error)
        return (yield from self._log_in())

    def _log_in(self) -> Steps[Token]:
        call = self.provider.login_call()
        answer = yield from self._exchange(call)
        return (yield from self._save(call, self.provider.read_login(answer)))

    def _exchange(self, call: AuthCall) -> Steps[Answer]:
        """Send `call`, retrying as R9 says, and insist on a 2xx answer."""
        answer: Answer = yield call
        attempt = 1
        while answer.status_code in _retry.RETRY_STATUSES and attempt < _retry.MAX_ATTEMPTS:
            seconds = _retry.delay(attempt, answer.header("Retry-After"))
            logger.info(
                "%s: %s answered %d; trying again in %.1f s",
                self._name,
                call.endpoint,
                answer.status_code,
                seconds,
            )
            yield Pause(seconds)
            answer = yield call
            attempt += 1
        check = (
            self.provider.check if call.purpose == "login" else "that the refresh token is valid"
        )
        answer.raise_for_status(check, attempt)
        return answer

    def _save(self, call: AuthCall, token: Token) -> Steps[Token]:
        yield Blocking(partial(self.store.set, self.key, token))
        self._remember(token)
        done = "logged in" if call.purpose == "login" else "refreshed"
        logger.debug(
            "%s: %s at %s, token expires in %s",
            self._name,
            done,
            call.endpoint,
            _duration(token.expires_in),
        )
        return token

    def _reload(self) -> Steps[Token | None]:
        """The newest token known: the store's, unless the local copy is newer.

        The store holds no newer one when it could not be reached or written, or
        its entry expired before the token could be refreshed: the local copy
        then still tells a waiter that its renewal is done, and still refreshes.
        """
        stored: Token | None = yield Blocking(partial(self.store.get, self.key))
        cached = self._local.cached
        if cached is not None and (stored is None or stored.obtained_at < cached.token.obtained_at):
            return cached.token
        return self._remember(stored)

    def _remember(self, token: Token | None) -> Token | None:
        self._local.cached = None if token is None else _Cached(token, token.expires_at.timestamp())
        return token


def _duration(seconds: float) -> str:
    """59m, 2h 0m, 45s: how long, for people."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"
