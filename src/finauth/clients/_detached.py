"""Renewals that outlive a cancelled caller, under asyncio.

asyncio cancels a caller (`asyncio.timeout`, `asyncio.wait_for`, `task.cancel()`) by
interrupting its task, and nothing inside that task can shield itself from it: a login
or refresh sent from the caller's task is abandoned midway, its token lost while others
wait for it, a rotated refresh token spent for nothing; anyio's cancel scopes on asyncio
do the same. (trio's cancel scopes are shielded in the caller's task; see `_httpx`.)

An httpx auth flow finds the client whose `send` runs it (or the client it is bound to,
`bind`) and carries out a renewal in a task of its own, through that client, from its
first auth call up to the user's request. The caller awaits that task shielded:
cancelled, it gets its CancelledError at once, and the task goes on alone, saves the
token, releases the flight and closes the flow. aiohttp's middleware always knows what
to send with (the request's session), and niquests' AsyncSession auth sends with a
session it has or opens, so they always renew this way.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Generator
from functools import partial
from typing import Any

import anyio
import httpx

from .._flow import Send, Step
from .._telemetry import sending
from .._wire import Answer, AuthCall
from .._worlds import in_loop
from ._httpx import HttpxAuth, _answer, _aread_at_most, _auth_request

logger = logging.getLogger("finauth")

_alone: set[asyncio.Task[Send | None]] = set()
"""Renewals whose caller was cancelled: asyncio keeps only weak references to tasks."""


class BoundAuth(HttpxAuth):
    """An auth as one `httpx.AsyncClient`'s: the same token, renewed with that client."""

    def __init__(self, auth: HttpxAuth, client: httpx.AsyncClient) -> None:
        self._auth = auth
        self._flow = auth._flow
        self.timeout = auth.timeout
        self._client = weakref.ref(client)

    def _sending_client(self) -> httpx.AsyncClient | None:
        return self._client()

    def __repr__(self) -> str:
        return f"{self._auth!r}.bind(...)"


def renewal_apart(
    auth: HttpxAuth, steps: Generator[Step, Any, None], request: httpx.Request
) -> RenewalApart | None:
    """The rest of `auth`'s renewal, sent apart from the caller with the client whose
    `send` runs the flow, under asyncio. None under trio, whose cancel scopes shield it
    in the caller's task, and without an open client to send with."""
    if not _on_asyncio():
        return None
    client = auth._sending_client()
    if client is None or client.is_closed:
        return None
    send = partial(_send, client, request, auth.timeout)
    return RenewalApart(steps, send, auth._flow.provider.name)


async def _send(
    client: httpx.AsyncClient, request: httpx.Request, timeout: float, call: AuthCall
) -> Answer:
    """`call` sent with `client`, not through its auth (nor redirects: R18)."""
    sent = _auth_request(call, request)
    deadline = anyio.current_time() + timeout
    with sending(call.span):
        response = await client.send(sent, auth=None, follow_redirects=False, stream=True)
    return _answer(call, sent, response, await _aread_at_most(response, deadline))


class RenewalApart:
    """The rest of a renewal, from an auth call up to the user's request, in its own task."""

    def __init__(
        self,
        steps: Generator[Step, Any, None],
        send: Callable[[AuthCall], Awaitable[Answer]],
        provider: str,
    ) -> None:
        self._steps = steps
        self._send = send
        self._provider = provider
        self.orphaned = False
        """Whether the caller was cancelled and left the flow to the task, which closes it."""

    async def until_sent(self, call: AuthCall) -> Send | None:
        """Carry out the flow from `call` to the user's request, which is returned (None
        when the flow ends first)."""
        task = asyncio.ensure_future(self._drive(call))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                self.orphaned = True
                _alone.add(task)
                task.add_done_callback(self._finished_alone)
            raise

    async def _drive(self, step: Step) -> Send | None:
        while not isinstance(step, Send):
            reply = await (self._send(step) if isinstance(step, AuthCall) else in_loop(step))
            try:
                step = self._steps.send(reply)
            except StopIteration:
                return None
        return step

    def _finished_alone(self, task: asyncio.Task[Send | None]) -> None:
        _alone.discard(task)
        self._steps.close()
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.info(
                "%s: a renewal whose caller was cancelled failed: %s", self._provider, error
            )


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
