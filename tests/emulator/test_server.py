"""EmulatorServer: an emulator over real HTTP on 127.0.0.1, keep-alive, stopped cleanly."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NoReturn

import anyio
import httpx
import pytest
import requests

from finauth import FincruxJWTAuth
from finauth.testing import Call, EmulatorServer, FincruxEmulator, Reply
from finauth.testing.fincrux import DEMO_API_KEY, DEMO_EMAIL, DEMO_PASSWORD, SEARCH_PATH

LOGIN_PATH = "/api/auth/login"
CREDENTIALS = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
TIMEOUT = 5.0
SETTLE = 2.0
"""Seconds allowed for threads to finish once stop() has returned."""


class CookieEmulator(FincruxEmulator):
    """Fincrux plus an unprotected `GET /cookies` whose reply repeats headers."""

    def handle(self, call: Call) -> Reply:
        if call.path == "/cookies":
            self.calls.append(call)
            return Reply(
                200,
                b"cookies set",
                (("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"), ("X-Multi", "1")),
            )
        return super().handle(call)


# -- helpers ---------------------------------------------------------------------------------
def port_of(server: EmulatorServer) -> int:
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/.*)?", server.base_url)
    assert match is not None, server.base_url
    return int(match.group(1))


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
            return False
    except ConnectionRefusedError:
        return True


def stop_within(server: EmulatorServer, seconds: float = TIMEOUT) -> float:
    """Run server.stop() in a helper thread; fail (not hang) if it takes too long."""
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            server.stop()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    started = time.monotonic()
    stopper = threading.Thread(target=stop, name="test stopper")
    stopper.start()
    stopper.join(seconds)
    assert not stopper.is_alive(), f"EmulatorServer.stop() still running after {seconds} s"
    assert errors == []
    return time.monotonic() - started


def leftover_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since `before` that are still alive after a short grace period."""
    deadline = time.monotonic() + SETTLE
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread for thread in threading.enumerate() if thread not in before]


def server_threads() -> list[threading.Thread]:
    return [
        thread
        for thread in threading.enumerate()
        if re.fullmatch(r"finauth .* emulator", thread.name)
        or "process_request_thread" in thread.name
    ]


def login_tokens(session: requests.Session, base_url: str) -> dict[str, str]:
    with session.post(base_url + LOGIN_PATH, json=CREDENTIALS, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        tokens: dict[str, str] = response.json()
    return tokens


@pytest.fixture
def emulator() -> CookieEmulator:
    return CookieEmulator()


@pytest.fixture
def server(emulator: CookieEmulator) -> Iterator[EmulatorServer]:
    server = EmulatorServer(emulator).start()
    try:
        yield server
    finally:
        stop_within(server)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # loopback only, whatever proxies the environment names
        yield session


# -- address ---------------------------------------------------------------------------------
def test_binds_127_0_0_1_on_a_free_port(server: EmulatorServer) -> None:
    port = port_of(server)

    assert server.base_url == f"http://127.0.0.1:{port}"
    assert 0 < port < 65536
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT):
        pass


def test_two_servers_get_two_ports(server: EmulatorServer) -> None:
    with EmulatorServer(FincruxEmulator()) as other:
        assert port_of(other) != port_of(server)
        stop_within(other)


def test_base_url_carries_the_emulators_prefix() -> None:
    emulator = FincruxEmulator(prefix="/v1")
    with EmulatorServer(emulator) as server, requests.Session() as session:
        session.trust_env = False
        assert server.base_url == f"http://127.0.0.1:{port_of(server)}/v1"
        tokens = login_tokens(session, server.base_url)
        with session.get(
            server.base_url + SEARCH_PATH,
            headers={"Authorization": f"JWT {tokens['access']}"},
            timeout=TIMEOUT,
        ) as response:
            assert response.status_code == 200
        stop_within(server)
    assert emulator.calls[0].path == "/v1" + LOGIN_PATH


def test_context_manager_starts_and_stops() -> None:
    before = set(threading.enumerate())
    statuses: list[int] = []
    ports: list[int] = []

    def use() -> None:
        with EmulatorServer(FincruxEmulator()) as server:
            ports.append(port_of(server))
            with httpx.Client(trust_env=False) as client:
                statuses.append(
                    client.get(server.base_url + SEARCH_PATH, timeout=TIMEOUT).status_code
                )

    user = threading.Thread(target=use, name="test user")
    user.start()
    user.join(TIMEOUT)
    assert not user.is_alive(), "leaving the with block should stop the server promptly"
    assert statuses == [401]
    assert refuses_connections(ports[0])
    assert leftover_threads(before) == []


# -- serving ---------------------------------------------------------------------------------
def test_serves_requests(
    server: EmulatorServer, emulator: CookieEmulator, session: requests.Session
) -> None:
    tokens = login_tokens(session, server.base_url)
    assert tokens["success"] == "true"
    url = server.base_url + SEARCH_PATH

    with session.get(url, timeout=TIMEOUT) as denied:
        assert denied.status_code == 401
        assert denied.json()["code"] == "token_not_valid"
        assert denied.headers["WWW-Authenticate"]
    with session.get(
        url, headers={"Authorization": f"JWT {tokens['access']}"}, timeout=TIMEOUT
    ) as ok:
        assert ok.status_code == 200
        assert ok.json()["results"][0]["symbol"] == "RELIANCE"
    with session.get(url, params={"api_key": DEMO_API_KEY}, timeout=TIMEOUT) as by_key:
        assert by_key.status_code == 200

    login_call = emulator.calls[0]
    assert (login_call.method, login_call.path) == ("POST", LOGIN_PATH)
    assert login_call.json() == CREDENTIALS
    assert login_call.headers["content-type"] == "application/json"
    assert emulator.calls[-1].params == {"api_key": DEMO_API_KEY}
    assert (emulator.logins, emulator.denials) == (1, 1)


def test_serves_httpx(server: EmulatorServer, emulator: CookieEmulator) -> None:
    with httpx.Client(base_url=server.base_url, timeout=TIMEOUT, trust_env=False) as client:
        login = client.post(LOGIN_PATH, json=CREDENTIALS)
        assert login.status_code == 200
        access = login.json()["access"]
        assert client.get(SEARCH_PATH).status_code == 401
        ok = client.get(SEARCH_PATH, headers={"Authorization": f"JWT {access}"})
        assert ok.status_code == 200
        assert ok.json()["query"] == "RELIANCE"
        missing = client.get("/nowhere")
        assert missing.status_code == 404
        assert "GET /nowhere" in missing.json()["message"]
    assert (emulator.logins, emulator.denials) == (1, 1)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_serves_httpx_async(server: EmulatorServer, backend: str) -> None:
    statuses: list[int] = []

    async def main() -> None:
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=TIMEOUT, trust_env=False
        ) as client:
            login = await client.post(LOGIN_PATH, json=CREDENTIALS)
            statuses.append(login.status_code)
            access = login.json()["access"]
            for _ in range(3):
                response = await client.get(SEARCH_PATH, headers={"Authorization": f"JWT {access}"})
                statuses.append(response.status_code)

    anyio.run(main, backend=backend)

    assert statuses == [200, 200, 200, 200]


def test_serves_an_auth_object_end_to_end(server: EmulatorServer, emulator: CookieEmulator) -> None:
    with (
        FincruxJWTAuth(DEMO_EMAIL, DEMO_PASSWORD, base_url=server.base_url) as auth,
        httpx.Client(auth=auth, timeout=TIMEOUT, trust_env=False) as client,
    ):
        assert client.get(server.base_url + SEARCH_PATH).status_code == 200
        emulator.revoke_tokens()
        assert client.get(server.base_url + SEARCH_PATH).status_code == 200
    assert emulator.logins == 2


def test_repeated_response_headers_and_cookies_survive(
    server: EmulatorServer, session: requests.Session
) -> None:
    with session.get(server.base_url + "/cookies", timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert session.cookies.get("a") == "1"
    assert session.cookies.get("b") == "2"


def test_concurrent_clients_are_served(server: EmulatorServer) -> None:
    url = server.base_url + SEARCH_PATH

    def fetch(_: int) -> int:
        with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
            return client.get(url, params={"api_key": DEMO_API_KEY}).status_code

    # an idle connection that never sends a request must not block anyone
    with (
        socket.create_connection(("127.0.0.1", port_of(server)), timeout=TIMEOUT),
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        statuses = list(pool.map(fetch, range(16)))

    assert statuses == [200] * 16


# -- keep-alive ------------------------------------------------------------------------------
def test_keep_alive_with_requests(server: EmulatorServer, session: requests.Session) -> None:
    tokens = login_tokens(session, server.base_url)
    url = server.base_url + SEARCH_PATH
    statuses = []
    for headers in (
        {"Authorization": f"JWT {tokens['access']}"},
        {},
        {"Authorization": "JWT garbage"},
        {"Authorization": f"JWT {tokens['access']}"},
    ):
        with session.get(url, headers=headers, timeout=TIMEOUT) as response:
            statuses.append(response.status_code)
    with session.post(server.base_url + "/nowhere", data=b"x" * 1000, timeout=TIMEOUT) as r:
        statuses.append(r.status_code)
    with session.get(url, params={"api_key": DEMO_API_KEY}, timeout=TIMEOUT) as response:
        statuses.append(response.status_code)

    assert statuses == [200, 401, 401, 200, 404, 200]
    manager = session.get_adapter(url).poolmanager  # type: ignore[attr-defined]
    pools = [manager.pools[key] for key in manager.pools.keys()]  # noqa: SIM118
    assert len(pools) == 1
    assert pools[0].num_requests == 7
    assert pools[0].num_connections == 1, "every request should reuse the one connection"


def test_keep_alive_with_httpx(server: EmulatorServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=TIMEOUT, trust_env=False) as client:
        responses = [
            client.post(LOGIN_PATH, json=CREDENTIALS),
            client.post(LOGIN_PATH, json={"email": DEMO_EMAIL, "password": "wrong"}),
            client.post(LOGIN_PATH, content=b"not json"),
            client.get(SEARCH_PATH),
            client.get(SEARCH_PATH, params={"api_key": DEMO_API_KEY}),
        ]
        local_ports = {
            response.extensions["network_stream"].get_extra_info("client_addr")
            for response in responses
        }

    assert [response.status_code for response in responses] == [200, 401, 400, 401, 200]
    assert len(local_ports) == 1, "every request should reuse the one connection"


# -- bodies ----------------------------------------------------------------------------------
def test_chunked_request_bodies_arrive_whole(
    server: EmulatorServer, emulator: CookieEmulator, session: requests.Session
) -> None:
    chunks = [b"alpha,", b"beta,", b"g" * 70000, b"omega"]

    def body() -> Iterator[bytes]:
        yield from chunks

    with session.post(server.base_url + "/upload", data=body(), timeout=TIMEOUT) as response:
        assert response.status_code == 404
    upload = emulator.calls[-1]
    assert upload.headers["transfer-encoding"] == "chunked"
    assert upload.body == b"".join(chunks)

    # a chunked login works, and the connection is still in step afterwards
    def login_body() -> Iterator[bytes]:
        yield b'{"email": "' + DEMO_EMAIL.encode() + b'", '
        yield b'"password": "' + DEMO_PASSWORD.encode() + b'"}'

    with session.post(
        server.base_url + LOGIN_PATH,
        data=login_body(),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    ) as login:
        assert login.status_code == 200
    with session.get(
        server.base_url + SEARCH_PATH, params={"api_key": DEMO_API_KEY}, timeout=TIMEOUT
    ) as after:
        assert after.status_code == 200


def test_chunked_request_bodies_from_httpx(
    server: EmulatorServer, emulator: CookieEmulator
) -> None:
    def body() -> Iterator[bytes]:
        yield b"one,"
        yield b"two,"
        yield b"three"

    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        assert client.put(server.base_url + "/upload", content=body()).status_code == 404
        assert client.get(server.base_url + "/after").status_code == 404

    upload = emulator.calls[-2]
    assert (upload.method, upload.body) == ("PUT", b"one,two,three")
    assert emulator.calls[-1].path == "/after"


def test_head_has_no_body(server: EmulatorServer, session: requests.Session) -> None:
    request = (
        f"HEAD {SEARCH_PATH} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port_of(server)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    received = b""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=TIMEOUT) as raw:
        raw.sendall(request)
        while chunk := raw.recv(65536):
            received += chunk

    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 ")
    assert rest == b"", "a HEAD response must end with its headers"

    # and over keep-alive, the next response is not confused by a stray body
    url = server.base_url + SEARCH_PATH
    with session.head(url, timeout=TIMEOUT) as response:
        assert response.content == b""
        assert int(response.headers["Content-Length"]) > 0
    with session.get(url, params={"api_key": DEMO_API_KEY}, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        assert response.json()["query"] == "RELIANCE"


# -- errors ----------------------------------------------------------------------------------
def test_an_emulator_exception_is_a_500_not_a_hang(
    server: EmulatorServer,
    emulator: CookieEmulator,
    session: requests.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(call: Call) -> NoReturn:
        raise RuntimeError("emulator bug")

    url = server.base_url + SEARCH_PATH
    monkeypatch.setattr(emulator, "handle", broken)
    with session.get(url, timeout=TIMEOUT) as response:
        assert response.status_code == 500
        assert "emulator bug" in response.json()["message"]
    monkeypatch.undo()

    # the server (and the same connection) go on serving
    with session.get(url, params={"api_key": DEMO_API_KEY}, timeout=TIMEOUT) as response:
        assert response.status_code == 200


# -- stopping --------------------------------------------------------------------------------
def test_stop_leaves_no_threads_and_closes_the_port(emulator: CookieEmulator) -> None:
    before = set(threading.enumerate())
    server = EmulatorServer(emulator).start()
    port = port_of(server)
    with requests.Session() as session:
        session.trust_env = False
        login_tokens(session, server.base_url)
        assert server_threads(), "the server should run a thread while started"

        assert stop_within(server) < TIMEOUT

        assert server_threads() == [], "stop() should wait for every handler"
        assert leftover_threads(before) == []
    assert refuses_connections(port)


def test_stop_is_clean_with_idle_keep_alive_connections_open(emulator: CookieEmulator) -> None:
    before = set(threading.enumerate())
    server = EmulatorServer(emulator).start()
    port = port_of(server)
    with (
        requests.Session() as session,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as silent,
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as half,
    ):
        session.trust_env = False
        login_tokens(session, server.base_url)  # an idle keep-alive connection, left open
        assert client.get(server.base_url + SEARCH_PATH).status_code == 401  # another
        half.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a request cut off mid-headers
        time.sleep(0.1)  # let the server accept and start reading every connection
        assert len(server_threads()) >= 5

        assert stop_within(server) < TIMEOUT

        assert server_threads() == [], "stop() should wait for every handler"
        assert leftover_threads(before) == []
        assert refuses_connections(port)
        # the server ended its side: the silent connection reads end-of-file
        assert silent.recv(1) == b""


def test_stop_while_a_client_keeps_a_connection_open_async(emulator: CookieEmulator) -> None:
    before = set(threading.enumerate())
    server = EmulatorServer(emulator).start()

    async def main() -> int:
        async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as client:
            status = (await client.get(server.base_url + SEARCH_PATH)).status_code
            await asyncio.to_thread(stop_within, server)
            return status

    assert asyncio.run(main()) == 401
    assert leftover_threads(before) == []


def test_stop_without_start_and_stop_twice() -> None:
    never_started = EmulatorServer(FincruxEmulator())
    port = port_of(never_started)
    stop_within(never_started)
    assert refuses_connections(port)

    server = EmulatorServer(FincruxEmulator()).start()
    stop_within(server)
    stop_within(server)
    assert refuses_connections(port_of(server))
