"""niquests' AsyncSession with `auth.as_async()`, against each provider's emulator over loopback.

The rules of SPEC §2 as they meet this adapter: the flow's decisions are the flow's
(tests/flow), but sending, re-sending, reading and releasing answers, waiting in the
event loop and the auth calls' own session are the adapter's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import anyio
import niquests
import pytest

import finauth._retry
from finauth import FinauthError, LoginError, ProviderResponseError, RateLimitedError
from finauth._auth import ProviderAuth
from finauth.testing import EMULATORS, Call, Emulator, EmulatorServer, Reply
from finauth.testing._clients import open_client

pytestmark = pytest.mark.niquests


@dataclass
class Served:
    """An emulator over loopback HTTP, and a ready auth for it."""

    emulator: Emulator
    base_url: str
    auth: ProviderAuth

    @property
    def sample_url(self) -> str:
        return self.base_url + self.emulator.sample_path

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.emulator.calls if call.path == path]


@pytest.fixture(params=EMULATORS, ids=lambda emulator: emulator.name)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    emulator: Emulator = request.param()
    with EmulatorServer(emulator) as server, emulator.auth(server.base_url) as auth:
        yield Served(emulator, server.base_url, auth)


Scenario = Callable[[niquests.AsyncSession], Awaitable[Any]]


def run(scenario: Scenario, served: Served, **options: Any) -> Any:
    """`await scenario(client)` in an event loop of its own (see `run_async`)."""
    return asyncio.run(run_async(scenario, served, **options))


async def run_async(scenario: Scenario, served: Served, **options: Any) -> Any:
    """`await scenario(client)`, `client` an AsyncSession using `served.auth`, or an auth
    made with `options` (`session=True`: the client itself)."""
    if not options:
        async with niquests.AsyncSession(auth=served.auth.as_async()) as client:
            return await scenario(client)
    async with niquests.AsyncSession() as client:
        if options.get("session") is True:
            options["session"] = client
        with served.emulator.auth(served.base_url, **options) as auth:
            client.auth = auth.as_async()
            return await scenario(client)


def test_logs_in_once_when_first_needed(served: Served) -> None:
    async def scenario(client: niquests.AsyncSession) -> list[int | None]:
        assert served.emulator.logins == 0  # building the auth and the session did no I/O
        responses = [await client.get(served.sample_url) for _ in range(3)]
        return [response.status_code for response in responses]

    assert run(scenario, served) == [200, 200, 200]
    assert served.emulator.logins == 1
    assert served.emulator.denials == 0


def test_a_revoked_token_is_renewed_once_and_the_request_sent_once_more(served: Served) -> None:
    emulator = served.emulator

    async def scenario(client: niquests.AsyncSession) -> niquests.Response:
        await client.get(served.sample_url)
        emulator.revoke_tokens()
        return await client.get(served.sample_url)

    response = run(scenario, served)
    assert response.status_code == 200
    assert response.json()  # the re-send's own answer, read by niquests as usual
    assert [earlier.status_code for earlier in response.history] == [401]
    assert response.history[0]._content  # the 401 was read and released before the renewal
    assert emulator.logins == 2  # the refresh token was revoked too: one fresh login
    assert len(served.calls_to(emulator.sample_path)) == 3  # 200, then 401 and its re-send


def test_a_401_on_the_re_send_is_returned_as_is(served: Served) -> None:
    served.emulator.route("GET", "/refused", json={"detail": "no"}, status=401)

    async def scenario(client: niquests.AsyncSession) -> niquests.Response:
        return await client.get(served.base_url + "/refused")

    response = run(scenario, served)
    assert response.status_code == 401
    assert [earlier.status_code for earlier in response.history] == [401]
    assert len(served.calls_to("/refused")) == 2


async def one_shot_body() -> AsyncIterator[bytes]:
    yield b'{"symbol": '
    yield b'"RELIANCE"}'


class AsyncFile:
    """A file with coroutine `read`, `tell` and `seek`, as aiofiles' are."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._position + size
        chunk, self._position = self._data[self._position : end], min(end, len(self._data))
        return chunk

    async def tell(self) -> int:
        return self._position

    async def seek(self, position: int) -> int:
        self._position = position
        return position

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read(4)
        if not chunk:
            raise StopAsyncIteration
        return chunk


@pytest.mark.parametrize(
    ("body", "re_sent"),
    [
        (lambda: b'{"symbol": "RELIANCE"}', True),
        (lambda: AsyncFile(b'{"symbol": "RELIANCE"}'), True),
        (one_shot_body, False),
    ],
    ids=["bytes", "async-file", "async-generator"],
)
def test_only_a_replayable_body_is_sent_again(
    served: Served, body: Callable[[], Any], re_sent: bool
) -> None:
    emulator = served.emulator
    emulator.route("POST", "/orders", json={"placed": True})

    async def scenario(
        client: niquests.AsyncSession,
    ) -> tuple[int | None, list[int | None], int | None]:
        await client.get(served.sample_url)
        emulator.revoke_tokens()
        response = await client.post(served.base_url + "/orders", data=body())
        after = await client.post(served.base_url + "/orders", data=b"{}")
        return (
            response.status_code,
            [earlier.status_code for earlier in response.history],
            after.status_code,
        )

    status, history, after = run(scenario, served)
    orders = served.calls_to("/orders")
    if re_sent:
        assert (status, history) == (200, [401])
        assert [call.body for call in orders[:2]] == [b'{"symbol": "RELIANCE"}'] * 2
    else:
        assert (status, history) == (401, [])
        assert orders[0].body == b'{"symbol": "RELIANCE"}'
    # Either way the refused token is not sent again: the next request renews first.
    assert after == 200
    assert len(orders) == (3 if re_sent else 2)


def test_a_token_about_to_expire_is_refreshed_before_sending(served: Served) -> None:
    emulator = served.emulator
    emulator.token_ttl = 2  # renewed past half its life: the margin is at most that

    async def scenario(client: niquests.AsyncSession) -> niquests.Response:
        await client.get(served.sample_url)
        await asyncio.sleep(1.2)
        return await client.get(served.sample_url)

    response = run(scenario, served)
    assert response.status_code == 200
    assert response.history == []
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 1, 0)


LOGIN_STALL = 1.5
"""Seconds a storm's login answer is held back: the renewal takes at least this."""


def test_a_storm_makes_one_renewal_and_never_blocks_the_event_loop(served: Served) -> None:
    emulator = served.emulator

    async def scenario(client: niquests.AsyncSession) -> tuple[list[int | None], float, float]:
        await client.get(served.sample_url)
        logins, refreshes = emulator.logins, emulator.refreshes
        emulator.revoke_tokens()
        emulator.stall_next("login", LOGIN_STALL)
        gaps: list[float] = []
        storming = True

        async def tick() -> None:
            while storming:
                before = time.perf_counter()
                await asyncio.sleep(0.002)
                gaps.append(time.perf_counter() - before)

        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        responses = await asyncio.gather(*(client.get(served.sample_url) for _ in range(64)))
        took = time.perf_counter() - started
        storming = False
        await ticker
        assert emulator.logins - logins == 1
        assert emulator.refreshes - refreshes <= 1  # tried first, refused: revoked too
        return [response.status_code for response in responses], max(gaps), took

    statuses, longest_gap, took = run(scenario, served)
    assert statuses == [200] * 64
    assert took >= LOGIN_STALL
    # The loop went on while the renewal and 63 waiters waited: a blocking wait would
    # have stalled it for the whole renewal. (What it does stall for is the CPU of 64
    # requests and of the emulator's threads, with the GIL: tenths on a busy machine.)
    assert longest_gap < LOGIN_STALL
    assert took < 30


def test_auth_calls_carry_none_of_the_sessions_cookies_or_authorization(
    served: Served,
) -> None:
    emulator = served.emulator
    emulator.tamper_next(
        "login",
        lambda reply: replace(reply, headers=(*reply.headers, ("Set-Cookie", "csrftoken=c1"))),
    )

    async def scenario(client: niquests.AsyncSession) -> niquests.Response:
        client.cookies["sessionid"] = "users-own"
        client.headers["Authorization"] = "Basic dXNlcjpwYXNz"
        client.headers["X-Trace"] = "t-1"
        response = await client.get(served.sample_url)
        assert {cookie.name for cookie in client.cookies} == {"sessionid"}
        return response

    response = run(scenario, served, session=True)
    assert response.status_code == 200
    login, api_call = emulator.calls[0], emulator.calls[-1]
    assert emulator.logins == 1
    assert login.path != emulator.sample_path
    assert login.headers["X-Trace"] == "t-1"  # the session's other settings do apply
    assert "users-own" not in login.headers.get("Cookie", "")
    assert login.headers.get("Authorization") != "Basic dXNlcjpwYXNz"
    assert "csrftoken" not in api_call.headers.get("Cookie", "")  # R18


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (lambda emulator: emulator.fail_next_login(401), LoginError),
        (
            lambda emulator: emulator.fail_next_login(200, "<html>Gateway</html>"),
            ProviderResponseError,
        ),
        (lambda emulator: emulator.rate_limit(3), RateLimitedError),
    ],
    ids=["rejected", "unusable", "rate-limited"],
)
def test_login_errors_surface_as_finauths_own(
    served: Served,
    fault: Callable[[Emulator], None],
    error: type[FinauthError],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(finauth._retry, "delay", lambda attempt, retry_after: 0.01)
    fault(served.emulator)

    async def scenario(client: niquests.AsyncSession) -> int | None:
        with pytest.raises(error) as raised:
            await client.get(served.sample_url)
        assert raised.value.provider == served.emulator.name
        response = await client.get(served.sample_url)  # the fault has passed
        return response.status_code

    assert run(scenario, served) == 200


def test_an_auth_call_is_bounded_by_the_auths_timeout(served: Served) -> None:
    served.emulator.stall_next("login", 5)

    async def scenario(client: niquests.AsyncSession) -> float:
        started = time.perf_counter()
        with pytest.raises(niquests.exceptions.ReadTimeout):
            await client.get(served.sample_url)
        return time.perf_counter() - started

    assert run(scenario, served, timeout=0.3) < 3


def test_credentials_stay_off_a_redirect_to_another_origin(served: Served) -> None:
    elsewhere_emulator = type(served.emulator)()
    elsewhere_emulator.handle_route("GET", "/landing", lambda call: Reply.json({"ok": 1}, 200))
    emulator = served.emulator
    with EmulatorServer(elsewhere_emulator) as elsewhere:
        away = Reply(302, headers=(("Location", elsewhere.base_url + "/landing"),))
        emulator.handle_route(
            "GET", "/away", lambda call: away if emulator.authorized(call) else emulator.deny()
        )

        async def scenario(client: niquests.AsyncSession) -> list[niquests.Response]:
            first = await client.get(served.base_url + "/away")
            emulator.revoke_tokens()
            return [first, await client.get(served.base_url + "/away")]

        responses = run(scenario, served)
    assert [response.status_code for response in responses] == [200, 200]
    # niquests, as requests, makes the history the redirects', the 401 before them left out
    assert [earlier.status_code for earlier in responses[1].history] == [302]
    assert len(served.calls_to("/away")) == 3  # 302, then 401 and its re-send
    landed = elsewhere_emulator.calls
    assert len(landed) == 2
    for call in landed:
        assert "Authorization" not in call.headers
        assert "X-Tenant-ID" not in call.headers
        assert "DT_AUTH_TOKEN" not in call.headers.get("Cookie", "")


def test_a_redirect_answering_the_re_send_carries_the_renewed_token(served: Served) -> None:
    emulator = served.emulator
    emulator.route("GET", "/landing")
    hop = Reply(302, headers=(("Location", served.base_url + "/landing"),))
    emulator.handle_route(
        "GET", "/hop", lambda call: hop if emulator.authorized(call) else emulator.deny()
    )

    async def scenario(client: niquests.AsyncSession) -> niquests.Response:
        await client.get(served.sample_url)
        emulator.revoke_tokens()
        return await client.get(served.base_url + "/hop")

    # niquests, as requests, rebuilds a redirect's Cookie header from its jar, so Finvera's
    # cookie never survives a redirect (a gap the README documents): its bearer scheme does.
    bearer = {"scheme": "bearer"} if emulator.name == "Finvera" else {}
    response = run(scenario, served, **bearer)
    assert response.status_code == 200  # not the refused token, which the hop would refuse
    assert len(served.calls_to("/landing")) == 1


def test_open_client_drives_the_adapter(served: Served) -> None:
    with open_client("niquests-async", auth=served.auth) as fetch:
        first = fetch("GET", served.sample_url)
        served.emulator.revoke_tokens()
        again = fetch("GET", served.sample_url)
    assert (first.status_code, first.history) == (200, [])
    assert (again.status_code, again.history) == (200, [401])


def test_repr_shows_no_secret(served: Served) -> None:
    shown = repr(served.auth.as_async())
    assert shown == f"{served.auth!r}.as_async()"
    assert served.emulator.credentials()["password"] not in shown


def test_a_cancelled_caller_leaves_the_renewal_to_finish_for_the_others(served: Served) -> None:
    """Cancelled by an anyio scope while its login is on the way, a caller leaves the login
    to finish: the caller after it uses its token. (asyncio's own `Task.cancel` reaches
    through anyio's shield: the next caller then renews.)"""
    emulator = served.emulator
    emulator.stall_next("login", LOGIN_STALL)

    async def scenario(client: niquests.AsyncSession) -> int | None:
        with anyio.move_on_after(LOGIN_STALL / 3) as scope:
            await client.get(served.sample_url)
        assert scope.cancelled_caught
        response = await client.get(served.sample_url)
        return response.status_code

    assert anyio.run(run_async, scenario, served) == 200
    assert emulator.logins == 1


def test_an_async_session_given_carries_none_of_the_sync_sessions_logins() -> None:
    """niquests' AsyncSession is a Session too: given as `session=`, it carries the
    AsyncSession's logins, and a sync Session's go through a private one."""
    emulator = EMULATORS[0]()

    async def given_async_session() -> niquests.AsyncSession:
        return niquests.AsyncSession()

    given = asyncio.run(given_async_session())
    with EmulatorServer(emulator) as server, niquests.Session() as session:
        auth = emulator.auth(server.base_url, session=given)
        answer = session.get(server.base_url + emulator.sample_path, auth=auth)
        assert answer.status_code == 200
        assert auth.session_for(niquests) is not given
        auth.close()
    assert emulator.logins == 1
