"""The httpx adapter: `sync_auth_flow` and `async_auth_flow`, each with its own lock.

Login and refresh requests are yielded from the auth flow, so they go through
the user's client: its transport, proxies, TLS settings, event hooks and mocks
(R13). Each mode waits in its own world: a thread lock for `httpx.Client`, an
event-loop lock for `httpx.AsyncClient` (asyncio or trio).

httpx2, httpx continued under another name, has the same API: the same code serves
it, building with the classes of whichever package the request comes from.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Generator,
    Iterator,
    MutableMapping,
)
from contextlib import closing
from functools import cache, lru_cache
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

import httpx

from .._errors import ConfigurationError
from .._flow import Send, Step, TokenFlow
from .._origin import DEFAULT_PORTS, Origin
from .._telemetry import sending
from .._wire import MAX_ANSWER_BYTES, Answer, AuthCall
from .._worlds import in_loop, in_thread
from . import library_of

if TYPE_CHECKING:
    from ._detached import RenewalApart


class RequestView:
    """The flow's view of an `httpx.Request`."""

    __slots__ = ("_file", "_file_start", "_replayable", "request")

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        # Decided now, from the body as given: a transport may buffer a stream
        # as it sends it (MockTransport does), which must not make it replayable.
        stream: type = type(request.stream)
        if _holds_its_bytes(stream):  # the common case: bytes, or none
            self._file, self._file_start, self._replayable = None, 0, True
        else:
            self._file, self._file_start = _seekable_file(request.stream)
            self._replayable = self._file is not None

    @property
    def headers(self) -> MutableMapping[str, str]:
        """Read each time: a transport may give the request new headers (OpenTelemetry's
        instrumentation does), which a re-send must carry."""
        return self.request.headers

    @property
    def url(self) -> str:
        return str(self.request.url)

    @url.setter
    def url(self, value: str) -> None:
        self.request.url = library_of(self.request).URL(value)

    @property
    def origin(self) -> Origin | None:
        return _origin(self.request)

    @property
    def replayable(self) -> bool:
        return self._replayable

    def rewind(self) -> None:
        if self._file is not None:
            self._file.seek(self._file_start)


class _Httpx2Class:
    """`__class__` of an auth: its own class until httpx2 is imported, then a subclass of
    both it and `httpx2.Auth`, kept in the instance, where the next lookups find it at
    C speed. (A property would be a Python call for every failing `isinstance` on the
    auth: requests' `isinstance(auth, tuple)` on each request, for one.)"""

    def __get__(self, auth: object, owner: type | None = None) -> type:
        own: type = type(auth)
        httpx2 = _httpx2()
        if httpx2 is None:
            return own
        accepted = _also_an_httpx2_auth(own, httpx2.Auth)
        vars(auth)["__class__"] = accepted
        return accepted


class Httpx2Accepted:
    """Lets httpx2 take this auth as one of its own.

    httpx2 runs an `auth=` object's flows only if it is an `httpx2.Auth`, a class
    finauth cannot derive from without importing httpx2 for everyone. `isinstance`
    also asks an object for its `__class__`: once httpx2 is imported, this one is a
    subclass of both the auth's own class and `httpx2.Auth`.
    """

    __class__ = _Httpx2Class()


@cache
def _also_an_httpx2_auth(own: type, httpx2_auth: type) -> type:
    """Made once per class."""
    if issubclass(own, httpx2_auth):
        return own
    return type(own.__name__, (own, httpx2_auth), {"__module__": own.__module__})


SENDING = "_send_handling_auth"
"""The `AsyncClient` method that runs an auth flow, in httpx and httpx2 alike."""


class HttpxAuth(Httpx2Accepted, httpx.Auth):
    """The httpx side of a login-based auth.

    An answer the flow has seen is released before the flow goes on: a caller
    that waits for a renewal holds no connection of the client's pool, which the
    renewal may need (R6). Auth calls of an `httpx.AsyncClient` outlive the caller's
    cancellation: others may be waiting for their answer. Under trio they run shielded
    in the caller's task; asyncio's own cancellation cannot be shielded from inside the
    caller's task, so there they are sent from a task of their own (`_detached`).
    """

    _flow: TokenFlow
    timeout: float

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        view = RequestView(request)
        token = self._flow.attached(view)
        seen: httpx.Response | None = None
        if token is None:
            steps = self._flow.authenticate(view)
        else:  # the cached token: no flow, unless it meets a 401
            seen = yield request
            if seen.status_code != 401 or _provider_status(request, seen) != 401:
                return
            steps = self._flow.answered_401(view, token)
        reply: object = None
        with closing(steps):
            while True:
                try:
                    step = steps.send(reply)
                except StopIteration:
                    return
                if seen is not None:
                    _keep_body(seen, _read_at_most(seen))
                    seen = None
                if isinstance(step, Send):
                    if step.span is None:
                        seen = yield request
                    else:
                        with sending(step.span):
                            seen = yield request
                    reply = _provider_status(request, seen)
                elif isinstance(step, AuthCall):
                    sent = _auth_request(step, request)
                    until = time.monotonic() + self.timeout
                    with sending(step.span):
                        response = yield sent
                    body = _read_at_most(response, until)
                    reply = _answer(step, sent, response, body)
                else:
                    reply = in_thread(step)

    def bind(self, client: httpx.AsyncClient) -> httpx.AsyncClient:
        """Make this auth `client`'s: sets `client.auth` and returns `client`.

        Rarely needed: under asyncio, an auth finds the client whose `send` runs it and
        sends a renewal from a task of its own through that client, so that a cancelled
        caller leaves it to finish for the callers after it. It cannot find the client
        when another auth wraps it or the client's class sends in its own way; bound, it
        need not look.
        """
        if not isinstance(client, _async_clients()):
            name = self._flow.provider.name
            raise ConfigurationError(
                f"{name}: bind() takes an httpx or httpx2 AsyncClient, not a "
                f"{type(client).__name__}; "
                "other clients need no binding",
                provider=name,
            )
        from ._detached import BoundAuth

        client.auth = BoundAuth(self, client)
        return client

    def _sending_client(self) -> httpx.AsyncClient | None:
        """The `AsyncClient` whose `send` runs this auth's flow, found in the frame that
        runs it.

        httpx hands an auth flow the request, never the client, yet a renewal sent from a
        task of its own needs one. The nearest `_send_handling_auth` frame above this one
        is it, if its `auth` is this auth and its `self` an AsyncClient; anything else (an
        auth wrapping this one, a client that sends in its own way, an interpreter without
        `sys._getframe`) gives None, and the renewal goes out from the caller's task.
        """
        frame = sys._getframe(1) if hasattr(sys, "_getframe") else None
        while frame is not None and frame.f_code.co_name != SENDING:
            frame = frame.f_back
        if frame is None:
            return None
        names = frame.f_locals
        client, driven = names.get("self"), names.get("auth")
        return client if driven is self and isinstance(client, _async_clients()) else None

    def _renewal_apart(
        self, steps: Generator[Step, Any, None], request: httpx.Request
    ) -> RenewalApart | None:
        """Where a renewal goes on without its caller: under asyncio, with its client."""
        from ._detached import renewal_apart  # here: it imports asyncio and anyio

        return renewal_apart(self, steps, request)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        view = RequestView(request)
        token = self._flow.attached(view)
        seen: httpx.Response | None = None
        if token is None:
            steps = self._flow.authenticate(view)
        else:  # the cached token: no flow, unless it meets a 401
            seen = yield request
            if seen.status_code != 401 or _provider_status(request, seen) != 401:
                return
            steps = self._flow.answered_401(view, token)
        reply: object = None
        orphaned = False
        try:
            while True:
                try:
                    step = steps.send(reply)
                except StopIteration:
                    return
                if seen is not None:
                    _keep_body(seen, await _aread_at_most(seen))
                    seen = None
                if (
                    isinstance(step, AuthCall)
                    and (apart := self._renewal_apart(steps, request)) is not None
                ):
                    try:
                        renewed = await apart.until_sent(step)
                    finally:
                        orphaned = apart.orphaned
                    if renewed is None:
                        return
                    step = renewed
                if isinstance(step, Send):
                    if step.span is None:
                        seen = yield request
                    else:
                        with sending(step.span):
                            seen = yield request
                    reply = _provider_status(request, seen)
                elif isinstance(step, AuthCall):
                    import anyio  # here, not at the top: only event loops need it

                    sent = _auth_request(step, request)
                    deadline = anyio.current_time() + self.timeout
                    with anyio.CancelScope(shield=True), sending(step.span):
                        response = yield sent
                        body = await _aread_at_most(response, deadline)
                    reply = _answer(step, sent, response, body)
                else:
                    reply = await in_loop(step)
        finally:
            if not orphaned:
                steps.close()


def _httpx2() -> ModuleType | None:
    """httpx2, once the program has imported it.

    While another thread imports it, its module is in `sys.modules` before its classes
    are in the module: until the import is done, httpx2 is not in use. (`_initializing`
    is what the interpreter itself asks, to say "partially initialized module".)
    """
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is None or getattr(httpx2.__spec__, "_initializing", False):
        return None
    return httpx2


def _libraries() -> tuple[ModuleType, ...]:
    """httpx, and httpx2 if it is in use."""
    httpx2 = _httpx2()
    return (httpx,) if httpx2 is None else (httpx, httpx2)


def _async_clients() -> tuple[type[httpx.AsyncClient], ...]:
    return tuple(library.AsyncClient for library in _libraries())


@cache
def _holds_its_bytes(stream: type) -> bool:
    """Whether a request body of class `stream` holds its bytes, so that it can be sent
    again: httpx's or httpx2's ByteStream. Asked once per class, not per request."""
    return issubclass(stream, tuple(library.ByteStream for library in _libraries()))


def _origin(request: httpx.Request) -> Origin | None:
    url = request.url
    # raw_host is what goes on the wire (IDNA-encoded); `host` is decoded to Unicode.
    return _origin_of_parts(url.scheme, url.raw_host, url.port)


@lru_cache(maxsize=256)
def _origin_of_parts(scheme: str, raw_host: bytes, port: int | None) -> Origin | None:
    """Made once per origin, not per request (the few a client calls most stay cached)."""
    default = DEFAULT_PORTS.get(scheme)
    if default is None:
        return None
    return Origin(scheme, raw_host.decode("ascii").lower(), port or default)


def _provider_status(request: httpx.Request, response: httpx.Response) -> int | None:
    """The status of the provider's own answer to `request`, or None.

    With `follow_redirects=True`, httpx gives the flow the last answer, wherever
    the redirects led: another origin's 401 says nothing of our token (R4).
    """
    if response.request is request:  # no redirect was followed: the common case
        return response.status_code
    return response.status_code if _origin(response.request) == _origin(request) else None


def _auth_request(call: AuthCall, user_request: httpx.Request) -> httpx.Request:
    """An auth call as a request of the user's library, with the timeout the user's
    request has.

    The client puts its timeout into each request it builds; a request made
    here would otherwise wait forever.
    """
    library = library_of(user_request)
    timeout = user_request.extensions.get("timeout")
    request: httpx.Request = library.Request(
        call.method,
        call.url,
        headers=dict(call.headers),
        content=call.body,
        extensions={"timeout": timeout} if timeout is not None else {},
    )
    # Built from `content` first, for Host and Content-Length.
    request.stream = _sent_once_stream(library)(call)
    return request


@cache
def _sent_once_stream(library: ModuleType) -> Callable[[AuthCall], httpx.SyncByteStream]:
    """A body stream of `library`'s that goes out once: its transports accept no other."""

    class SentOnce(library.SyncByteStream, library.AsyncByteStream):  # type: ignore[name-defined,misc]
        """An auth call's body, which goes out once.

        With `follow_redirects=True` httpx sends a 307 or 308's request body again, to
        wherever the redirect points: a password or a refresh token. Asked for it a
        second time, this raises instead (R18).
        """

        def __init__(self, call: AuthCall) -> None:
            self._call = call
            self._sent = False

        def _body(self) -> bytes:
            if self._sent:
                raise self._call.redirected()
            self._sent = True
            return self._call.body

        def __iter__(self) -> Iterator[bytes]:
            yield self._body()

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield self._body()

    stream: Callable[[AuthCall], httpx.SyncByteStream] = SentOnce
    return stream


def _answer(call: AuthCall, sent: httpx.Request, response: httpx.Response, body: bytes) -> Answer:
    """The neutral Answer to `call`, sent as `sent`.

    Where httpx followed a redirect (`follow_redirects=True`), the redirect is the
    answer, refused as such (R18).
    """
    _keep_body(response, body)
    redirect = next((earlier for earlier in response.history if earlier.request is sent), None)
    if response.request is not sent and redirect is not None:
        response, body = redirect, redirect.content
    return Answer(call, response.status_code, tuple(response.headers.multi_items()), body)


def _read_at_most(response: httpx.Response, until: float = math.inf) -> bytes:
    """The body of `response`, which is then closed, its connection back in the pool.

    Past MAX_ANSWER_BYTES no more is read, and what was read is kept one byte over the
    cap, for the flow to refuse (R15). Read by `until` (a `time.monotonic()`), or a
    timeout: httpx's own bounds each read, not the whole answer, which a server could
    trickle for ever.
    """
    body = bytearray()
    with closing(response):
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                break
            if time.monotonic() > until:
                raise _late(response)
    return bytes(body[: MAX_ANSWER_BYTES + 1])


async def _aread_at_most(response: httpx.Response, deadline: float = math.inf) -> bytes:
    """`_read_at_most` for an `httpx.AsyncClient`, by `deadline` (an `anyio.current_time()`).

    The read is ended by cancelling it, never by leaving the stream midway: httpx and
    httpcore read through nested async generators, and one abandoned unexhausted is
    left to the garbage collector (a ResourceWarning under trio). Cancelled, httpcore
    closes its connection, as on any cancellation.
    """
    import anyio

    body = bytearray()
    try:
        with anyio.CancelScope(deadline=deadline) as reading:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    reading.cancel()  # the next read is cancelled; buffered bytes may come
    finally:
        with anyio.CancelScope(shield=True):
            await response.aclose()
    if reading.cancelled_caught and len(body) <= MAX_ANSWER_BYTES:
        raise _late(response)
    return bytes(body[: MAX_ANSWER_BYTES + 1])


def _late(response: httpx.Response) -> httpx.ReadTimeout:
    timeout: httpx.ReadTimeout = library_of(response.request).ReadTimeout(
        f"{response.request.method} {response.request.url} was not answered in full within "
        "the auth's timeout",
        request=response.request,
    )
    return timeout


def _keep_body(response: httpx.Response, body: bytes) -> None:
    """Leave what was read in `response` for httpx, which reads every answer it gave the
    auth flow once more when the flow goes on."""
    response._content = body


def _seekable_file(stream: Any) -> tuple[IO[bytes] | None, int]:
    """A file body and where it starts, so a re-send can rewind it (R5).

    httpx wraps a file passed as `content=` in an IteratorByteStream that reads
    it from wherever it stands; the file is kept in its `_stream` attribute.
    """
    source = getattr(stream, "_stream", None)
    seekable = getattr(source, "seekable", None)
    if source is None or not callable(seekable) or not hasattr(source, "read"):
        return None, 0
    try:
        return (source, source.tell()) if seekable() else (None, 0)
    except (OSError, ValueError):
        return None, 0
