"""The niquests AsyncSession adapter: `AsyncSession(auth=auth.as_async())`.

niquests tells an async auth from a sync one by its `__call__`, and awaits the response
hooks that are coroutines. Otherwise this is the requests adapter, as niquests' own
`AsyncHTTPDigestAuth` is its `HTTPDigestAuth`: `__call__` attaches the token and
registers a response hook; on a 401 the hook renews the token and re-sends a copy of the
request through the same connection adapter, and at each redirect hop that leaves the
origin it takes the credentials back. Pauses and locks wait in the event loop
(`in_loop`), store calls in a worker thread: the loop is never blocked.

Login and refresh calls go through your `session=` when it is an AsyncSession (R13), else
through a private one opened for the call and closed once it is answered: an
AsyncSession's connections belong to the event loop that opened them, so one kept for
later would fail in the next loop, and a sync `close()` could not close it in its own.
They run in a task of their own, as aiohttp's do (see `_detached`): a cancelled caller
leaves its renewal to finish.
"""

from __future__ import annotations

from contextlib import aclosing, suppress
from inspect import iscoroutinefunction
from typing import TYPE_CHECKING, Any, cast

from .._flow import Send, Steps
from .._telemetry import sending
from .._token import Token
from .._wire import MAX_ANSWER_BYTES, Answer, AuthCall
from .._worlds import in_loop
from ._requests import _REDIRECTS, PreparedView, _as_built

if TYPE_CHECKING:
    import requests
    from niquests import AsyncResponse, AsyncSession, PreparedRequest

    from .._auth import ProviderAuth


class AsyncPreparedView(PreparedView):
    """The flow's view of a request of niquests' AsyncSession, whose body may also be an
    async file (`tell` and `seek` coroutines, as aiofiles' are): replayable once its start
    is known (`find_async_start`), and rewound by `restart_body` before the re-send (R5)."""

    __slots__ = ("_async_start",)

    def __init__(self, prepared: PreparedRequest) -> None:
        # PreparedView serves niquests' sync Session too: their PreparedRequests are alike.
        super().__init__(prepared)  # type: ignore[arg-type]
        self._async_start: int | None = None

    async def find_async_start(self) -> None:
        """Where an async file body starts, if the body is one."""
        tell = getattr(self.prepared.body, "tell", None)
        if tell is not None and iscoroutinefunction(tell):
            with suppress(OSError, ValueError):
                position = await tell()
                self._async_start = position if isinstance(position, int) else None

    @property
    def sent(self) -> PreparedRequest:
        """The request as niquests sends it now: a copy of it, once rewound."""
        return self.prepared  # type: ignore[return-value]

    @property
    def replayable(self) -> bool:
        return super().replayable or self._async_start is not None

    async def restart_body(self) -> None:
        """Rewind an async file body, as `rewind` rewinds a file."""
        if self._async_start is not None:
            await self.prepared.body.seek(self._async_start)  # type: ignore[union-attr]


class AsyncRequestsAuth:
    """A login-based auth for niquests' AsyncSession, made by `ProviderAuth.as_async()`: the
    same account, token, store and single flight as the auth it comes from."""

    def __init__(self, auth: ProviderAuth) -> None:
        self._auth = auth
        self._answered_hook = self._answered
        """Bound once, as the requests adapter's is (see there why)."""

    async def __call__(self, r: PreparedRequest) -> PreparedRequest:
        """Attach the token; a request sent with the cached one runs no flow, unless it is
        answered 401. As with requests, one whose body needs no position remembered for a
        re-send keeps only that token, for the auth's own hook (`_answered`), and gets the
        header lines written down for it where the provider only sets headers."""
        flow, as_built = self._auth._flow, _as_built(r.body)
        # A prepared request's headers are there, and its names and values str.
        headers: Any = r.headers
        token = flow.attach_written_down(r.url or "", headers) if as_built else None
        if token is None:
            view = AsyncPreparedView(r)
            if not as_built:
                await view.find_async_start()
            token = flow.attached(view)
            if token is None or not as_built:
                return await self._prepared_by_flow(r, view, token)
        r._finauth_sent_with = token  # type: ignore[attr-defined]
        r.hooks["response"].append(self._answered_hook)  # type: ignore[arg-type]
        return r

    async def _prepared_by_flow(
        self, r: PreparedRequest, view: AsyncPreparedView, token: Token | None
    ) -> PreparedRequest:
        """As the requests adapter's: `r`, its flow run up to its sending, and a hook that
        holds its view and flow until the response comes."""
        sent_with: Steps[None] | Token | None = token
        if sent_with is None:
            sent_with = self._auth._flow.authenticate(view)
            if not isinstance(await self._run(sent_with, None), Send):
                return r
        hook = _ResponseHook(self, view, sent_with).on_response
        # What `register_hook` does, without its checks of the hook on every request.
        r.hooks["response"].append(hook)  # type: ignore[arg-type]
        return r

    async def _answered(self, response: AsyncResponse, **send: Any) -> AsyncResponse:
        """The requests adapter's `_answered`, awaited by niquests: a 401 to a request sent
        with the cached token renews it and re-sends once (R4); a redirect that leaves the
        origin takes the credentials back (R10)."""
        # Each attribute of an AsyncResponse is read through its `__getattribute__`: once.
        request, status = response.request, response.status_code
        if request is None:
            return response
        if status == 401:
            token = vars(request).pop("_finauth_sent_with", None)
            if token is not None:  # else a copy made for a redirect: not the request we prepared
                view = AsyncPreparedView(request)
                steps = self._auth._flow.answered_401(view, token)
                return await self._on_response(steps, None, view, response, **send)
        elif status in _REDIRECTS:
            self._withdraw_if_leaving(response, request)
        return response

    def __repr__(self) -> str:
        return f"{self._auth!r}.as_async()"

    def _withdraw_if_leaving(self, response: AsyncResponse, followed: PreparedRequest) -> None:
        """As the requests adapter does, before niquests follows a redirect (R10)."""
        self._auth._withdraw_if_leaving(
            cast("requests.Response", response), cast("requests.PreparedRequest", followed)
        )

    async def _on_response(
        self,
        steps: Steps[None],
        reply: int | None,
        view: AsyncPreparedView,
        response: AsyncResponse,
        **send: Any,
    ) -> AsyncResponse:
        """The flow's last part, given `reply` (the status, or None to a flow that starts
        at the 401): the 401 renewed and re-sent once, or nothing to do.

        A failed or cancelled re-send closes the flow here; `_run` closes it when it
        fails, unless a renewal left to finish without its caller still runs it.
        """
        view.response = cast("requests.Response", response)
        resend = await self._run(steps, reply, response)
        if resend is None:
            return response
        original = response.request
        try:
            await view.restart_body()
            with sending(resend.span):
                again: AsyncResponse = await response.connection.send(view.sent, **send)
        except BaseException:
            steps.close()
            raise
        again.history.append(response)
        again.request = view.sent
        await self._run(steps, again.status_code, again)
        if again.is_redirect and original is not None:
            # niquests follows the redirect by copying the request it was given, not
            # the copy re-sent here: that one must carry what the re-send carried,
            # never the refused token, and nothing of it past the origin (R18).
            original.prepare_headers(view.headers)
            self._withdraw_if_leaving(again, original)
        return again

    async def _run(
        self, steps: Steps[Any], reply: object, finished: AsyncResponse | None = None
    ) -> Send | None:
        """Run the flow until it wants the user's request sent (that Send), or to its end.

        `finished` is the response just given to the flow: if the flow goes on, it is
        done with it, so its connection is released before any auth call (R6). From its
        first auth call on, the flow runs in a task of its own (`RenewalApart`): a caller
        cancelled meanwhile (`asyncio.timeout`) leaves the renewal to finish for the
        callers after it.
        """
        orphaned = False
        try:
            while True:
                try:
                    step = steps.send(reply)
                except StopIteration:
                    return None
                if finished is not None:
                    await _read_and_release(finished)
                    finished = None
                if isinstance(step, AuthCall):
                    from ._detached import RenewalApart  # here: it imports anyio

                    apart = RenewalApart(steps, self._call, self._auth._flow.provider.name)
                    try:
                        return await apart.until_sent(step)
                    finally:
                        orphaned = apart.orphaned
                if isinstance(step, Send):
                    return step
                reply = await in_loop(step)
        except BaseException:
            if not orphaned:
                steps.close()
            raise

    async def _call(self, call: AuthCall) -> Answer:
        """`call`, sent through your `session=` if it is an AsyncSession, else through a
        private one, closed once the call is answered (see the module's docstring)."""
        import niquests

        given = self._auth._session
        if isinstance(given, niquests.AsyncSession):
            return await self._call_through(call, given)
        private = niquests.AsyncSession()
        try:
            return await self._call_through(call, private)
        finally:
            await _shielded_close(private)

    async def _call_through(self, call: AuthCall, session: AsyncSession) -> Answer:
        """Send an auth call through `session`'s adapter, as the requests adapter does: its
        proxies, TLS settings and hooks, but not its cookies or auth, never following a
        redirect, and the cookies the answer sets kept out of its jar (R10).

        The whole answer comes within the auth's timeout (R15), where niquests' own timeout
        bounds each read only. It runs in the renewal's own task, shielded too: other
        callers may be waiting for its answer (R6).
        """
        import anyio
        import niquests
        from niquests.hooks import async_dispatch_hook

        headers: dict[str | bytes, str | bytes] = {
            name: value
            for name, value in session.headers.items()
            if name.lower() not in ("authorization", "cookie")
        }
        headers.update(call.headers.items())
        request = niquests.Request(
            call.method,
            call.url,
            headers=headers,
            data=call.body,
        ).prepare()
        settings = session.merge_environment_settings(call.url, {}, True, None, None)
        # Streamed, so that no more than MAX_ANSWER_BYTES is ever read (R15).
        options: dict[str, Any] = {"timeout": self._auth.timeout, **settings}
        deadline = anyio.current_time() + self._auth.timeout
        with anyio.CancelScope(deadline=deadline, shield=True):
            with sending(call.span):
                sent = await session.get_adapter(call.url).send(request, **options)
            hooks = session.hooks  # typed for any hook's data, as niquests' own call ignores
            hooked = await async_dispatch_hook("response", hooks, sent, **options)  # type: ignore[arg-type]
            return await answer_from(call, hooked)
        raise niquests.ReadTimeout(
            f"{call.provider} {call.purpose} at {call.endpoint} was not answered in full "
            f"within the auth's timeout of {self._auth.timeout:g} s",
            request=request,
        )


class _ResponseHook:
    """`AsyncRequestsAuth._on_response` for one request, holding its view and its flow, or
    the cached token it was sent with, until the response has come, as the requests
    adapter's `_ResponseHook` does (see there why).

    niquests awaits a hook only if it is a coroutine function: `on_response` is
    registered, not the hook itself.
    """

    __slots__ = ("_auth", "_state")

    def __init__(
        self, auth: AsyncRequestsAuth, view: AsyncPreparedView, sent_with: Steps[None] | Token
    ) -> None:
        self._auth = auth
        self._state: tuple[AsyncPreparedView, Steps[None] | Token] | None = (view, sent_with)

    async def on_response(self, response: AsyncResponse, **send: Any) -> AsyncResponse:
        # Each attribute of an AsyncResponse is read through its `__getattribute__`: once.
        request, status = response.request, response.status_code
        if status in _REDIRECTS and request is not None:
            self._auth._withdraw_if_leaving(response, request)
        if self._state is None or request is not self._state[0].sent:
            return response  # a copy made for a redirect: not the request we prepared
        (view, sent_with), self._state = self._state, None  # its flow runs to the end now
        if not isinstance(sent_with, Token):
            return await self._auth._on_response(sent_with, status, view, response, **send)
        if status != 401:
            return response  # sent with the cached token, and taken
        steps = self._auth._auth._flow.answered_401(view, sent_with)
        return await self._auth._on_response(steps, None, view, response, **send)


async def answer_from(call: AuthCall, response: AsyncResponse) -> Answer:
    """The neutral Answer of an AsyncSession response, read and closed."""
    body = await _read_and_release(response)
    assert response.raw is not None, "an answer from the network has its raw response"
    pairs = tuple(response.raw.headers.items())  # each header line, repeated ones apart
    return Answer(call, response.status_code or 0, pairs, body)


async def _read_and_release(response: AsyncResponse) -> bytes:
    """The body of `response`, which is then closed, its connection back in the pool, so
    that no caller holds one while it waits for a renewal (R6).

    Past MAX_ANSWER_BYTES no more is read, and what was read is kept one byte over the
    cap, for the flow to refuse (R15). niquests gives it as the response's content.
    """
    if response._content_consumed:
        await _shielded_close(response)
        return response._content or b""
    body = bytearray()
    try:
        async with aclosing(await response.iter_content(64 * 1024)) as chunks:
            async for chunk in chunks:
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    break
    finally:
        await _shielded_close(response)
    response._content = bytes(body[: MAX_ANSWER_BYTES + 1])
    response._content_consumed = True
    return response._content


async def _shielded_close(closeable: AsyncResponse | AsyncSession) -> None:
    """Close `closeable`, even in a cancelled scope: a connection is never left open."""
    import anyio

    with anyio.CancelScope(shield=True):
        await closeable.close()
