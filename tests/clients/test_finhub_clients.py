"""FinHub's wire format and session rules over every client and transport (see `rig`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from test_rules import assert_reported, current, login_endpoint, redirect

from conftest import Rig, make_due
from finauth import (
    FinauthError,
    FinHubSessionAuth,
    LoginError,
    MemoryTokenStore,
    ProviderResponseError,
)
from finauth._auth import ProviderAuth
from finauth.testing import Call, EmulatorServer, FinHubEmulator, Reply
from finauth.testing._clients import Fetch

LOGIN_TEMPLATE = "/api/v2.1/admin/organization/{}/users/{}/sessions"
WRONG_TENANT_KEY = "cvK_WRONG_tenant_key_42"
WRONG_PASSWORD = "wrong-PASSWORD-for-finhub"


@pytest.fixture
def provider() -> str:
    return "FinHub"


def hub(rig: Rig) -> FinHubEmulator:
    assert isinstance(rig.emulator, FinHubEmulator)
    return rig.emulator


def login_path(emulator: FinHubEmulator) -> str:
    return LOGIN_TEMPLATE.format(
        quote(emulator.organization_id, safe=""), quote(emulator.user_id, safe="")
    )


def tenant_headers(call: Call) -> list[str]:
    return call.headers.get_list("X-Tenant-ID")


def api_calls(rig: Rig) -> list[Call]:
    return rig.calls_to()


# -- the wire format, end to end -------------------------------------------------------------


def test_the_login_and_the_calls_speak_finhub(rig: Rig) -> None:
    emulator = hub(rig)
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)

    assert fetch("GET", rig.url()).status_code == 200
    first = auth.token
    assert first is not None
    make_due(auth)  # within the margin: the second call refreshes first
    assert fetch("GET", rig.url()).status_code == 200

    login, api, refresh, again = emulator.calls
    assert (login.method, login.path) == ("POST", login_path(emulator))
    assert tenant_headers(login) == [emulator.tenant_id]
    assert login.headers["Content-Type"] == "application/json"
    assert "Authorization" not in login.headers
    assert login.json() == {
        "username": emulator.username,
        "password": emulator.password,
        "tenantKey": emulator.tenant_key,
        "tenantSecret": emulator.tenant_secret,
    }
    assert api.headers["Authorization"] == f"Bearer {first.access_token}"
    assert tenant_headers(api) == [emulator.tenant_id]

    assert first.extra["session_id"] == emulator.session_id
    assert (refresh.method, refresh.path) == (
        "POST",
        f"/api/v2.1/admin/sessions/{emulator.session_id}/refresh",
    )
    assert refresh.headers["Authorization"] == f"Bearer {first.access_token}"
    assert tenant_headers(refresh) == [emulator.tenant_id]
    assert refresh.json() == {"refreshToken": first.refresh_token}

    renewed = auth.token
    assert renewed is not None
    assert renewed.access_token != first.access_token
    assert renewed.refresh_token != first.refresh_token  # the emulator rotates it
    assert renewed.extra["session_id"] == first.extra["session_id"]
    assert again.headers["Authorization"] == f"Bearer {renewed.access_token}"
    assert tenant_headers(again) == [emulator.tenant_id]
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 1, 0)


def test_odd_ids_are_quoted_in_the_login_path(rig: Rig) -> None:
    emulator = hub(rig)
    emulator.organization_id = "org/7 ünï 100%"
    emulator.user_id = "user?x=1#frag"
    fetch = rig.open(rig.auth())

    assert fetch("GET", rig.url()).status_code == 200

    login = emulator.calls[0]
    assert login.path == (
        "/api/v2.1/admin/organization/org%2F7%20%C3%BCn%C3%AF%20100%25"
        "/users/user%3Fx%3D1%23frag/sessions"
    )
    assert login.query == ""
    assert emulator.logins == 1


@pytest.mark.parametrize("spelling", ["X-Tenant-ID", "x-tenant-id", "X-TENANT-ID"])
def test_the_auths_tenant_replaces_the_callers(rig: Rig, spelling: str) -> None:
    auth = rig.auth()
    fetch = rig.open(auth)

    answer = fetch("GET", rig.url(), headers={spelling: "wrong", "X-Keep": "1"})

    assert answer.status_code == 200
    (api,) = api_calls(rig)
    assert tenant_headers(api) == [hub(rig).tenant_id]
    assert api.headers["Authorization"] == f"Bearer {current(auth)}"
    assert api.headers["X-Keep"] == "1"


def test_every_call_carries_the_current_token_and_the_tenant(rig: Rig) -> None:
    emulator = hub(rig)
    auth = rig.auth()
    fetch = rig.open(auth)
    fetch("GET", rig.url(), headers={"X-Tenant-ID": "wrong"})
    emulator.expire_tokens()
    assert fetch("GET", rig.url(), headers={"X-Tenant-ID": "wrong"}).status_code == 200
    emulator.revoke_tokens()
    assert fetch("GET", rig.url(), headers={"X-Tenant-ID": "wrong"}).status_code == 200

    sent = [(call.headers["Authorization"], tenant_headers(call)) for call in api_calls(rig)]
    assert len(sent) == 5  # ok; 401, re-sent after a refresh; 401, re-sent after a login
    assert all(tenants == [emulator.tenant_id] for _, tenants in sent)
    assert all(authorization.startswith("Bearer ey") for authorization, _ in sent)
    assert sent[-1][0] == f"Bearer {current(auth)}"
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (2, 2, 2)


def test_the_session_id_is_kept_with_the_token(rig: Rig) -> None:
    auth = rig.auth()
    fetch = rig.open(auth)
    fetch("GET", rig.url())

    token = auth.token
    assert token is not None
    session_id = hub(rig).session_id
    assert session_id is not None
    assert token.extra["session_id"] == session_id
    assert "session_id" in repr(token)
    assert session_id not in repr(token)  # only the field's name


def test_the_default_refresh_margin_is_five_minutes(rig: Rig) -> None:
    """SPEC §3: refresh when under five minutes remain, and not before."""
    emulator = hub(rig)
    auth = rig.auth()
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    make_due(auth, left=310)  # 10 s more than the margin
    fetch("GET", rig.url())
    assert (emulator.logins, emulator.refreshes) == (1, 0)

    make_due(auth, left=290)
    fetch("GET", rig.url())  # refreshed
    fetch("GET", rig.url())
    assert (emulator.logins, emulator.refreshes) == (1, 1)


def test_from_env_reaches_the_sandbox(rig: Rig) -> None:
    auth = FinHubSessionAuth.from_env(hub(rig).environment(rig.base_url))
    rig.stack.callback(auth.close)
    fetch = rig.open(auth)

    assert fetch("GET", rig.url()).status_code == 200
    assert hub(rig).logins == 1


# -- concurrent sessions (seed 002: a second login ends the first) ---------------------------


def test_a_second_login_ends_the_older_session_and_it_recovers_once(rig: Rig) -> None:
    """Separate stores, one account: B's login ends A's session; A's next call is answered
    401, its refresh fails (the session is gone), it logs in anew and succeeds."""
    emulator = hub(rig)
    a, b = rig.auth(), rig.auth()  # each its own private MemoryTokenStore
    fetch_a, fetch_b = rig.open(a), rig.open(b)

    assert fetch_a("GET", rig.url()).status_code == 200
    session_a = emulator.session_id
    assert fetch_b("GET", rig.url()).status_code == 200
    assert emulator.session_id != session_a
    token_a = current(a)

    answer = fetch_a("GET", rig.url())

    assert answer.status_code == 200
    # httpx lists the refresh and login answers after it
    assert answer.history[:1] == ([401] if rig.resends_in_history else [])
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (3, 1, 1)
    assert len(api_calls(rig)) == 4  # A, B, A denied, A re-sent: one 401, one re-send
    (refresh,) = [call for call in emulator.calls if call.path.endswith("/refresh")]
    assert refresh.path == f"/api/v2.1/admin/sessions/{session_a}/refresh"
    assert refresh.headers["Authorization"] == f"Bearer {token_a}"
    denied, resent = api_calls(rig)[-2:]
    assert emulator.presented(denied) == token_a
    assert emulator.presented(resent) == current(a) != token_a
    a_token = a.token
    assert a_token is not None
    assert a_token.extra["session_id"] == emulator.session_id


def test_auths_sharing_a_store_share_one_session(rig: Rig) -> None:
    """The fix the seed's warning asks for: one store, one session, no 401 for anyone."""
    emulator = hub(rig)
    store = MemoryTokenStore()
    a, b = rig.auth(store=store), rig.auth(store=store)
    fetch_a, fetch_b = rig.open(a), rig.open(b)

    answers = [fetch("GET", rig.url()) for fetch in (fetch_a, fetch_b, fetch_a, fetch_b, fetch_a)]

    assert [answer.status_code for answer in answers] == [200] * 5
    assert all(401 not in answer.history for answer in answers)
    assert (emulator.logins, emulator.refreshes, emulator.denials) == (1, 0, 0)
    assert current(a) == current(b)
    presented = {emulator.presented(call) for call in api_calls(rig)}
    assert presented == {current(a)}


# -- redirects with requests (R10) -----------------------------------------------------------


def landing_server(rig: Rig, method: str = "GET") -> tuple[FinHubEmulator, EmulatorServer]:
    elsewhere = FinHubEmulator()
    elsewhere.handle_route(method, "/landing", lambda call: Reply.json({"landed": True}))
    server = rig.stack.enter_context(EmulatorServer(elsewhere))
    return elsewhere, server


def assert_nothing_crossed(rig: Rig, arrived: Call) -> None:
    assert "Authorization" not in arrived.headers
    assert "X-Tenant-ID" not in arrived.headers
    everything = str(arrived) + arrived.body.decode("utf-8", "replace")
    assert not [secret for secret in rig.secrets() if secret in everything]
    assert hub(rig).tenant_id not in everything


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["loopback"])
def test_a_redirect_to_another_port_of_the_same_host_carries_nothing(
    rig: Rig, fetch: Fetch
) -> None:
    elsewhere, server = landing_server(rig)
    target = server.base_url + "/landing"
    assert urlsplit(target).hostname == urlsplit(rig.base_url).hostname
    assert urlsplit(target).port != urlsplit(rig.base_url).port
    hub(rig).handle_route("GET", "/moved", lambda call: redirect(target))

    answer = fetch("GET", rig.url("/moved"), headers={"X-Tenant-ID": "callers-own"})

    assert answer.status_code == 200
    assert answer.history == [302]
    (moved,) = rig.calls_to("/moved")
    assert tenant_headers(moved) == [hub(rig).tenant_id]  # the origin's own call had them
    assert moved.headers["Authorization"].startswith("Bearer ")
    (arrived,) = elsewhere.calls
    assert arrived.path == "/landing"
    assert_nothing_crossed(rig, arrived)


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["loopback"])
@pytest.mark.parametrize("other_host", ["same-host-other-port", "other-host-name"])
def test_a_307_redirect_of_a_post_carries_the_body_but_no_credentials(
    rig: Rig, auth: ProviderAuth, fetch: Fetch, other_host: str
) -> None:
    elsewhere, server = landing_server(rig, "POST")
    target = server.base_url + "/landing"
    if other_host == "other-host-name":
        target = target.replace("127.0.0.1", "localhost")

    def temporary_redirect(call: Call) -> Reply:
        return Reply(307, b"", (("Location", target),))

    hub(rig).handle_route("POST", "/orders", temporary_redirect)

    answer = fetch("POST", rig.url("/orders"), json={"symbol": "RELIANCE", "qty": 3})

    assert answer.status_code == 200
    assert answer.history == [307]
    (posted,) = rig.calls_to("/orders")
    assert posted.headers["Authorization"] == f"Bearer {current(auth)}"
    (arrived,) = elsewhere.calls
    assert (arrived.method, arrived.path) == ("POST", "/landing")
    assert json.loads(arrived.body) == {"symbol": "RELIANCE", "qty": 3}
    assert_nothing_crossed(rig, arrived)


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["loopback"])
def test_a_redirect_within_the_origin_keeps_the_credentials(rig: Rig, fetch: Fetch) -> None:
    """The other side of R10: withdrawing is for other origins only."""
    hub(rig).handle_route("GET", "/moved", lambda call: redirect(rig.url()))

    answer = fetch("GET", rig.url("/moved"))

    assert answer.status_code == 200
    assert answer.history == [302]
    (arrived,) = api_calls(rig)
    assert tenant_headers(arrived) == [hub(rig).tenant_id]
    assert hub(rig).presented(arrived) is not None


# -- bad answers, end to end (R8) ------------------------------------------------------------


def assert_no_credential_leaks(rig: Rig, error: FinauthError, *extra: str) -> None:
    seen = str(error) + repr(error)
    if isinstance(error, LoginError):
        seen += str(error.provider_message)
    if isinstance(error, ProviderResponseError):
        seen += error.excerpt
    credentials = hub(rig).credentials()
    for name in ("password", "tenant_key", "tenant_secret"):
        assert credentials[name] not in seen, name
    for secret in extra:
        assert secret not in seen


@pytest.mark.parametrize(
    ("credential", "wrong", "message"),
    [
        ("tenant_key", WRONG_TENANT_KEY, "Invalid tenant key or secret"),
        ("password", WRONG_PASSWORD, "Invalid username or password"),
    ],
)
def test_a_wrong_credential_is_a_login_error(
    rig: Rig, credential: str, wrong: str, message: str
) -> None:
    fetch = rig.open(rig.auth(**{credential: wrong}))

    with pytest.raises(FinauthError) as caught:
        fetch("GET", rig.url())

    error = caught.value
    assert_reported(rig, error, LoginError)
    assert isinstance(error, LoginError)
    assert error.status_code == 401
    assert error.provider_message == message
    assert "tenant key" in str(error)  # the check names every credential
    assert_no_credential_leaks(rig, error, wrong)
    assert hub(rig).session_id is None


def echo(rig: Rig) -> str:
    """A provider message that repeats every credential back."""
    credentials = hub(rig).credentials()
    return "rejected: " + " ".join(
        credentials[name] for name in ("password", "tenant_key", "tenant_secret")
    )


FINHUB_BAD_ANSWERS: list[Any] = [
    pytest.param(200, {"code": 401, "message": "Unauthorized", "data": None}, LoginError, id="401"),
    pytest.param(
        200, {"code": "403", "message": "IP not allowed", "data": None}, LoginError, id="403"
    ),
    pytest.param(200, {"code": 400, "message": "Bad tenant", "data": None}, LoginError, id="400"),
    pytest.param(
        200,
        {"code": 200, "message": "ok", "data": {"success": False, "message": "disabled"}},
        LoginError,
        id="success-false",
    ),
    pytest.param(200, {"code": 200, "message": "ok"}, ProviderResponseError, id="missing-data"),
    pytest.param(
        200, {"code": 200, "message": "ok", "data": None}, ProviderResponseError, id="null-data"
    ),
    pytest.param(
        200,
        {"code": 500, "message": "Internal", "data": None},
        ProviderResponseError,
        id="code-500",
    ),
    pytest.param(
        200,
        {"code": 200, "message": "ok", "data": {"sessionId": "s", "success": True}},
        ProviderResponseError,
        id="no-token",
    ),
    pytest.param(
        200,
        {"code": 200, "message": "ok", "data": {"token": 12345, "success": True}},
        ProviderResponseError,
        id="int-token",
    ),
    pytest.param(401, None, LoginError, id="http-401-envelope"),
    pytest.param(403, None, LoginError, id="http-403-envelope"),
]


@pytest.mark.parametrize(("status", "body", "expected"), FINHUB_BAD_ANSWERS)
def test_a_finhub_login_answer_that_cannot_be_used(
    rig: Rig, fetch: Fetch, status: int, body: object, expected: type[FinauthError]
) -> None:
    hub(rig).fail_next_login(status, body)

    with pytest.raises(FinauthError) as caught:
        fetch("GET", rig.url())

    assert_reported(rig, caught.value, expected)
    if isinstance(caught.value, LoginError):
        assert caught.value.status_code == status
        assert caught.value.provider_message
    assert_no_credential_leaks(rig, caught.value)


@pytest.mark.parametrize("code", [401, 200])
def test_a_provider_echoing_the_credentials_never_leaks_them(
    rig: Rig, fetch: Fetch, code: int
) -> None:
    hub(rig).fail_next_login(200, {"code": code, "message": echo(rig), "data": echo(rig)})

    with pytest.raises(FinauthError) as caught:
        fetch("GET", rig.url())

    assert_reported(rig, caught.value, LoginError if code == 401 else ProviderResponseError)
    assert_no_credential_leaks(rig, caught.value)


def test_a_bad_login_costs_nothing_later(rig: Rig, fetch: Fetch) -> None:
    hub(rig).fail_next_login(200, {"code": 200, "message": "ok"})
    with pytest.raises(ProviderResponseError) as caught:
        fetch("GET", rig.url())
    assert caught.value.endpoint == login_endpoint(rig)

    assert fetch("GET", rig.url()).status_code == 200
    assert hub(rig).logins == 2


def test_a_refresh_refused_in_its_envelope_falls_back_to_login(rig: Rig) -> None:
    """R3 for FinHub: a 401 envelope to the refresh (here: a spent refresh token) → login."""
    emulator = hub(rig)
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    first = auth.token
    assert first is not None
    make_due(auth)
    spent = emulator.handle(  # someone else spends the refresh token first
        Call(
            "POST",
            f"/api/v2.1/admin/sessions/{emulator.session_id}/refresh",
            "",
            httpx.Headers(
                {"Authorization": f"Bearer {first.access_token}", "X-Tenant-ID": emulator.tenant_id}
            ),
            json.dumps({"refreshToken": first.refresh_token}).encode(),
        )
    )
    assert spent.status == 200

    assert fetch("GET", rig.url()).status_code == 200

    assert (emulator.logins, emulator.refreshes, emulator.denials) == (2, 2, 0)
    token = auth.token
    assert token is not None
    assert token.extra["session_id"] == emulator.session_id != first.extra["session_id"]


@pytest.mark.parametrize("transport", ["in-process"])
def test_an_impossible_expires_at_does_not_escape_as_a_value_error(rig: Rig, fetch: Fetch) -> None:
    """R8: `expiresAt` with a zone offset of a day must not end the user's call in a
    ValueError. Its token is no good here either, so the 401 leads to a real login."""
    data = {
        "sessionId": "s-1",
        "token": "opaque-session-token",
        "refreshToken": "r-1",
        "expiresAt": "2030-01-13T22:21:48.9745432+24:00",
        "success": True,
    }
    hub(rig).fail_next_login(200, {"code": 200, "message": "Success", "data": data})

    answer = fetch("GET", rig.url())

    assert answer.status_code == 200
    # with httpx, among the login and refresh answers
    assert (401 in answer.history) is rig.resends_in_history
    assert (hub(rig).logins, hub(rig).refreshes, hub(rig).denials) == (2, 1, 1)
