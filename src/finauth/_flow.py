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
from collections.abc import Callable, Generator, MutableMapping
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from . import _retry, _telemetry
from ._errors import FinauthError, RateLimitedError
from ._header_lines import HeaderCredentials, header_credentials
from ._origin import origin_of
from ._provider import Provider
from ._single_flight import Flight, flight_for
from ._token import Token
from ._wire import Answer, AuthCall, Outgoing, drop_cookies
from .stores import TokenStore, token_key

if TYPE_CHECKING:
    from opentelemetry.trace import Span

logger = logging.getLogger("finauth")

_REMEMBERED_COOKIES = 32
"""How many of the cookies auth answers set are kept off the user's requests."""

T = TypeVar("T")


# The steps are plain slotted classes: a Send is made for every request, and a dataclass
# costs more to make, and to define at import.


class Send:
    """Send the user's request as it now stands; the reply is the response's status code.

    A re-send after a 401 has a span, if traced: made current while it is sent.
    """

    __slots__ = ("request", "span")

    def __init__(self, request: Outgoing, span: Span | None = None) -> None:
        self.request = request
        self.span = span


class Pause:
    """Wait before trying an auth call again; the reply is None."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Acquire:
    """Take `flight`'s lock for the current world, waiting at most `timeout` seconds.

    The reply is a function that releases the lock, or None when the wait ran out.
    """

    __slots__ = ("flight", "timeout")

    def __init__(self, flight: Flight, timeout: float) -> None:
        self.flight = flight
        self.timeout = timeout


class Blocking:
    """Run a store call that may block on a disk or the network; the reply is its result.

    A thread just calls it; an event loop runs it in a worker thread.
    """

    __slots__ = ("call",)

    def __init__(self, call: Callable[[], Any]) -> None:
        self.call = call


Step = Send | AuthCall | Pause | Acquire | Blocking
Steps = Generator[Step, Any, T]


class _Cached(NamedTuple):
    token: Token
    renew_at: float
    """When to renew `token`, as a timestamp, so the common path compares two floats."""


class _LocalCopy:
    """The last token seen, kept in front of the store; twin flows share one.

    Attributes each hold one immutable value, so threads read them whole. In slots, each
    set from the start: every request reads two of them.
    """

    __slots__ = ("auth_cookies", "cached", "refreshed")

    def __init__(self) -> None:
        self.cached: _Cached | None = None
        self.refreshed: str | None = None
        """The access token the last refresh here gave: if the provider refuses it at
        once, its refresh did not help (R14)."""
        self.auth_cookies: tuple[tuple[str, str], ...] = ()
        """The cookies login and refresh answers set (the latest few), which a client's
        jar may send on: they never ride on the user's requests (R18)."""


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
        self._margin = refresh_margin
        self._timeout = timeout
        self._wait_bound = _retry.renewal_budget(timeout)
        self._local = local or _LocalCopy()
        self._header_credentials: HeaderCredentials | None = None
        """The cached token's, once asked for (`cached_headers`): this flow's, since a twin
        sends the same token another way."""
        self._origin_slash = provider.base.origin.url + "/"
        """The provider's origin as a URL, and the slash that ends its authority: a URL
        that starts with it is bound for that origin, whatever else it holds, so the
        common request needs no `origin_of`."""

    @cached_property
    def key(self) -> str:
        """The token's key in the store, derived on first use: slow on purpose (see
        `token_key`), so building an auth stays cheap, and a twin, with the same
        credentials, finds it in the process's cache."""
        provider = self.provider
        return token_key(provider.name, provider.base.url, provider.identity, provider.secrets)

    @cached_property
    def _flight(self) -> Flight:
        return flight_for(self.store, self.key)

    def _derive_key(self) -> Steps[None]:
        """Derive `key` if it is not yet, as a blocking step: an event loop must not wait
        the tens of milliseconds the derivation takes (R15); a worker thread does."""
        if "key" not in vars(self):
            yield Blocking(lambda: self.key)

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
        if cached is not None:
            return cached.token
        return self._remember(self._trusted(self.store.get(self.key)))

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
        self._attach(request, token)
        if (yield Send(request)) == 401:
            yield from self.answered_401(request, token)

    def attached(self, request: Outgoing) -> Token | None:
        """The common case, without a flow: `request` is bound for the provider's origin
        and a cached token is not yet due, which is attached and returned. Else None, and
        nothing is done: `authenticate` is the way.

        An adapter that sends `request` with this token gives its 401, if any, to
        `answered_401`; `authenticate` would do no more.
        """
        token = self._usable() if self._ours(request) else None
        if token is not None:
            self._attach(request, token)
        return token

    def cached_headers(self, url: str) -> HeaderCredentials | None:
        """The common case at its cheapest, for an adapter that has made no view of its
        request: the cached token, not yet due, and the header lines that attach it to a
        request for `url`, bound for the provider's origin. Setting them is all `attached`
        would do: the provider's `apply` only sets headers (`header_credentials`), and no
        cookie of an auth answer is to be kept off the request. Else None, and `attached`
        or `authenticate` is the way.
        """
        local = self._local  # `_usable` and `_ours`, inlined: this runs for every request
        cached = local.cached
        if (
            cached is None
            or local.auth_cookies
            or time.time() >= cached.renew_at
            or (
                not url.startswith(self._origin_slash)
                and origin_of(url) != self.provider.base.origin
            )
        ):
            return None
        known = self._header_credentials
        if known is None or known.token is not cached.token:
            known = self._header_credentials = header_credentials(self.provider, cached.token)
        return None if known.lines is None else known

    def attach_written_down(self, url: str, headers: MutableMapping[str, str]) -> Token | None:
        """The cached token, its header lines for a request to `url` (`cached_headers`)
        set on `headers`, the request's; else None, and nothing set."""
        known = self.cached_headers(url)
        if known is None:
            return None
        for name, value in known.lines or ():
            headers[name] = value
        return known.token

    def answered_401(self, request: Outgoing, token: Token) -> Steps[None]:
        """What follows the provider's 401 to `request`, sent with `token`: the renewal,
        and one re-send if the body can be sent again (R4, R5)."""
        if not request.replayable:
            # R5: its 401 is returned, not re-sent; yet the token it carried is refused,
            # so the next request renews it first instead of meeting the same 401.
            yield from self._spent(token)
            return
        logger.debug(
            "%s: a request was answered 401; renewing and sending it once more", self._name
        )
        token = yield from self._renewed(token)
        request.rewind()
        self._attach(request, token)
        with _telemetry.resend(self._name) as span:
            status = yield Send(request, span)
        if status == 401:
            # R14: refused as soon as it was renewed. The 401 is returned (R4); the next
            # request renews first, and by a login if a refresh gave this token, since a
            # server can go on refreshing tokens its API refuses.
            yield from self._spent(token)

    def withdraw(self, request: Outgoing) -> None:
        """Take back the credentials of a request about to follow a redirect elsewhere.

        Only from requests bound for the provider's origin: others were never
        touched, and what they carry is the caller's own (R1).
        """
        if self._ours(request):
            self.provider.withdraw(request)

    def _attach(self, request: Outgoing, token: Token) -> None:
        """`token`, as the provider sends it, and none of the cookies auth answers set.

        With httpx those land in the client's jar: a server's `sessionid` or `csrftoken`
        would switch it to session authentication, and refuse writes without CSRF (R18).
        """
        if cookies := self._local.auth_cookies:
            drop_cookies(request, lambda name, value: (name, value) in cookies)
        self.provider.apply(request, token)

    def _ours(self, request: Outgoing) -> bool:
        """Whether `request` is bound for the provider's origin, where credentials go (R1)."""
        return request.origin == self.provider.base.origin

    @property
    def _name(self) -> str:
        return self.provider.name

    def _usable(self) -> Token | None:
        """The common case, kept to a memory read: a cached token, not yet expiring."""
        cached = self._local.cached
        if cached is not None and time.time() < cached.renew_at:
            return cached.token
        return None

    def _renew_at(self, token: Token) -> float:
        """When `token` is due for renewal, as a timestamp.

        `refresh_margin` before it expires, but never more than half its lifetime
        before (R14): a token that lives less than the margin would otherwise be
        renewed for every request.
        """
        lifetime = (token.expires_at - token.obtained_at).total_seconds()
        return token.expires_at.timestamp() - min(self._margin, max(lifetime, 0.0) / 2)

    def _renewed(self, stale: Token | None) -> Steps[Token]:
        """A token to use instead of `stale`, the one found wanting (None: there was none).

        If the store holds another by the time the lock is ours, someone renewed
        before us. That token is used if it is not yet due for renewal, or if it
        was obtained after we began to wait, even inside the margin: a crowd of
        waiters then makes one renewal, not one each. One obtained earlier and
        already due is renewed: the request found wanting may have outlived it.
        """
        since = time.time()
        return self._locked(lambda: self._reuse_or_renew(stale, since))

    def _locked(self, work: Callable[[], Steps[T]]) -> Steps[T]:
        """`work` done by one renewer at a time: in this process, then among the store's."""
        yield from self._derive_key()
        with ExitStack() as held:
            if (yield from self._hold_flight(held)):
                yield from self._hold_store_lock(held)
            return (yield from work())

    def _hold_flight(self, held: ExitStack) -> Steps[bool]:
        """Wait for the renewal in flight, if any: as long as a whole renewal may take,
        so that waiters do not all give up and renew at once when a slow one fails."""
        release = yield Acquire(self._flight, self._wait_bound)
        if release is None:
            logger.warning(
                "%s: waited %.1f s for another login or refresh to finish; going ahead alone",
                self._name,
                self._wait_bound,
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

    def _reuse_or_renew(self, stale: Token | None, since: float) -> Steps[Token]:
        current = yield from self._reload()  # double-checked, now that the lock is ours
        if (
            current is not None
            and not current.is_expired()
            and (stale is None or current.access_token != stale.access_token)
            and (time.time() < self._renew_at(current) or current.obtained_at.timestamp() >= since)
        ):
            return current
        return (yield from self._renew(current or stale))

    def _spent(self, refused: Token) -> Steps[None]:
        """Mark `refused` expired, here and in the store, unless it was renewed meanwhile.

        If a refresh here gave it, its refresh token goes too (R14).
        """

        def spend() -> Steps[None]:
            current = yield from self._reload()
            if current is None or current.access_token != refused.access_token:
                return
            spent = replace(current, expires_at=datetime.now(timezone.utc))
            if self._local.refreshed == refused.access_token:
                spent = replace(spent, refresh_token=None)
                logger.info(
                    "%s: a token just refreshed was refused; logging in next time", self._name
                )
            yield Blocking(partial(self.store.set, self.key, spent))
            self._remember(spent)

        return self._locked(spend)

    def _renew(self, previous: Token | None) -> Steps[Token]:
        """Refresh when the provider can; on any failure but a rate limit, log in (R3)."""
        call = self.provider.refresh_call(previous) if previous is not None else None
        if previous is not None and call is not None:
            try:
                with _telemetry.renewal(self._name, "refresh") as span:
                    answer = yield from self._exchange(call, span)
                    token = self.provider.read_refresh(answer, previous)
                    return (yield from self._save(call, token))
            except RateLimitedError:
                raise
            except FinauthError as error:
                logger.info("%s: refresh failed, logging in instead: %s", self._name, error)
        return (yield from self._log_in())

    def _log_in(self) -> Steps[Token]:
        call = self.provider.login_call()
        with _telemetry.renewal(self._name, "login") as span:
            answer = yield from self._exchange(call, span)
            return (yield from self._save(call, self.provider.read_login(answer)))

    def _exchange(self, call: AuthCall, span: Span | None) -> Steps[Answer]:
        """Send `call`, retrying as R9 says, and insist on a 2xx answer."""
        if span is not None:
            call = replace(call, span=span)
        answer: Answer = yield from self._sent(call)
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
            answer = yield from self._sent(call)
            attempt += 1
        check = (
            self.provider.check if call.purpose == "login" else "that the refresh token is valid"
        )
        answer.raise_for_status(check, attempt)
        return answer

    def _sent(self, call: AuthCall) -> Steps[Answer]:
        """The answer to `call`; the cookies it sets are remembered, to be kept off the
        user's requests."""
        answer: Answer = yield call
        if cookies := answer.cookies_set():
            known = [pair for pair in self._local.auth_cookies if pair not in cookies]
            self._local.auth_cookies = (*known, *cookies)[-_REMEMBERED_COOKIES:]
        return answer

    def _save(self, call: AuthCall, token: Token) -> Steps[Token]:
        yield Blocking(partial(self.store.set, self.key, token))
        self._remember(token)
        self._local.refreshed = token.access_token if call.purpose == "refresh" else None
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
        yield from self._derive_key()
        stored = self._trusted((yield Blocking(partial(self.store.get, self.key))))
        cached = self._local.cached
        if cached is not None and (stored is None or stored.obtained_at < cached.token.obtained_at):
            return cached.token
        return self._remember(stored)

    def _trusted(self, stored: Token | None) -> Token | None:
        """`stored`, unless the provider could not send it: a tampered or corrupt entry
        is a miss, never a header the client refuses with the token in its message (R16)."""
        if stored is None or self.provider.carries(stored):
            return stored
        logger.warning(
            "%s: %r holds a token that cannot be sent in a request; logging in instead",
            self._name,
            self.store,
        )
        return None

    def _remember(self, token: Token | None) -> Token | None:
        self._local.cached = None if token is None else _Cached(token, self._renew_at(token))
        return token


def _duration(seconds: float) -> str:
    """59m, 2h 0m, 45s: how long, for people."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    return f"{minutes // 60}h {minutes % 60}m" if minutes >= 60 else f"{minutes}m"
