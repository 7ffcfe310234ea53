"""The emulator served in-process: httpx's MockTransport (sync and async) and a requests adapter."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import requests

from finauth import FincruxJWTAuth
from finauth.testing import Call, FincruxEmulator, Reply
from finauth.testing.fincrux import DEMO_API_KEY, DEMO_EMAIL, DEMO_PASSWORD, SEARCH_PATH

# Nothing listens on the discard port: were a transport not to answer, the request would fail
# fast on loopback instead of leaving the machine.
BASE = "http://127.0.0.1:9"
LOGIN_URL = BASE + "/api/auth/login"
REFRESH_URL = BASE + "/api/auth/token/refresh/"
SEARCH_URL = BASE + SEARCH_PATH
CREDENTIALS = {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
COOKIE_HEADERS = (
    ("Set-Cookie", "session=abc123; Path=/"),
    ("Set-Cookie", "theme=dark; Path=/"),
    ("X-Multi", "one"),
    ("X-Multi", "two"),
)
CHUNKS = [b"first chunk,", b"", b"second chunk,", b"x" * 65536, b"last"]


class CookieEmulator(FincruxEmulator):
    """Fincrux plus `GET /cookies`, unprotected, whose reply sets two cookies and repeats a
    header."""

    def handle(self, call: Call) -> Reply:
        if call.path == "/cookies":
            self.calls.append(call)
            return Reply(200, b"cookies set", COOKIE_HEADERS)
        return super().handle(call)


@pytest.fixture
def emulator() -> CookieEmulator:
    return CookieEmulator()


@pytest.fixture
def session(emulator: CookieEmulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", emulator.requests_adapter())
        session.mount("https://", emulator.requests_adapter())
        yield session


@pytest.fixture
def client(emulator: CookieEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=emulator.httpx_transport(), trust_env=False) as client:
        yield client


def chunks() -> Iterator[bytes]:
    yield from CHUNKS


async def async_chunks() -> AsyncIterator[bytes]:
    for chunk in CHUNKS:
        yield chunk


def jwt_header(access: str) -> dict[str, str]:
    return {"Authorization": f"JWT {access}"}


# -- httpx.Client ----------------------------------------------------------------------------
def test_httpx_client_login_refresh_and_protected_call(
    emulator: CookieEmulator, client: httpx.Client
) -> None:
    login = client.post(LOGIN_URL, json=CREDENTIALS)
    assert login.status_code == 200
    assert login.headers["content-type"] == "application/json"
    tokens = login.json()
    assert tokens["success"] == "true"

    denied = client.get(SEARCH_URL)
    assert denied.status_code == 401
    assert denied.json()["code"] == "token_not_valid"
    assert (
        client.get(SEARCH_URL, headers={"Authorization": f"Bearer {tokens['access']}"}).status_code
        == 401
    )
    ok = client.get(SEARCH_URL, headers=jwt_header(tokens["access"]))
    assert ok.status_code == 200
    assert ok.json()["query"] == "RELIANCE"

    renewed = client.post(REFRESH_URL, json={"refresh": tokens["refresh"]})
    assert renewed.status_code == 200
    assert client.post(REFRESH_URL, json={"refresh": tokens["refresh"]}).status_code == 401
    assert client.get(SEARCH_URL, params={"api_key": DEMO_API_KEY}).status_code == 200
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 2, 2)


def test_httpx_client_records_the_call(emulator: CookieEmulator, client: httpx.Client) -> None:
    response = client.post(
        BASE + "/api/auth/login?trace=1&note=a%20b",
        json=CREDENTIALS,
        headers={"X-Request-ID": "r-1"},
    )

    assert response.status_code == 200
    call = emulator.calls[-1]
    assert (call.method, call.path) == ("POST", "/api/auth/login")
    assert call.params == {"trace": "1", "note": "a b"}
    assert call.headers["x-request-id"] == "r-1"
    assert call.headers["Content-Type"] == "application/json"
    assert json.loads(call.body) == CREDENTIALS


def test_httpx_client_unmatched_is_a_404_listing_routes(client: httpx.Client) -> None:
    response = client.delete(BASE + "/api/unknown")

    assert response.status_code == 404
    assert "DELETE /api/unknown" in response.json()["message"]
    assert "POST /api/auth/login" in response.json()["routes"]


def test_httpx_client_keeps_repeated_headers_and_cookies(client: httpx.Client) -> None:
    response = client.get(BASE + "/cookies")

    assert response.status_code == 200
    assert response.content == b"cookies set"
    assert response.headers.get_list("X-Multi") == ["one", "two"]
    assert len(response.headers.get_list("Set-Cookie")) == 2
    assert dict(response.cookies) == {"session": "abc123", "theme": "dark"}
    assert client.cookies["session"] == "abc123"
    assert client.cookies["theme"] == "dark"


def test_httpx_client_reads_a_generator_body_whole(
    emulator: CookieEmulator, client: httpx.Client
) -> None:
    client.post(BASE + "/upload", content=chunks())

    assert emulator.calls[-1].body == b"".join(CHUNKS)


def test_httpx_client_reads_a_file_body_whole(
    emulator: CookieEmulator, client: httpx.Client, tmp_path: Path
) -> None:
    data = b"line one\nline two\n" + bytes(range(256)) * 100
    path = tmp_path / "upload.bin"
    path.write_bytes(data)

    with path.open("rb") as file:
        client.post(BASE + "/upload", content=file)

    assert emulator.calls[-1].body == data


# -- httpx.AsyncClient -----------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_httpx_async_client(emulator: CookieEmulator, backend: str) -> None:
    results: dict[str, Any] = {}

    async def main() -> None:
        async with httpx.AsyncClient(
            transport=emulator.httpx_transport(), trust_env=False
        ) as client:
            login = await client.post(LOGIN_URL, json=CREDENTIALS)
            access = login.json()["access"]
            results["login"] = login.status_code
            results["denied"] = (await client.get(SEARCH_URL)).status_code
            results["ok"] = (await client.get(SEARCH_URL, headers=jwt_header(access))).json()
            cookies = await client.get(BASE + "/cookies")
            results["multi"] = cookies.headers.get_list("X-Multi")
            results["cookie"] = client.cookies.get("session")
            await client.post(BASE + "/upload", content=async_chunks())

    anyio.run(main, backend=backend)

    assert results["login"] == 200
    assert results["denied"] == 401
    assert results["ok"]["results"][0]["symbol"] == "RELIANCE"
    assert results["multi"] == ["one", "two"]
    assert results["cookie"] == "abc123"
    assert emulator.calls[-1].body == b"".join(CHUNKS)
    assert (emulator.logins, emulator.denials) == (1, 1)


def test_httpx_async_client_under_asyncio_run(emulator: CookieEmulator) -> None:
    import asyncio

    async def main() -> int:
        async with httpx.AsyncClient(transport=emulator.httpx_transport()) as client:
            return (await client.get(SEARCH_URL, params={"api_key": DEMO_API_KEY})).status_code

    assert asyncio.run(main()) == 200
    assert emulator.calls[-1].params == {"api_key": DEMO_API_KEY}


# -- requests adapter ------------------------------------------------------------------------
def test_requests_adapter_login_refresh_and_protected_call(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    with session.post(LOGIN_URL, json=CREDENTIALS) as login:
        assert login.status_code == 200
        assert login.headers["Content-Type"] == "application/json"
        assert login.url == LOGIN_URL
        tokens = login.json()
    assert tokens["success"] == "true"

    with session.get(SEARCH_URL) as denied:
        assert denied.status_code == 401
        assert denied.json() == {
            "detail": "Given token not valid for any token type",
            "code": "token_not_valid",
        }
    with session.get(SEARCH_URL, headers=jwt_header(tokens["access"])) as ok:
        assert ok.status_code == 200
        assert ok.json()["query"] == "RELIANCE"
        assert int(ok.headers["Content-Length"]) == len(ok.content)
    with session.post(REFRESH_URL, json={"refresh": tokens["refresh"]}) as renewed:
        assert renewed.status_code == 200
    with session.get(SEARCH_URL, params={"api_key": DEMO_API_KEY}) as by_key:
        assert by_key.status_code == 200
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 1, 1)


def test_requests_adapter_records_the_call(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    with session.post(
        BASE + "/api/auth/login",
        params={"trace": "1", "note": "a b"},
        json=CREDENTIALS,
        headers={"X-Request-ID": "r-1"},
    ) as response:
        assert response.status_code == 200

    call = emulator.calls[-1]
    assert (call.method, call.path) == ("POST", "/api/auth/login")
    assert call.params == {"trace": "1", "note": "a b"}
    assert call.headers["x-request-id"] == "r-1"
    assert call.headers["CONTENT-TYPE"] == "application/json"
    assert json.loads(call.body) == CREDENTIALS


def test_requests_adapter_delivers_set_cookie_to_the_session(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    with session.get(BASE + "/cookies") as response:
        assert response.status_code == 200
        assert response.content == b"cookies set"
        assert response.cookies.get("session") == "abc123"

    assert session.cookies.get("session") == "abc123"
    assert session.cookies.get("theme") == "dark"
    # and the session sends them back
    with session.get(BASE + "/anything"):
        pass
    sent = emulator.calls[-1].headers["Cookie"]
    assert sorted(part.strip() for part in sent.split(";")) == ["session=abc123", "theme=dark"]


def test_requests_adapter_keeps_repeated_headers(session: requests.Session) -> None:
    with session.get(BASE + "/cookies") as response:
        assert response.raw.headers.getlist("X-Multi") == ["one", "two"]
        assert response.headers["X-Multi"] == "one, two"
        assert len(response.raw.headers.getlist("Set-Cookie")) == 2


def test_requests_adapter_reads_a_generator_body_whole(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    with session.post(BASE + "/upload", data=chunks()) as response:
        assert response.status_code == 404

    assert emulator.calls[-1].body == b"".join(CHUNKS)


def test_requests_adapter_reads_a_str_generator_body_whole(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    def text() -> Iterator[str]:
        yield "héllo, "
        yield "wörld"

    # requests sends str chunks too (urllib3 encodes them), though its stubs say bytes
    with session.post(BASE + "/upload", data=text()):  # type: ignore[arg-type]
        pass

    assert emulator.calls[-1].body == "héllo, wörld".encode()


def test_requests_adapter_reads_a_file_body_whole(
    emulator: CookieEmulator, session: requests.Session, tmp_path: Path
) -> None:
    data = b"line one\nline two\n" + bytes(range(256)) * 100
    path = tmp_path / "upload.bin"
    path.write_bytes(data)

    with path.open("rb") as file, session.post(BASE + "/upload", data=file):
        pass

    assert emulator.calls[-1].body == data


def test_requests_adapter_reads_form_and_text_bodies(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    with session.post(BASE + "/form", data={"a": "1", "b": "x y"}):
        pass
    form = emulator.calls[-1]
    with session.put(BASE + "/text", data="plain text"):
        pass
    text = emulator.calls[-1]

    assert form.body == b"a=1&b=x+y"
    assert form.headers["content-type"] == "application/x-www-form-urlencoded"
    assert (text.method, text.body) == ("PUT", b"plain text")


def test_requests_adapter_gives_the_reason_phrase(session: requests.Session) -> None:
    """As a real server does (and the loopback EmulatorServer, and httpx's transport)."""
    with session.get(SEARCH_URL) as response:
        assert response.status_code == 401
        assert response.reason == "Unauthorized"
        with pytest.raises(requests.HTTPError, match=r"^401 Client Error: Unauthorized for url"):
            response.raise_for_status()


def test_httpx_transport_gives_the_reason_phrase(client: httpx.Client) -> None:
    assert client.get(SEARCH_URL).reason_phrase == "Unauthorized"


def test_requests_adapter_unmatched_is_a_404_listing_routes(session: requests.Session) -> None:
    with session.delete(BASE + "/api/unknown") as response:
        assert response.status_code == 404
        body = response.json()
    assert "DELETE /api/unknown" in body["message"]
    assert f"GET {SEARCH_PATH}" in body["routes"]


# -- both transports see the same request ----------------------------------------------------
def test_both_transports_record_the_same_call(
    emulator: CookieEmulator, session: requests.Session, client: httpx.Client
) -> None:
    url = BASE + "/api/search/RELI%20ANCE?q=a%2Fb&api_key=k"
    client.post(url, content=b"payload", headers={"X-Test": "1"})
    with session.post(url, data=b"payload", headers={"X-Test": "1"}):
        pass

    via_httpx, via_requests = emulator.calls[-2:]
    for call in (via_httpx, via_requests):
        assert call.method == "POST"
        assert call.path == "/api/search/RELI%20ANCE"
        assert call.query == "q=a%2Fb&api_key=k"
        assert call.params == {"q": "a/b", "api_key": "k"}
        assert call.headers["x-test"] == "1"
        assert call.body == b"payload"


# -- a real auth object through each transport -----------------------------------------------
def test_fincrux_jwt_auth_over_httpx_transport(emulator: CookieEmulator) -> None:
    auth = FincruxJWTAuth(DEMO_EMAIL, DEMO_PASSWORD, base_url=BASE)
    with httpx.Client(auth=auth, transport=emulator.httpx_transport()) as client:
        assert client.get(SEARCH_URL).status_code == 200
        assert emulator.calls[-1].headers["authorization"].startswith("JWT ")
        emulator.expire_tokens()
        recovered = client.get(SEARCH_URL)

    assert recovered.status_code == 200
    # httpx keeps the auth flow's responses in the history: the 401, then the refresh's 200
    assert [earlier.status_code for earlier in recovered.history] == [401, 200]
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 1, 1)


def test_fincrux_jwt_auth_over_requests_adapter(
    emulator: CookieEmulator, session: requests.Session
) -> None:
    with FincruxJWTAuth(DEMO_EMAIL, DEMO_PASSWORD, base_url=BASE, session=session) as auth:
        with session.get(SEARCH_URL, auth=auth) as first:
            assert first.status_code == 200
        assert emulator.calls[-1].headers["Authorization"].startswith("JWT ")
        emulator.expire_tokens()
        with session.get(SEARCH_URL, auth=auth) as recovered:
            assert recovered.status_code == 200
            assert [earlier.status_code for earlier in recovered.history] == [401]

    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 1, 1)


def test_auth_from_the_emulators_environment(emulator: CookieEmulator) -> None:
    auth = FincruxJWTAuth.from_env(emulator.environment(BASE))
    with httpx.Client(auth=auth, transport=emulator.httpx_transport()) as client:
        assert client.get(SEARCH_URL).status_code == 200
    assert emulator.logins == 1
