"""The aiohttp adapter: the auth is a client middleware (aiohttp 3.12 and later).

aiohttp calls a middleware with its request and the handler that sends it, which the
middleware may call more than once: the flow runs here as it does for httpx's async
client, waiting in the event loop's world (`in_loop`). Login and refresh calls go
through the request's own session, so its connector, proxies and TLS settings apply
(R13), with one middleware of their own in place of the session's: the auth is never
entered again, and the call carries exactly its own Cookie and Authorization, whatever
the session's jar and default headers hold.

aiohttp runs the middlewares again at each redirect hop, each hop a request of its own
built from the caller's arguments: credentials are added to the hops bound for the
provider's origin and no others (R1), with nothing to take back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .._flow import Send, Step, Steps, TokenFlow
from .._origin import Origin, origin_of
from .._telemetry import sending
from .._wire import MAX_ANSWER_BYTES, Answer, AuthCall
from .._worlds import in_loop

if TYPE_CHECKING:
    from aiohttp import ClientRequest, ClientResponse

    Handler = Callable[[ClientRequest], Awaitable[ClientResponse]]

_AUTH_HEADERS = ("Authorization", "Cookie")
"""What an auth call carries only if the provider wants it: never the session's."""


class ClientRequestView:
    """The flow's view of an `aiohttp.ClientRequest`."""

    def __init__(self, request: ClientRequest) -> None:
        self.request = request

    @property
    def headers(self) -> MutableMapping[str, str]:
        return self.request.headers

    @property
    def url(self) -> str:
        return str(self.request.url)

    @url.setter
    def url(self, value: str) -> None:
        from yarl import URL

        self.request.url = URL(value, encoded=True)

    @property
    def origin(self) -> Origin | None:
        return origin_of(str(self.request.url))

    @property
    def replayable(self) -> bool:
        """Whether aiohttp can send the body again: bytes, text, JSON and forms can, and
        files that rewind (aiohttp rewinds them itself); an async generator it has read
        cannot, and aiohttp would send it empty (R5)."""
        return not getattr(self.request.body, "consumed", False)

    def rewind(self) -> None:
        """Nothing to do: aiohttp rewinds a replayable body itself when it sends it again."""


class AiohttpAuth:
    """The aiohttp side of an auth: `middleware(request, handler)`."""

    _flow: TokenFlow
    timeout: float

    async def middleware(self, request: ClientRequest, handler: Handler) -> ClientResponse:
        """Authenticate `request`, send it with `handler`, and once more after a 401.

        A request sent with the cached token runs no flow, unless it is answered 401, and
        no view of it is made where the provider only sets headers.
        """
        flow = self._flow
        token = flow.attach_written_down(str(request.url), request.headers)
        if token is None:
            view = ClientRequestView(request)
            token = flow.attached(view)
            if token is None:
                return await self._flowing(flow.authenticate(view), request, handler, None)
        response = await handler(request)
        if response.status != 401:
            return response
        steps = flow.answered_401(ClientRequestView(request), token)
        return await self._flowing(steps, request, handler, response)

    async def _flowing(
        self,
        steps: Steps[None],
        request: ClientRequest,
        handler: Handler,
        response: ClientResponse | None,
    ) -> ClientResponse:
        """Run the flow for `request`, which `response`, if any, answered already.

        An answer the flow goes on from is read (up to a cap) and released first: a
        caller waiting for a renewal holds no connection of the session's pool (R6). A
        renewal runs in a task of its own (`RenewalApart`): a caller cancelled meanwhile
        (`asyncio.timeout`) leaves it to finish for the callers after it.
        """
        reply: object = None
        unread = response
        orphaned = False
        try:
            while True:
                try:
                    step: Step | None = steps.send(reply)
                except StopIteration:
                    step = None
                if step is not None and unread is not None:
                    await _read_and_release(unread)
                    unread = None
                if isinstance(step, AuthCall):
                    from ._detached import RenewalApart  # here: it imports anyio

                    send = partial(self._call_through_session, request=request)
                    apart = RenewalApart(steps, send, self._flow.provider.name)
                    try:
                        step = await apart.until_sent(step)
                    finally:
                        orphaned = apart.orphaned
                if step is None:  # the flow has ended: the last answer is the caller's
                    assert response is not None, "the flow sends every request"
                    return response
                if isinstance(step, Send):
                    if step.span is None:
                        response = unread = await handler(request)
                    else:
                        with sending(step.span):
                            response = unread = await handler(request)
                    reply = response.status
                else:
                    reply = await in_loop(step)
        finally:
            if not orphaned:
                steps.close()

    async def _call_through_session(self, call: AuthCall, request: ClientRequest) -> Answer:
        """`call`, sent through the session `request` came from, never following a
        redirect (R18), within the auth's timeout, its answer read up to a cap (R15)."""
        import aiohttp
        from yarl import URL

        session = request.session
        with sending(call.span):
            async with session.request(
                call.method,
                URL(call.url, encoded=True),  # as the provider built it, not quoted again
                data=call.body,
                headers=call.headers,
                middlewares=(_carrying_exactly(call),),
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                body = await _read_and_release(response)
                answer = Answer(call, response.status, _header_pairs(response.raw_headers), body)
        _forget_cookies(session.cookie_jar, answer.cookies_set())
        return answer


def _carrying_exactly(call: AuthCall) -> Callable[..., Awaitable[ClientResponse]]:
    """A middleware sending `call` with its own Cookie and Authorization or none: not the
    jar's cookies, nor the session's default credentials."""

    async def send_as_is(request: ClientRequest, handler: Handler) -> ClientResponse:
        for name in _AUTH_HEADERS:
            request.headers.pop(name, None)
            if name in call.headers:
                request.headers[name] = call.headers[name]
        return await handler(request)

    return send_as_is


async def _read_and_release(response: ClientResponse) -> bytes:
    """The body of `response`, its connection then back in the pool, as aiohttp puts it
    back once an answer is read to its end; the caller can still read what was kept.

    Past MAX_ANSWER_BYTES no more is read and the connection is closed instead; what was
    read is kept one byte over the cap, for the flow to refuse (R15).
    """
    body = bytearray()
    while len(body) <= MAX_ANSWER_BYTES:
        chunk = await response.content.read(64 * 1024)
        if not chunk:
            break
        body += chunk
    else:
        response.close()
    kept = bytes(body[: MAX_ANSWER_BYTES + 1])
    response._body = kept  # what `read()`, `text()` and `json()` return from now on
    return kept


def _header_pairs(raw: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def _forget_cookies(jar: Any, cookies: tuple[tuple[str, str], ...]) -> None:
    """Take the cookies an auth answer set out of the session's jar, which would send
    them to every port of the provider's host, and on redirects (R10): the flow keeps
    them, and sends what the provider needs."""
    if cookies:
        jar.clear(lambda morsel: (morsel.key, morsel.value) in cookies)
