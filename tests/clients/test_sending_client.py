"""Which client sends an httpx AsyncClient's login: under asyncio, the client whose `send`
runs the auth, from a task of its own (`_detached`), found in the frame that runs the
flow; only if that frame runs this very auth. An auth wrapped in another, or under trio,
yields its login from the flow, the way every httpx auth sends requests.

Either way the login is a request of the user's client: its event hooks see it.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import httpx
import pytest

from conftest import CLIENTS, Rig

pytestmark = [
    pytest.mark.parametrize("transport", ["loopback"]),
    pytest.mark.parametrize("provider", ["Fincrux", "FinHub"]),
]


def wrapping(package: str, inner: httpx.Auth) -> httpx.Auth:
    """An auth of `package` (httpx or httpx2) whose flow is `inner`'s, passed through."""

    class Wrapping(importlib.import_module(package).Auth):  # type: ignore[misc]
        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            flow = inner.async_auth_flow(request)
            sent = await flow.__anext__()
            while True:
                response = yield sent
                try:
                    sent = await flow.asend(response)
                except StopAsyncIteration:
                    return

    wrapper: httpx.Auth = Wrapping()
    return wrapper


@pytest.mark.parametrize("client_name", ["httpx-asyncio", "httpx2-asyncio", "httpx-trio"])
@pytest.mark.parametrize("wrapped", [False, True], ids=["own", "wrapped"])
def test_a_login_goes_apart_only_from_the_client_that_runs_the_auth(
    rig: Rig, wrapped: bool
) -> None:
    auth = rig.auth()
    hooked: list[str] = []

    async def seen(request: Any) -> None:
        hooked.append(request.method)

    async def call() -> tuple[int, list[str]]:
        library = importlib.import_module(rig.package)
        given = wrapping(rig.package, auth) if wrapped else auth
        async with library.AsyncClient(auth=given, event_hooks={"request": [seen]}) as client:
            response = await client.get(rig.url())
        return response.status_code, [earlier.request.method for earlier in response.history]

    status, history = anyio.run(call, backend=CLIENTS[rig.client][1])

    assert status == 200
    assert hooked == ["POST", "GET"]
    assert history == ([] if rig.renews_apart and not wrapped else ["POST"])
    assert rig.emulator.logins == 1
