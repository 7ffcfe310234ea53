"""The requests adapter: attach the token, and re-send once after a 401 (R4).

Modelled on requests' own `HTTPDigestAuth`: `__call__` attaches the token and
registers a response hook; on a 401 the hook renews the token and re-sends a
copy of the request through the same connection adapter. What a request needs
kept until its response comes is kept with the request: the cached token it was
sent with, in an attribute, or its view and flow, in a hook object of its own.
None of it is on the auth, so one auth object serves many threads at once.
Login and refresh calls go through `session` (R13).

niquests, requests' maintained successor, has the same API: the same code serves its
`Session`, building with the classes of whichever package the request comes from, and
logging in through a niquests session.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager, suppress
from functools import cached_property
from inspect import iscoroutinefunction
from typing import Any
from urllib.parse import urljoin

import requests

from .._flow import Send, Steps, TokenFlow
from .._origin import Origin, origin_of
from .._telemetry import sending
from .._token import Token
from .._wire import MAX_ANSWER_BYTES, Answer, AuthCall
from .._worlds import in_thread
from . import library_of

_REDIRECTS = frozenset((301, 302, 303, 307, 308))
"""The statuses requests follows (`Response.is_redirect`), asked first: that property looks
for a Location header, whose absence a requests header mapping tells by raising KeyError,
on every response."""


class PreparedView:
    """The flow's view of a `requests.PreparedRequest`.

    Made for every request: what the flow reads on the common path (`headers`, `origin`)
    is kept in slots, not derived at each reading.
    """

    __slots__ = ("_body_start", "headers", "origin", "prepared", "response")

    def __init__(self, prepared: requests.PreparedRequest) -> None:
        self.prepared = prepared
        self.headers: MutableMapping[str, str] = prepared.headers
        self.origin: Origin | None = origin_of(prepared.url or "")
        self.response: requests.Response | None = None
        body = prepared.body
        self._body_start = None if body is None else _start_of(body)

    @property
    def url(self) -> str:
        return self.prepared.url or ""

    @url.setter
    def url(self, value: str) -> None:
        self.prepared.url = value
        self.origin = origin_of(value)

    @property
    def replayable(self) -> bool:
        body = self.prepared.body
        return _as_built(body) or self._body_start is not None

    def rewind(self) -> None:
        """Switch to a copy carrying the last response's cookies, its body rewound.

        As HTTPDigestAuth does: the original stays as the 401's request in history.
        """
        previous, prepared = self.prepared, self.prepared.copy()
        jar = prepared._cookies  # type: ignore[attr-defined]
        if self.response is not None and jar is not None:
            library_of(previous).cookies.extract_cookies_to_jar(jar, previous, self.response.raw)
            prepared.prepare_cookies(jar)
        if self._body_start is not None:
            prepared.body.seek(self._body_start)  # type: ignore[union-attr]
        self.prepared, self.headers = prepared, prepared.headers


class RequestsAuth(requests.auth.AuthBase):
    """The requests side of a login-based auth."""

    _flow: TokenFlow
    timeout: float

    def session_for(self, library: Any) -> requests.Session:
        """What carries login and refresh calls made for `library`'s sessions."""
        raise NotImplementedError

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        # The common case: the cached token, and no flow to run unless a 401 comes. A
        # body with no position to remember is sent again as it was built, so the request
        # keeps only the token (`_answered`), and no view of it is made where the provider
        # only sets headers.
        flow, as_built = self._flow, _as_built(r.body)
        token = flow.attach_written_down(r.url or "", r.headers) if as_built else None
        if token is None:
            view = PreparedView(r)
            token = flow.attached(view)
            if token is None or not as_built:
                return self._prepared_by_flow(r, view, token)
        r._finauth_sent_with = token  # type: ignore[attr-defined]
        r.hooks["response"].append(self._answered_hook)
        return r

    def _prepared_by_flow(
        self, r: requests.PreparedRequest, view: PreparedView, token: Token | None
    ) -> requests.PreparedRequest:
        """`r`, its flow run up to its sending (`token`: sent with that cached one), and a
        hook that holds its view and flow until the response comes."""
        sent_with: Steps[None] | Token | None = token
        if sent_with is None:
            sent_with = self._flow.authenticate(view)
            if not isinstance(self._run(sent_with, None, library=library_of(r)), Send):
                return r
        # What `register_hook` does, without its `isinstance(hook, Callable)`: an ABC's check.
        r.hooks["response"].append(_ResponseHook(self, view, sent_with))
        return r

    def login(self) -> Token:
        """Log in now over `session`, replacing the cached token."""
        done = self._run(self._flow.login(), None, library=requests)
        assert isinstance(done, StopIteration), "a login sends no user request"
        token: Token = done.value
        return token

    @cached_property
    def _answered_hook(self) -> Callable[..., requests.Response]:
        """`_answered`, bound once: a method bound for each request would be one object
        more per request for the collector where niquests leaves its requests in a
        reference cycle. The auth is in one with it, which only matters once it goes."""
        return self._answered

    def _answered(self, response: requests.Response, **send: Any) -> requests.Response:
        """The response hook of a request sent with the cached token.

        The request keeps that token in an attribute, as requests keeps `_body_position`
        there, so the common path makes no hook object for each request and does little
        more than the floor's hook. A 401 renews the token and re-sends the request once
        (R4); a redirect that leaves the origin takes the credentials back from the copy
        requests follows it with (R10). A copy does not carry the attribute
        (`PreparedRequest.copy`), and the request has given it up once its 401 is seen.
        """
        status = response.status_code
        if status == 401:
            token = vars(response.request).pop("_finauth_sent_with", None)
            if token is not None:  # else a copy made for a redirect: not the request we prepared
                view = PreparedView(response.request)
                steps = self._flow.answered_401(view, token)
                return self._on_response(steps, None, view, response, **send)
        elif status in _REDIRECTS:
            self._withdraw_if_leaving(response, response.request)
        return response

    def _withdraw_if_leaving(
        self, response: requests.Response, followed: requests.PreparedRequest
    ) -> None:
        """Before requests follows `response` by copying `followed`: if the redirect leads
        to another origin, take the credentials out of `followed` (R10).

        requests keeps Authorization only within the host, and other headers
        (X-Tenant-ID) everywhere.
        """
        if response.status_code in _REDIRECTS and response.is_redirect and _elsewhere(response):
            self._flow.withdraw(PreparedView(followed))

    def _on_response(
        self,
        steps: Steps[None],
        reply: int | None,
        view: PreparedView,
        response: requests.Response,
        **send: Any,
    ) -> requests.Response:
        """`response` to the request of `view`, given to the flow as `reply`, and the flow
        run to its end: the response, or the answer to its re-send."""
        view.response = response
        library = library_of(response)
        resend = self._run(steps, reply, finished=response, library=library)
        if not isinstance(resend, Send):
            return response
        original = response.request
        with sending(resend.span):
            again = _sent_through(response.connection, view.prepared, library, **send)
        again.history.append(response)
        again.request = view.prepared
        self._run(steps, again.status_code, finished=again, library=library)
        if again.is_redirect:
            # requests follows the redirect by copying the request it was given, not the
            # copy re-sent here: that one must carry what the re-send carried, never the
            # refused token, and nothing of it past the origin (R18).
            original.headers = view.prepared.headers.copy()
            self._withdraw_if_leaving(again, original)
        return again

    def _run(
        self,
        steps: Steps[Any],
        reply: object,
        finished: requests.Response | None = None,
        *,
        library: Any,
    ) -> Send | StopIteration:
        """Run the flow until it wants the user's request sent, or to its end, sending
        auth calls with `library` (requests or niquests).

        `finished` is the response just given to the flow: if the flow goes on,
        it is done with it, so its connection is released before any auth call.
        """
        try:
            while True:
                try:
                    step = steps.send(reply)
                except StopIteration as done:
                    # Without its traceback, whose frames would hold a caller keeping it
                    # in a reference cycle, for the garbage collector to free.
                    return done.with_traceback(None)
                if finished is not None:
                    _read_and_release(finished)
                    finished = None
                if isinstance(step, Send):
                    return step
                reply = self._call(step, library) if isinstance(step, AuthCall) else in_thread(step)
        except BaseException:
            steps.close()
            raise

    def _call(self, call: AuthCall, library: Any) -> Answer:
        """Send an auth call through the session for `library`: its adapters, proxies, TLS
        settings and hooks, but not its cookies or auth, and never following a redirect.

        Sent through the session's adapter by a session of finauth's (`_sent_through`),
        not by `session.send`, so that the cookies the answer sets stay out of the
        session's jar: from there requests would send them to any port of the provider's
        host, and on redirects (R10).
        """
        session = self.session_for(library)
        headers = {
            name: value
            for name, value in session.headers.items()
            if name.lower() not in ("authorization", "cookie")
        }
        request = library.Request(
            call.method, call.url, headers={**headers, **call.headers}, data=call.body
        ).prepare()
        settings = session.merge_environment_settings(request.url, {}, True, None, None)
        adapter = session.get_adapter(call.url)
        # Streamed, so that no more than MAX_ANSWER_BYTES is ever read (R15).
        options: dict[str, Any] = {"timeout": self.timeout, **settings}
        deadline = time.monotonic() + self.timeout
        with sending(call.span):
            sent = _sent_through(adapter, request, library, **options)
        with _cut_off(sent, deadline - time.monotonic()) as cut:
            # The session's hooks, dispatched here, within the auth's timeout.
            hooked = library.hooks.dispatch_hook("response", session.hooks, sent, **options)
            try:
                answer = answer_from(call, hooked)
            except library.RequestException:
                if not cut.is_set():
                    raise
            if cut.is_set():
                raise library.exceptions.ReadTimeout(
                    f"{call.provider} {call.purpose} at {call.endpoint} was not answered in "
                    f"full within the auth's timeout of {self.timeout:g} s",
                    request=request,
                )
        return answer


class _Carrier(requests.Session):
    """A session that sends one request through an adapter of another, where the
    instrumentation of `requests.Session.send` sees it (OpenTelemetry's does), yet
    keeps the cookies its answer sets in a jar of its own and follows no redirect (not
    even to read a redirect's body, as `Session.send` does to offer `Response.next`)."""

    def __init__(self, adapter: requests.adapters.BaseAdapter) -> None:
        super().__init__()
        self._adapter = adapter

    def get_adapter(self, url: str) -> requests.adapters.BaseAdapter:
        return self._adapter

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def _sent_through(
    adapter: requests.adapters.BaseAdapter,
    request: requests.PreparedRequest,
    library: Any,
    **options: Any,
) -> requests.Response:
    """The answer to an auth call or a re-send, sent through `adapter` as `_Carrier`
    sends it, its hooks not dispatched: the caller dispatches those it wants.

    niquests' requests go by the adapter alone: no instrumentation wraps its
    `Session.send`, which would run its own TLS revocation checks, not the user's
    session's.
    """
    if library is not requests:
        sent: requests.Response = adapter.send(request, **options)
        return sent
    hooks, request.hooks = request.hooks, requests.hooks.default_hooks()
    try:
        return _Carrier(adapter).send(request, allow_redirects=False, **options)
    finally:
        request.hooks = hooks


class _ResponseHook:
    """What the response to one request calls for, holding its view and its flow, or the
    cached token it was sent with, until the response has come.

    The request holds its hooks, and the view holds the request and then its response:
    a hook keeping the view for good would leave every request in a reference cycle of
    some 40 objects, which only the garbage collector frees. Once the flow has ended,
    later hops of a redirect only need their credentials withdrawn.
    """

    __slots__ = ("_auth", "_state")

    def __init__(
        self, auth: RequestsAuth, view: PreparedView, sent_with: Steps[None] | Token
    ) -> None:
        self._auth = auth
        self._state: tuple[PreparedView, Steps[None] | Token] | None = (view, sent_with)

    def __call__(self, response: requests.Response, **send: Any) -> requests.Response:
        if response.status_code in _REDIRECTS:  # the rest are spared the call
            self._auth._withdraw_if_leaving(response, response.request)
        if self._state is None or response.request is not self._state[0].prepared:
            return response  # a copy made for a redirect: not the request we prepared
        (view, sent_with), self._state = self._state, None  # its flow runs to the end now
        if not isinstance(sent_with, Token):
            return self._auth._on_response(sent_with, response.status_code, view, response, **send)
        if response.status_code != 401:
            return response  # sent with the cached token, and taken
        steps = self._auth._flow.answered_401(view, sent_with)
        return self._auth._on_response(steps, None, view, response, **send)


@contextmanager
def _cut_off(response: requests.Response, seconds: float) -> Iterator[threading.Event]:
    """Stop reading `response` once `seconds` have passed; the event says it was stopped.

    requests' timeout bounds each read from the socket, not the whole answer, which a
    server could trickle for ever while every waiter waits (R15). A socket shut down
    from another thread ends the read that blocks on it.
    """
    cut = threading.Event()

    def shut_down() -> None:
        cut.set()
        with suppress(AttributeError, OSError, RuntimeError, ValueError):
            response.raw.shutdown()  # urllib3 2.3 and later
        # urllib3 1.26 has no shutdown, and urllib3-future's (niquests') does nothing.
        connection = getattr(response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(0.0, seconds), shut_down)
    timer.daemon = True
    timer.start()
    try:
        yield cut
    finally:
        timer.cancel()


def _elsewhere(response: requests.Response) -> bool:
    """Whether a redirect leads to another origin than the request it answers."""
    target = urljoin(response.url, response.headers.get("Location", ""))
    return origin_of(target) != origin_of(response.url)


def answer_from(call: AuthCall, response: requests.Response) -> Answer:
    """The neutral Answer of a requests response, read and closed."""
    body = _read_and_release(response)
    return Answer(call, response.status_code, _header_pairs(response), body)


def _read_and_release(response: requests.Response) -> bytes:
    """The body of `response`, which is then closed, its connection back in the pool, so
    that no caller holds one while it waits for a renewal (R6).

    Past MAX_ANSWER_BYTES no more is read, and what was read is kept one byte over the
    cap, for the flow to refuse (R15). It stays in `response.content`.
    """
    if response._content_consumed:  # type: ignore[attr-defined]
        response.close()
        return response.content
    body = bytearray()
    with response:
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                break
    response._content = bytes(body[: MAX_ANSWER_BYTES + 1])
    return response._content


def _as_built(body: object) -> bool:
    """Whether `body` is sent again as it was built, with no position to remember: none,
    or bytes or a str in memory."""
    return body is None or isinstance(body, bytes | str)


def _start_of(body: object) -> int | None:
    """Where a seekable file body starts, so a re-send can rewind it (R5).

    Not where an async file starts (`tell` and `seek` coroutines, as aiofiles' are, sent
    by niquests' AsyncSession): the async adapter awaits those (`AsyncPreparedView`).
    """
    if _as_built(body):
        return None
    tell: Callable[[], int] | None = getattr(body, "tell", None)
    if tell is None or iscoroutinefunction(tell) or not hasattr(body, "seek"):
        return None
    seekable: Callable[[], bool] | None = getattr(body, "seekable", None)
    if seekable is not None and not seekable():
        return None
    try:
        position = tell()
    except (OSError, ValueError):
        return None
    return position if isinstance(position, int) else None


def _header_pairs(response: requests.Response) -> tuple[tuple[str, str], ...]:
    """Every header line, repeated ones apart (requests joins them with commas)."""
    raw_headers = getattr(response.raw, "headers", None)
    iteritems: Callable[[], Any] | None = getattr(raw_headers, "iteritems", None)
    if iteritems is not None:
        return tuple(iteritems())
    return tuple(response.headers.items())
