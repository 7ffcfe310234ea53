"""The emulator's fault knobs: fail_next_refresh, tamper_next, reset_next, stall_next,
clock_skew and opaque_tokens, and how EmulatorServer acts out resets and stalls."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from finauth import Token
from finauth._provider import Provider
from finauth._wire import Answer, AuthCall
from finauth.clients._httpx import RequestView
from finauth.testing import (
    EMULATORS,
    Call,
    Emulator,
    EmulatorServer,
    FincruxEmulator,
    FinHubEmulator,
    Reply,
)
from finauth.testing._emulator import Reset

BASE_URL = "https://provider.test"
STALL = 60.0
"""Seconds of a stall that must end early: pytest-timeout fails the test long before."""
BOUND = 10.0
"""Seconds a thread is given to finish what must finish at once."""


# -- helpers: each provider's own login and refresh, through finauth's pure providers -----


def provider_of(emulator: Emulator) -> Provider:
    provider: Provider = emulator.auth(BASE_URL)._flow.provider
    return provider


def handled(emulator: Emulator, call: AuthCall) -> Reply:
    parts = urlsplit(call.url)
    return emulator.handle(
        Call(call.method, parts.path, parts.query, httpx.Headers(dict(call.headers)), call.body)
    )


def logged_in(emulator: Emulator) -> Token:
    provider = provider_of(emulator)
    call = provider.login_call()
    reply = handled(emulator, call)
    assert reply.status == 200
    return provider.read_login(Answer(call, reply.status, reply.headers, reply.body))


def refresh_of(emulator: Emulator, token: Token) -> AuthCall:
    call = provider_of(emulator).refresh_call(token)
    assert call is not None
    return call


def api_status(emulator: Emulator, token: Token) -> int:
    """What the provider's sample route answers a request carrying `token`."""
    request = httpx.Request("GET", BASE_URL + emulator.sample_path)
    provider_of(emulator).apply(RequestView(request), token)
    call = Call("GET", emulator.sample_path, "", request.headers, b"")
    return emulator.handle(call).status


def header(reply: Reply, name: str) -> list[str]:
    return [value for key, value in reply.headers if key.lower() == name.lower()]


@pytest.fixture(params=EMULATORS, ids=lambda emulator: emulator.name)
def emulator(request: pytest.FixtureRequest) -> Emulator:
    made: Emulator = request.param()
    return made


# -- fail_next_refresh ---------------------------------------------------------------------


def test_fail_next_refresh_answers_the_next_refresh_only(emulator: Emulator) -> None:
    emulator.fail_next_refresh(503, "<html>down</html>", headers=[("Retry-After", "3")])

    token = logged_in(emulator)  # logins are not affected
    failed = handled(emulator, refresh_of(emulator, token))

    assert (failed.status, failed.body) == (503, b"<html>down</html>")
    assert header(failed, "Content-Type") == ["text/html; charset=utf-8"]
    assert header(failed, "Retry-After") == ["3"]
    # Not handled: the refresh token is not spent, and the next refresh is the provider's own.
    assert handled(emulator, refresh_of(emulator, token)).status == 200
    assert (emulator.logins, emulator.refreshes) == (1, 2)


def test_fail_next_refresh_without_a_body_answers_the_refresh_failure(emulator: Emulator) -> None:
    token = logged_in(emulator)
    emulator.fail_next_refresh(401)

    failed = handled(emulator, refresh_of(emulator, token))

    assert failed == emulator.refresh_failure(401)
    assert json.loads(failed.body) == {"message": "refresh failed (401)"}


def test_fail_next_refresh_with_json(emulator: Emulator) -> None:
    token = logged_in(emulator)
    emulator.fail_next_refresh(200, {"unexpected": True})

    failed = handled(emulator, refresh_of(emulator, token))

    assert (failed.status, json.loads(failed.body)) == (200, {"unexpected": True})
    assert header(failed, "Content-Type") == ["application/json"]


def test_planned_answers_queue_up_in_order_for_each_kind() -> None:
    emulator = FincruxEmulator()
    token = logged_in(emulator)
    emulator.fail_next_refresh(500)
    emulator.tamper_next("refresh", lambda reply: replace(reply, status=299))
    emulator.fail_next_refresh(502)
    emulator.fail_next_login(503)

    statuses = [handled(emulator, refresh_of(emulator, token)).status for _ in range(3)]

    assert statuses == [500, 299, 502]
    assert handled(emulator, provider_of(emulator).login_call()).status == 503
    assert handled(emulator, provider_of(emulator).login_call()).status == 200


def test_a_rate_limit_comes_before_a_planned_refresh_answer() -> None:
    emulator = FincruxEmulator()
    token = logged_in(emulator)
    emulator.fail_next_refresh(500)
    emulator.rate_limit(1)

    first, second = (handled(emulator, refresh_of(emulator, token)) for _ in range(2))

    assert (first.status, second.status) == (429, 500)


def test_a_kind_that_is_neither_login_nor_refresh_is_refused() -> None:
    with pytest.raises(ValueError, match="'login' or 'refresh'"):
        FincruxEmulator().tamper_next(cast(Any, "logout"), lambda reply: reply)


# -- tamper_next --------------------------------------------------------------------------


def test_tamper_next_changes_the_providers_own_login_answer(emulator: Emulator) -> None:
    seen: list[Reply] = []

    def change(reply: Reply) -> Reply:
        seen.append(reply)
        return Reply(299, b"changed")

    emulator.tamper_next("login", change)

    tampered = handled(emulator, provider_of(emulator).login_call())

    assert (tampered.status, tampered.body) == (299, b"changed")
    (own,) = seen
    assert own.status == 200
    assert len(emulator.issued) == 2  # handled as usual: an access and a refresh token issued
    assert handled(emulator, provider_of(emulator).login_call()).status == 200  # once only


def test_tamper_next_on_a_refresh_spends_the_refresh_token(emulator: Emulator) -> None:
    token = logged_in(emulator)
    emulator.tamper_next("refresh", lambda reply: Reply(502, b"lost on the way"))

    assert handled(emulator, refresh_of(emulator, token)).status == 502

    # The provider did refresh: the refresh token it was given is spent.
    assert handled(emulator, refresh_of(emulator, token)).status == 401
    assert emulator.refreshes == 2


def test_reset_and_stall_mark_the_providers_own_answer(emulator: Emulator) -> None:
    emulator.reset_next("login")
    emulator.reset_next("login", "before")
    emulator.stall_next("login", 1.5)

    replies = [handled(emulator, provider_of(emulator).login_call()) for _ in range(4)]

    assert [(reply.reset, reply.stall) for reply in replies] == [
        ("midway", 0.0),
        ("before", 0.0),
        (None, 1.5),
        (None, 0.0),
    ]
    assert [reply.status for reply in replies] == [200] * 4
    assert emulator.logins == 4


# -- clock_skew ---------------------------------------------------------------------------


@pytest.mark.parametrize("skew", [-7200.0, 7200.0])
def test_tokens_are_stamped_and_checked_by_the_skewed_clock(
    emulator: Emulator, skew: float
) -> None:
    emulator.clock_skew = skew

    token = logged_in(emulator)

    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert abs(claims["iat"] - (time.time() + skew)) < 60
    assert claims["exp"] - claims["iat"] == emulator.token_ttl
    assert api_status(emulator, token) == 200  # live by the provider's own clock
    emulator.clock_skew = skew + 2 * emulator.token_ttl
    assert api_status(emulator, token) == 401  # expired, by a clock two lifetimes later


# -- opaque_tokens ------------------------------------------------------------------------


def test_opaque_tokens_are_no_jwts_but_work_as_the_jwts_behind_them() -> None:
    emulator = FincruxEmulator()
    emulator.opaque_tokens = True
    login = provider_of(emulator).login_call()

    body = json.loads(handled(emulator, login).body)

    access, refresh = body["access"], body["refresh"]
    for token in (access, refresh):
        assert token.startswith("opq_")
        assert token in emulator.issued
        with pytest.raises(jwt.DecodeError):
            jwt.get_unverified_header(token)
    assert emulator.verify(access, "access") is not None
    assert emulator.verify(refresh, "access") is None  # still of its own kind
    search = Call(
        "GET", emulator.sample_path, "", httpx.Headers({"Authorization": f"JWT {access}"}), b""
    )
    assert emulator.handle(search).status == 200
    emulator.expire_tokens()
    assert emulator.handle(search).status == 401


@pytest.mark.parametrize("emulator_class", [c for c in EMULATORS if c is not FincruxEmulator])
def test_opaque_tokens_log_in_refresh_and_call(emulator_class: type[Emulator]) -> None:
    """Through finauth and httpx in-process (finauth rejects Fincrux's: see test_faults.py)."""
    emulator = emulator_class()
    emulator.opaque_tokens = True
    auth = emulator.auth(BASE_URL)
    with httpx.Client(auth=auth, transport=emulator.httpx_transport()) as client:
        assert client.get(BASE_URL + emulator.sample_path).status_code == 200
        emulator.expire_tokens()
        assert client.get(BASE_URL + emulator.sample_path).status_code == 200

    token = auth.token
    assert token is not None
    assert token.access_token.startswith("opq_")
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 1, 1)


def test_a_finhub_session_ends_for_opaque_tokens_too() -> None:
    emulator = FinHubEmulator()
    emulator.opaque_tokens = True
    first = logged_in(emulator)
    second = logged_in(emulator)  # a new session ends the older one

    assert (api_status(emulator, first), api_status(emulator, second)) == (401, 200)


# -- EmulatorServer acting out resets and stalls ------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[FincruxEmulator, EmulatorServer]]:
    emulator = FincruxEmulator()
    with EmulatorServer(emulator) as server:
        yield emulator, server


def login_request(emulator: FincruxEmulator) -> bytes:
    body = json.dumps({"email": emulator.email, "password": emulator.password}).encode()
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def connect(server: EmulatorServer) -> socket.socket:
    address = urlsplit(server.base_url)
    assert address.hostname is not None
    assert address.port is not None
    return socket.create_connection((address.hostname, address.port), timeout=BOUND)


def read_until_closed(connection: socket.socket) -> tuple[bytes, OSError | None]:
    """Everything the server sends, and how the connection ended (None: a clean close)."""
    received = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except OSError as error:
            return received, error
        if not chunk:
            return received, None
        received += chunk


def split_answer(data: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return status, fields, body


def login_with_reset(
    served: tuple[FincruxEmulator, EmulatorServer], where: Reset
) -> tuple[bytes, OSError | None]:
    """A login over a raw socket, reset `where`: what arrived, and how it ended."""
    emulator, server = served
    emulator.reset_next("login", where)
    with connect(server) as connection:
        connection.sendall(login_request(emulator))
        return read_until_closed(connection)


def test_reset_before_the_answer_sends_nothing_then_a_rst(
    served: tuple[FincruxEmulator, EmulatorServer],
) -> None:
    emulator, _ = served
    received, ended = login_with_reset(served, "before")

    assert received == b""
    assert isinstance(ended, ConnectionResetError)
    assert emulator.logins == 1


def test_reset_midway_sends_the_head_and_half_the_body_then_a_rst(
    served: tuple[FincruxEmulator, EmulatorServer],
) -> None:
    received, ended = login_with_reset(served, "midway")

    status, fields, body = split_answer(received)
    assert status == "HTTP/1.1 200 OK"
    assert len(body) == int(fields["Content-Length"]) // 2 > 0
    assert isinstance(ended, ConnectionResetError)


def test_the_server_goes_on_serving_after_a_reset(
    served: tuple[FincruxEmulator, EmulatorServer],
) -> None:
    emulator, server = served
    login_with_reset(served, "midway")

    with httpx.Client() as client:
        answer = client.post(
            server.base_url + "/api/auth/login",
            json={"email": emulator.email, "password": emulator.password},
        )

    assert answer.status_code == 200
    assert emulator.logins == 2


def test_a_stalled_answer_is_held_back_then_sent_whole(
    served: tuple[FincruxEmulator, EmulatorServer],
) -> None:
    emulator, server = served
    emulator.stall_next("login", 1.0)

    with connect(server) as connection:
        connection.sendall(login_request(emulator))
        connection.settimeout(0.1)
        with pytest.raises(TimeoutError):
            connection.recv(1)  # a tenth of the stall: nothing yet
        connection.settimeout(BOUND)
        received = b""
        while b"\r\n\r\n" not in received or len(split_answer(received)[2]) < int(
            split_answer(received)[1]["Content-Length"]
        ):
            received += connection.recv(65536)

    status, _, body = split_answer(received)
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body)["success"] == "true"


def handler_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if "process_request_thread" in thread.name}


@pytest.mark.timeout(30)
def test_a_stall_ends_when_the_client_hangs_up(
    served: tuple[FincruxEmulator, EmulatorServer],
) -> None:
    emulator, server = served
    emulator.stall_next("login", STALL)
    before = handler_threads()

    with connect(server) as connection:
        connection.sendall(login_request(emulator))
        while emulator.logins == 0:  # the login is handled; its answer is being held back
            time.sleep(0.005)
        (handler,) = handler_threads() - before
    handler.join(BOUND)  # the client has hung up: the handler gives up its stall

    assert not handler.is_alive()
    assert emulator.logins == 1


@pytest.mark.timeout(30)
def test_a_stall_ends_when_the_server_stops() -> None:
    emulator = FincruxEmulator()
    emulator.stall_next("login", STALL)
    server = EmulatorServer(emulator).start()
    with connect(server) as connection:
        connection.sendall(login_request(emulator))
        while emulator.logins == 0:
            time.sleep(0.005)

        server.stop()  # returns, though a handler was stalling for a minute

        received, _ = read_until_closed(connection)
    assert received == b""  # the answer was never sent
