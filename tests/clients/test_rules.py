"""SPEC §2 on every provider, client and transport (see `rig` in conftest.py)."""

from __future__ import annotations

import gc
import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import requests

import finauth._token
from conftest import CLIENTS, IN_PROCESS_CLIENTS, PROVIDERS, Rig, make_due
from finauth import (
    FinauthError,
    LoginError,
    MemoryTokenStore,
    ProviderResponseError,
    RateLimitedError,
    Token,
)
from finauth._auth import ProviderAuth
from finauth._flow import TokenFlow
from finauth.testing import EmulatorServer
from finauth.testing._clients import Fetch, open_client

ORDERS = "/api/orders"


def current(auth: ProviderAuth) -> str:
    token = auth.token
    assert token is not None
    return token.access_token


def login_endpoint(rig: Rig) -> str:
    (login, *_) = rig.emulator.calls
    return f"POST {rig.base_url.removesuffix(rig.emulator.prefix)}{login.path}"


# -- R2 lazy login ---------------------------------------------------------------------


def test_construction_does_no_io_and_the_first_request_logs_in_once(rig: Rig) -> None:
    auth = rig.auth()
    fetch = rig.open(auth)
    assert rig.emulator.calls == []
    assert auth.token is None

    first = fetch("GET", rig.url())

    assert first.status_code == 200
    login, api = rig.emulator.calls
    assert (login.method, rig.emulator.logins) == ("POST", 1)
    assert rig.emulator.presented(api) == current(auth)

    assert fetch("GET", rig.url()).status_code == 200
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 0)


# -- R1 origin scoping -----------------------------------------------------------------


def other_origins(rig: Rig) -> list[str]:
    path = rig.emulator.sample_path
    if rig.transport == "loopback":
        port = urlsplit(rig.base_url).port
        return [f"http://localhost:{port}{path}"]  # same server, another host name
    host = urlsplit(rig.base_url).hostname
    return [
        f"https://{host}:8443{path}",
        f"http://{host}{path}",
        f"https://{host}.evil.example{path}",
        f"https://evil.example{path}",
    ]


def test_requests_to_other_origins_pass_untouched(rig: Rig, fetch: Fetch) -> None:
    for url in other_origins(rig):
        answer = fetch("GET", url, headers={"Authorization": "caller's own", "Cookie": "a=1"})
        assert answer.status_code == 401, url
        (call,) = rig.emulator.calls[-1:]
        assert call.headers["Authorization"] == "caller's own"
        assert call.headers["Cookie"] == "a=1"
        assert "X-Tenant-ID" not in call.headers
    assert rig.emulator.logins == 0
    assert len(rig.emulator.calls) == len(other_origins(rig))


@pytest.mark.parametrize("transport", ["in-process"])
def test_the_same_origin_spelled_differently_is_authenticated(rig: Rig, fetch: Fetch) -> None:
    host = urlsplit(rig.base_url).hostname
    assert host is not None
    answer = fetch("GET", f"https://{host.upper()}:443{rig.emulator.sample_path}")
    assert answer.status_code == 200
    assert rig.emulator.logins == 1


@pytest.mark.parametrize("client_name", IN_PROCESS_CLIENTS)
@pytest.mark.parametrize("host", ["bücher.example", "straße.example", "ΔΟΚΙΜΉ.example"])
def test_an_idn_base_url_is_the_origin_every_client_sends_to(
    provider: str, client_name: str, host: str
) -> None:
    """R17: requests and httpx put the IDNA 2008 form on the wire (httpx shows the host
    decoded, as Unicode), and that is the origin finauth compares (in-process: no
    resolver knows these names)."""
    emulator = PROVIDERS[provider]()
    kind, backend = CLIENTS[client_name]
    base_url = f"https://{host}"
    with (
        emulator.auth_class(**emulator.credentials(), base_url=base_url) as auth,
        open_client(kind, auth=auth, emulator=emulator, backend=backend) as fetch,
    ):
        assert fetch("GET", base_url + emulator.sample_path).status_code == 200

    assert emulator.logins == 1
    assert emulator.presented(emulator.calls[-1]) == current(auth)


def test_a_path_in_base_url_prefixes_the_endpoints_but_not_the_origin(
    provider: str, client_name: str
) -> None:
    emulator = PROVIDERS[provider](prefix="/v1")
    emulator.route("GET", "/v2/elsewhere", {"ok": True})
    kind, backend = CLIENTS[client_name]
    with (
        EmulatorServer(emulator) as server,
        emulator.auth_class(**emulator.credentials(), base_url=server.base_url) as auth,
        open_client(kind, auth=auth, backend=backend) as fetch,
    ):
        origin = server.base_url.removesuffix("/v1")
        assert fetch("GET", f"{origin}/v1{emulator.sample_path}").status_code == 200
        fetch("GET", f"{origin}/v2/elsewhere")

    login, api, elsewhere = emulator.calls
    assert login.path.startswith("/v1/")
    assert api.path == f"/v1{emulator.sample_path}"
    assert elsewhere.path == "/v2/elsewhere"
    assert emulator.presented(elsewhere) == current(auth)


# -- R3 proactive refresh --------------------------------------------------------------


def test_a_token_within_the_margin_is_refreshed_before_sending(rig: Rig) -> None:
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)
    assert fetch("GET", rig.url()).status_code == 200
    first = current(auth)
    make_due(auth)

    assert fetch("GET", rig.url()).status_code == 200

    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (1, 1, 0)
    assert rig.emulator.presented(rig.emulator.calls[-1]) == current(auth) != first


def test_a_failed_refresh_falls_back_to_login_before_sending(rig: Rig) -> None:
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    make_due(auth)
    rig.emulator.revoke_tokens()  # the refresh token dies with the rest

    assert fetch("GET", rig.url()).status_code == 200

    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (2, 1, 0)


def test_a_rejected_login_raises_login_error_from_the_call(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    rig.emulator.fail_next_login(401)

    with pytest.raises(LoginError) as caught:
        fetch("GET", rig.url())

    error = caught.value
    assert error.provider == rig.emulator.name
    assert error.status_code == 401
    assert error.provider_message
    assert error.provider_message in rig.emulator.login_failure(401).body.decode()
    assert error.endpoint == login_endpoint(rig)
    assert error.endpoint in str(error)
    assert rig.emulator.name in str(error)
    assert f"Check {auth._flow.provider.check}." in str(error)
    assert not [secret for secret in rig.secrets() if secret in str(error) + repr(error)]
    assert rig.calls_to() == []


# -- R4 one re-send after a 401 -------------------------------------------------------


def test_a_revoked_token_is_renewed_and_the_request_sent_once_more(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    fetch("GET", rig.url())
    rig.emulator.revoke_tokens()

    answer = fetch("GET", rig.url())

    assert answer.status_code == 200
    assert answer.history[:1] == ([401] if rig.resends_in_history else [])
    first, second = rig.calls_to()[-2:]
    assert rig.emulator.presented(second) == current(auth)
    assert rig.emulator.presented(first) != current(auth)
    assert (rig.emulator.logins, rig.emulator.denials) == (2, 1)


def test_an_expired_token_is_refreshed_after_a_401(rig: Rig, fetch: Fetch) -> None:
    fetch("GET", rig.url())
    rig.emulator.expire_tokens()  # access tokens die, the refresh token still works

    assert fetch("GET", rig.url()).status_code == 200
    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (1, 1, 1)


def test_a_401_to_the_resend_is_returned_as_is(rig: Rig, fetch: Fetch) -> None:
    rig.emulator.route("GET", "/api/never", {"detail": "not for you"}, status=401)

    answer = fetch("GET", rig.url("/api/never"))

    assert answer.status_code == 401
    assert answer.json() == {"detail": "not for you"}
    assert len(rig.calls_to("/api/never")) == 2
    assert rig.emulator.refreshes == 1


def test_a_403_is_never_retried(rig: Rig, fetch: Fetch) -> None:
    rig.emulator.route("GET", "/api/forbidden", {"detail": "no"}, status=403)

    assert fetch("GET", rig.url("/api/forbidden")).status_code == 403
    assert len(rig.calls_to("/api/forbidden")) == 1
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 0)


def test_a_401_resends_with_a_token_someone_else_already_renewed(rig: Rig) -> None:
    store = MemoryTokenStore()
    first, second = rig.auth(store=store), rig.auth(store=store)
    fetch_first, fetch_second = rig.open(first), rig.open(second)
    fetch_first("GET", rig.url())
    fetch_second("GET", rig.url())  # takes the shared token: no second login
    rig.emulator.expire_tokens()
    fetch_first("GET", rig.url())  # 401, refresh: the store now holds a newer token

    answer = fetch_second("GET", rig.url())  # still holds the old one: 401

    assert answer.status_code == 200
    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (1, 1, 2)
    assert rig.emulator.presented(rig.emulator.calls[-1]) == current(first)


# -- R5 replayable bodies only --------------------------------------------------------


@pytest.fixture
def revoked(rig: Rig, fetch: Fetch) -> Fetch:
    """A client whose token the provider has just revoked, and a protected POST route."""
    rig.emulator.route("POST", ORDERS, {"placed": True})
    fetch("GET", rig.url())
    rig.emulator.revoke_tokens()
    return fetch


def test_a_json_body_is_sent_again_whole(rig: Rig, revoked: Fetch) -> None:
    answer = revoked("POST", rig.url(ORDERS), json={"symbol": "RELIANCE", "qty": 3})

    assert answer.status_code == 200
    bodies = [call.json() for call in rig.calls_to(ORDERS)]
    assert bodies == [{"symbol": "RELIANCE", "qty": 3}] * 2


def test_a_form_body_is_sent_again_whole(rig: Rig, revoked: Fetch) -> None:
    assert revoked("POST", rig.url(ORDERS), data={"symbol": "RELIANCE"}).status_code == 200
    assert [call.body for call in rig.calls_to(ORDERS)] == [b"symbol=RELIANCE"] * 2


def one_shot_stream(rig: Rig, chunks: list[bytes]) -> dict[str, Any]:
    """A body that can be read only once, in the form this client takes."""
    if rig.is_async:

        async def agen() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return {"content": agen()}

    def gen() -> Iterator[bytes]:
        yield from chunks

    return {"content": gen()}


def test_a_one_shot_stream_is_not_sent_again(rig: Rig, revoked: Fetch) -> None:
    answer = revoked("POST", rig.url(ORDERS), **one_shot_stream(rig, [b"part one,", b"two"]))

    assert answer.status_code == 401
    assert [call.body for call in rig.calls_to(ORDERS)] == [b"part one,two"]
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 0)


FILE_CLIENTS = ["requests", "niquests", "httpx", "httpx2", "aiohttp"]
"""The clients that take a file as the body (the async httpx clients want async bytes)."""


@pytest.mark.parametrize("client_name", FILE_CLIENTS)
def test_a_seekable_file_is_rewound_and_sent_again_whole(rig: Rig, revoked: Fetch) -> None:
    body = io.BytesIO(b"symbol=RELIANCE&qty=3")

    assert revoked("POST", rig.url(ORDERS), content=body).status_code == 200
    assert [call.body for call in rig.calls_to(ORDERS)] == [b"symbol=RELIANCE&qty=3"] * 2


@pytest.mark.parametrize("client_name", ["requests", "niquests", "aiohttp"])
def test_a_file_is_rewound_to_where_it_started_not_to_zero(rig: Rig, revoked: Fetch) -> None:
    body = io.BytesIO(b"HEADER|payload")
    body.seek(7)

    assert revoked("POST", rig.url(ORDERS), content=body).status_code == 200
    assert [call.body for call in rig.calls_to(ORDERS)] == [b"payload"] * 2


class ForwardOnlyFile(io.RawIOBase):
    """A file that reads forward only, as a pipe or a socket does."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._source.readinto(buffer)


@pytest.mark.parametrize("client_name", FILE_CLIENTS)
def test_an_unseekable_file_is_not_sent_again(rig: Rig, revoked: Fetch) -> None:
    with ForwardOnlyFile(b"streamed once") as body:
        answer = revoked("POST", rig.url(ORDERS), content=body)

    assert answer.status_code == 401
    assert [call.body for call in rig.calls_to(ORDERS)] == [b"streamed once"]


# -- R7 expiry --------------------------------------------------------------------------


def test_the_token_lives_as_long_as_its_jwt_says(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    rig.emulator.token_ttl = 120

    fetch("GET", rig.url())

    token = auth.token
    assert token is not None
    assert 115 < token.expires_in <= 120
    assert token.expires_at - token.obtained_at == timedelta(seconds=120)


# -- R8 bad answers end in the right error -------------------------------------------

BAD_LOGIN_ANSWERS = [
    pytest.param(
        200, "<html><body>502 Bad Gateway</body></html>", ProviderResponseError, id="html"
    ),
    pytest.param(200, '{"success": "true", "access": "eyJhbGciOi', ProviderResponseError, id="cut"),
    pytest.param(200, "[1, 2, 3]", ProviderResponseError, id="json-list"),
    pytest.param(200, "", ProviderResponseError, id="empty"),
    pytest.param(400, {"message": "bad input"}, LoginError, id="400"),
    pytest.param(401, {"message": "no such user"}, LoginError, id="401"),
    pytest.param(403, {"detail": "blocked"}, LoginError, id="403"),
    pytest.param(500, "Internal Server Error", ProviderResponseError, id="500"),
    pytest.param(404, "<h1>Not Found</h1>", ProviderResponseError, id="404"),
]


@pytest.mark.parametrize(("status", "body", "expected"), BAD_LOGIN_ANSWERS)
def test_an_unusable_login_answer_raises_the_right_error(
    rig: Rig, fetch: Fetch, status: int, body: object, expected: type[FinauthError]
) -> None:
    rig.emulator.fail_next_login(status, body)

    with pytest.raises(FinauthError) as caught:
        fetch("GET", rig.url())

    assert_reported(rig, caught.value, expected)


def assert_reported(rig: Rig, error: FinauthError, expected: type[FinauthError]) -> None:
    """The error R8 asks for: the right class, naming provider and endpoint, no secret."""
    assert type(error) is expected
    assert error.provider == rig.emulator.name
    assert error.endpoint == login_endpoint(rig)
    assert rig.emulator.name in str(error)
    assert error.endpoint in str(error)
    assert not [secret for secret in rig.secrets() if secret in str(error) + repr(error)]
    assert rig.emulator.logins == 1  # none of these is retried
    assert rig.calls_to() == []


def test_a_failed_login_costs_nothing_later(rig: Rig, fetch: Fetch) -> None:
    rig.emulator.fail_next_login(500, "<html>oops</html>")
    with pytest.raises(ProviderResponseError):
        fetch("GET", rig.url())

    assert fetch("GET", rig.url()).status_code == 200


# -- R9 retries of auth calls only ----------------------------------------------------


def test_a_rate_limited_login_is_retried_then_succeeds(rig: Rig, fetch: Fetch) -> None:
    rig.emulator.rate_limit(2, retry_after=0)

    assert fetch("GET", rig.url()).status_code == 200
    assert rig.emulator.logins == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_login_failing_at_the_gateway_is_retried(rig: Rig, fetch: Fetch, status: int) -> None:
    rig.emulator.fail_next_login(status, "<html>gateway</html>")
    rig.emulator.fail_next_login(status, "<html>gateway</html>")

    assert fetch("GET", rig.url()).status_code == 200
    assert rig.emulator.logins == 3


def test_a_rate_limit_that_persists_raises_rate_limited_error(rig: Rig, fetch: Fetch) -> None:
    rig.emulator.rate_limit(10, retry_after="0")

    with pytest.raises(RateLimitedError) as caught:
        fetch("GET", rig.url())

    assert caught.value.retry_after == 0.0
    assert caught.value.provider == rig.emulator.name
    assert rig.emulator.logins == 3


def test_the_users_own_503_is_not_retried(rig: Rig, fetch: Fetch) -> None:
    rig.emulator.route("GET", "/api/busy", {"detail": "busy"}, status=503)

    assert fetch("GET", rig.url("/api/busy")).status_code == 503
    assert len(rig.calls_to("/api/busy")) == 1


# -- R10 secrets stay secret ----------------------------------------------------------


def test_no_secret_in_logs_or_reprs_through_a_whole_lifecycle(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    make_due(auth)
    fetch("GET", rig.url())  # refreshed
    rig.emulator.revoke_tokens()
    fetch("GET", rig.url())  # 401, failed refresh, login, re-send

    secrets = rig.secrets()
    assert len(secrets) >= 7  # a password, three access and three refresh tokens
    seen = [record.getMessage() for record in caplog.records if record.name == "finauth"]
    seen += [repr(auth), repr(auth.token), str(auth.token)]
    assert any("logged in" in line for line in seen)
    assert any("refreshed" in line for line in seen)
    for secret in secrets:
        assert not [line for line in seen if secret in line]


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["loopback"])
def test_a_redirect_elsewhere_carries_no_credentials(rig: Rig, fetch: Fetch) -> None:
    """R10 with requests, which follows redirects: nothing of the auth's crosses origins."""
    elsewhere = PROVIDERS[rig.emulator.name]()
    elsewhere.handle_route("GET", "/landing", lambda call: elsewhere.deny())
    with EmulatorServer(elsewhere) as server:
        target = server.base_url.replace("127.0.0.1", "localhost") + "/landing"
        rig.emulator.handle_route("GET", "/moved", lambda call: redirect(target))

        answer = fetch("GET", rig.url("/moved"), headers={"Cookie": "theirs=1"})

    assert answer.history == [302]
    (arrived,) = elsewhere.calls
    assert arrived.path == "/landing"
    assert "Authorization" not in arrived.headers
    assert "X-Tenant-ID" not in arrived.headers
    assert "DT_AUTH_TOKEN" not in arrived.headers.get("Cookie", "")
    assert not [secret for secret in rig.secrets() if secret in str(arrived)]


def redirect(location: str) -> Any:
    from finauth.testing import Reply

    return Reply(302, b"", (("Location", location),))


# -- R13 auth traffic goes through the user's client or session -----------------------


@pytest.mark.parametrize("client_name", ["httpx", "httpx-asyncio"])
@pytest.mark.parametrize("transport", ["in-process"])
def test_httpx_logins_go_through_the_users_client(rig: Rig) -> None:
    seen: list[httpx.Request] = []
    base = rig.emulator.httpx_transport()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return base.handle_request(request)

    auth = rig.auth()
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler), timeout=7.5) as client:
        assert client.get(rig.url()).status_code == 200

    login = seen[0]
    assert (login.method, rig.emulator.logins) == ("POST", 1)
    assert login.extensions["timeout"] == {"connect": 7.5, "read": 7.5, "write": 7.5, "pool": 7.5}
    assert auth._session is None  # no requests.Session was ever made


@pytest.mark.parametrize("client_name", ["requests"])
def test_requests_logins_go_through_the_given_session(rig: Rig) -> None:
    seen: list[str] = []
    with requests.Session() as session:
        session.hooks["response"].append(lambda response, **_: seen.append(response.url))
        session.headers["User-Agent"] = "their-app/1.0"
        if rig.transport == "in-process":
            session.mount("https://", rig.emulator.requests_adapter())
        auth = rig.auth(session=session)
        session.auth = auth  # the session's own auth is this very object: no recursion

        assert session.get(rig.url()).status_code == 200

    login, _ = rig.emulator.calls
    assert seen == [rig.base_url + login.path, rig.url()]
    assert login.headers["User-Agent"] == "their-app/1.0"
    assert rig.emulator.logins == 1


@pytest.mark.parametrize("client_name", ["requests"])
def test_auth_calls_never_carry_the_sessions_cookies(rig: Rig) -> None:
    """R10: a session's jar may hold an old refresh cookie; a login must not send it."""
    with requests.Session() as session:
        if rig.transport == "in-process":
            session.mount("https://", rig.emulator.requests_adapter())
        host = urlsplit(rig.base_url).hostname
        assert host is not None
        session.cookies.set("DT_REFRESH_TOKEN", "old-refresh", domain=host, path="/")
        session.cookies.set("theirs", "1", domain=host, path="/")
        auth = rig.auth(session=session)

        assert session.get(rig.url(), auth=auth).status_code == 200

    login, api = rig.emulator.calls
    assert "Cookie" not in login.headers
    assert "theirs=1" in api.headers.get("Cookie", "")


# -- the rest of the public API -------------------------------------------------------


@pytest.mark.parametrize("client_name", ["requests"])
def test_login_invalidate_token_and_close(rig: Rig) -> None:
    session = requests.Session()
    if rig.transport == "in-process":
        session.mount("https://", rig.emulator.requests_adapter())
    with rig.auth(session=session) as auth:
        fetch = rig.open(auth)
        token = auth.login()
        assert auth.token == token
        assert rig.emulator.logins == 1
        assert fetch("GET", rig.url()).status_code == 200
        assert rig.emulator.logins == 1

        auth.invalidate()
        assert auth.token is None
        assert fetch("GET", rig.url()).status_code == 200
        assert (rig.emulator.logins, rig.emulator.refreshes) == (2, 0)
    assert session.adapters  # the caller's session is the caller's to close
    session.close()


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["in-process"])
def test_close_closes_only_a_private_session(rig: Rig) -> None:
    auth = rig.auth()
    private = auth.session
    auth.close()
    assert auth._session is None
    assert auth.session is not private


# -- the common path ------------------------------------------------------------------


class CountingStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: str) -> Token | None:
        self.reads += 1
        return super().get(key)


def test_a_cached_token_costs_no_store_read_and_no_jwt_decode(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CountingStore()
    fetch = rig.open(rig.auth(store=store))
    fetch("GET", rig.url())
    reads = store.reads
    decodes: list[str] = []

    class WatchedDecoder(jwt.PyJWS):
        def decode_complete(self, jwt: str | bytes, *args: Any, **kwargs: Any) -> Any:
            decodes.append("decoded")
            return super().decode_complete(jwt, *args, **kwargs)

    watched = WatchedDecoder()
    monkeypatch.setattr(finauth._token, "_reader", lambda: watched)

    for _ in range(5):
        assert fetch("GET", rig.url()).status_code == 200

    assert store.reads == reads
    assert decodes == []


@pytest.mark.parametrize("provider", ["Finvera"])
def test_a_request_with_the_cached_token_starts_no_flow(
    rig: Rig, fetch: Fetch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common case costs no flow on any client: a request sent with the cached token
    is given it (`TokenFlow.attached`), and only its 401 starts the renewal
    (`answered_401`). `authenticate`, a generator per request, is for a missing or due
    token."""
    assert fetch("GET", rig.url()).status_code == 200  # logged in by a flow
    started: list[object] = []
    authenticate = TokenFlow.authenticate

    def counted(flow: TokenFlow, request: Any) -> Any:
        started.append(request)
        return authenticate(flow, request)

    monkeypatch.setattr(TokenFlow, "authenticate", counted)
    for _ in range(3):
        assert fetch("GET", rig.url()).status_code == 200
    rig.emulator.expire_tokens()
    assert fetch("GET", rig.url()).status_code == 200  # 401, refreshed, sent once more

    assert started == []
    assert (rig.emulator.logins, rig.emulator.refreshes, len(rig.calls_to())) == (1, 1, 6)


@pytest.mark.parametrize(
    ("client_name", "transport"),
    [
        ("requests", "in-process"),
        ("niquests", "loopback"),
        ("niquests-async", "loopback"),
        ("aiohttp", "loopback"),
    ],
)
def test_the_cached_token_is_set_as_written_down(
    rig: Rig, auth: ProviderAuth, fetch: Fetch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a client's common path made a view of each request for the provider's
    `apply` (requests, niquests, aiohttp), it sets the header lines `apply` wrote once for
    the token (`TokenFlow.attach_written_down`). An `apply` that reads the request
    (Finvera's, which merges its cookie into the caller's) still gets every request."""
    for _ in range(2):
        assert fetch("GET", rig.url()).status_code == 200  # logged in, lines written down
    provider = type(auth._flow.provider)
    apply, applied = provider.apply, list[object]()

    def watched(self: Any, request: Any, token: Any) -> None:
        applied.append(request)
        apply(self, request, token)

    monkeypatch.setattr(provider, "apply", watched)
    for _ in range(3):
        assert fetch("GET", rig.url()).status_code == 200

    token = auth.token
    assert token is not None
    for call in rig.calls_to()[-3:]:
        assert rig.emulator.presented(call) == token.access_token
    assert len(applied) == (3 if rig.emulator.name == "Finvera" else 0)


@pytest.mark.parametrize("transport", ["in-process"])
@pytest.mark.parametrize("client_name", ["requests"])
def test_a_request_leaves_no_garbage_for_the_collector(rig: Rig) -> None:
    """With requests, whose own requests end in no reference cycle, neither do ours: what
    the collector must free costs every caller (the response hook once held its request
    in one, 40 objects). httpx's own requests leave cycles, with or without an auth."""
    fetch = rig.open(rig.auth())
    assert fetch("GET", rig.url()).status_code == 200  # logged in; caches warm
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            assert fetch("GET", rig.url()).status_code == 200
        assert gc.collect() == 0
    finally:
        gc.enable()


class HeaderAuth:
    """A hand-written auth setting the headers it is given: the floor any auth pays."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def __call__(self, request: Any) -> Any:
        request.headers.update(self.headers)
        return request

    def as_async(self) -> AsyncHeaderAuth:
        return AsyncHeaderAuth(self.headers)


class AsyncHeaderAuth(HeaderAuth):
    """The same, as niquests' AsyncSession takes it: `__call__` a coroutine function."""

    async def __call__(self, request: Any) -> Any:
        return super().__call__(request)


def cyclic_garbage(fetch: Fetch, url: str, requests_sent: int) -> int:
    """Objects that only the collector frees, left by `requests_sent` requests after one."""
    assert fetch("GET", url).status_code == 200
    gc.collect()
    gc.disable()
    try:
        for _ in range(requests_sent):
            assert fetch("GET", url).status_code == 200
        return gc.collect()
    finally:
        gc.enable()


@pytest.mark.parametrize("transport", ["loopback"])
@pytest.mark.parametrize("client_name", ["niquests", "niquests-async"])
@pytest.mark.parametrize("provider", ["Fincrux"])
def test_with_niquests_a_request_leaves_no_more_garbage_than_a_hand_written_auth(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    """niquests leaves each request in a reference cycle of some 50 objects, and whatever
    an auth hangs on the request joins it: finauth's hook is bound once per auth, and a
    request sent with the cached token keeps only that token, so it adds no object."""
    sent = 20
    finauths = cyclic_garbage(fetch, rig.url(), sent)
    headers = {"Authorization": f"JWT {current(auth)}"}
    floor = cyclic_garbage(rig.open(HeaderAuth(headers)), rig.url(), sent)

    assert finauths - floor < sent // 2, (finauths, floor)


def test_calls_carry_exactly_the_current_token(rig: Rig, auth: ProviderAuth, fetch: Fetch) -> None:
    """Whatever a client's cookie jar kept from logins, each call presents one, current token."""
    fetch("GET", rig.url())
    rig.emulator.expire_tokens()
    fetch("GET", rig.url())  # 401, refresh
    fetch("GET", rig.url())

    for call in rig.calls_to()[-2:]:
        assert rig.emulator.presented(call) == current(auth)


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["loopback"])
def test_a_redirect_of_someone_elses_request_keeps_the_callers_headers(
    rig: Rig, fetch: Fetch
) -> None:
    """R1: finauth never touches a request bound elsewhere, not even when it is redirected."""
    first, second = PROVIDERS[rig.emulator.name](), PROVIDERS[rig.emulator.name]()
    second.handle_route("GET", "/landing", lambda call: second.deny())
    with EmulatorServer(first) as origin, EmulatorServer(second) as target:
        first.handle_route("GET", "/moved", lambda call: redirect(target.base_url + "/landing"))
        theirs = {"X-Tenant-ID": "their-tenant", "Cookie": "DT_AUTH_TOKEN=their-own"}

        fetch("GET", origin.base_url + "/moved", headers=theirs)

    (arrived,) = second.calls
    assert arrived.headers["X-Tenant-ID"] == "their-tenant"
    assert rig.emulator.calls == []  # no login: the request was never the auth's
