"""Finvera's cookies over every client and transport: jars, Cookie headers, bearer, validate().

In-process, the base URL is the production https one, so the clients' cookie jars really
store and send back the Secure `DT_*` cookies the login sets; over loopback http they
store them but keep them to themselves. Either way every authenticated call must carry
exactly one, current `DT_AUTH_TOKEN`, and never `DT_REFRESH_TOKEN`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import requests
from test_rules import assert_reported

from conftest import Rig, make_due
from finauth import (
    FinauthError,
    FinveraCookieAuth,
    LoginError,
    ProviderResponseError,
    Token,
)
from finauth._auth import ProviderAuth
from finauth.providers.finvera import LOGIN_PATH, REFRESH_PATH, VALIDATE_PATH
from finauth.testing import Call, Reply
from finauth.testing._clients import Fetch

USER_FIELDS = {"user_id", "email", "username", "licensing_tier_id"}
PAST = "Thu, 01 Jan 1970 00:00:00 GMT"
ORDERS = "/kms/api/v1/orders"


@pytest.fixture
def provider() -> str:
    return "Finvera"


# -- helpers ------------------------------------------------------------------------------


def sent_cookies(call: Call) -> list[tuple[str, str]]:
    """Every cookie a call carried, across all its Cookie headers, duplicates kept."""
    pairs = []
    for header in call.headers.get_list("Cookie"):
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            if name:
                pairs.append((name, value))
    return pairs


def values_of(call: Call, name: str) -> list[str]:
    return [value for key, value in sent_cookies(call) if key == name]


def current(auth: ProviderAuth) -> Token:
    token = auth.token
    assert token is not None
    return token


def assert_carries_only(call: Call, access: str) -> None:
    """Exactly one DT_AUTH_TOKEN, `access`, and no DT_REFRESH_TOKEN."""
    assert values_of(call, "DT_AUTH_TOKEN") == [access]
    assert values_of(call, "DT_REFRESH_TOKEN") == []


def api_calls(rig: Rig) -> list[Call]:
    """Every call that is neither a login nor a refresh."""
    return [
        call for call in rig.emulator.calls if not call.path.endswith((LOGIN_PATH, REFRESH_PATH))
    ]


def mounted(rig: Rig, session: requests.Session) -> requests.Session:
    """`session`, answered in-process by the emulator when the run says so."""
    if rig.transport == "in-process":
        session.mount("https://", rig.emulator.requests_adapter())
    return session


def validating_auth(rig: Rig, **options: Any) -> FinveraCookieAuth:
    """An auth whose validate() (sync, over `auth.session`) reaches this run's emulator."""
    auth = rig.auth(**options)
    assert isinstance(auth, FinveraCookieAuth)
    mounted(rig, auth.session)
    return auth


def validate_calls(rig: Rig) -> list[Call]:
    return [call for call in rig.emulator.calls if call.path == VALIDATE_PATH]


# -- the wire, end to end -----------------------------------------------------------------


def test_login_refresh_and_calls_speak_finvera(rig: Rig) -> None:
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)

    assert fetch("GET", rig.url()).status_code == 200
    first = current(auth)
    make_due(auth)
    assert fetch("GET", rig.url()).status_code == 200
    second = current(auth)

    login, api, refresh, again = rig.emulator.calls
    assert (login.method, login.path) == ("POST", LOGIN_PATH)
    assert login.json() == rig.emulator.credentials()
    assert list(login.json()) == ["email", "password"]
    assert "Cookie" not in login.headers
    assert_carries_only(api, first.access_token)
    assert (refresh.method, refresh.path) == ("POST", REFRESH_PATH)
    assert sent_cookies(refresh) == [("DT_REFRESH_TOKEN", first.refresh_token)]
    assert refresh.body == b""
    assert "Authorization" not in refresh.headers
    assert second.access_token != first.access_token
    assert_carries_only(again, second.access_token)


def test_a_rotated_refresh_token_is_the_one_sent_next(rig: Rig) -> None:
    """The emulator retires each refresh token it rotates: reusing one would force a login."""
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)
    refresh_tokens = []
    for _ in range(4):
        assert fetch("GET", rig.url()).status_code == 200
        refresh_tokens.append(current(auth).refresh_token)
        make_due(auth)

    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (1, 3, 0)
    assert len(set(refresh_tokens)) == 4
    refreshes = [call for call in rig.emulator.calls if call.path == REFRESH_PATH]
    assert [values_of(call, "DT_REFRESH_TOKEN") for call in refreshes] == [
        [token] for token in refresh_tokens[:3]
    ]


# -- the issue's "Watch": cookie jars -----------------------------------------------------


def test_every_call_carries_one_current_auth_cookie_through_refresh_and_401(rig: Rig) -> None:
    auth = rig.auth()
    fetch = rig.open(auth)
    presented: list[str] = []

    def step() -> None:
        assert fetch("GET", rig.url()).status_code == 200
        presented.append(current(auth).access_token)

    step()  # login
    step()  # the jar (if any) now holds both DT_* cookies
    rig.emulator.expire_tokens()
    step()  # 401, refresh through the client, re-send
    step()
    rig.emulator.revoke_tokens()
    step()  # 401, refresh refused, login, re-send
    step()

    calls = api_calls(rig)
    assert len(calls) == 8  # six requests, two of them sent twice
    denied = [calls.pop(5), calls.pop(2)]  # the first tries after expire and revoke
    assert [values_of(call, "DT_AUTH_TOKEN") for call in denied] == [
        [presented[3]],
        [presented[1]],
    ]
    assert [values_of(call, "DT_AUTH_TOKEN") for call in calls] == [[t] for t in presented]
    assert len(set(presented)) == 3
    for call in calls + denied:
        assert values_of(call, "DT_REFRESH_TOKEN") == []
    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (2, 2, 2)


@pytest.mark.parametrize("client_name", ["httpx"])
def test_the_httpx_jar_keeps_the_login_cookies_yet_calls_carry_one(rig: Rig) -> None:
    auth = rig.auth()
    transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None
    with httpx.Client(auth=auth, transport=transport) as client:
        assert client.get(rig.url()).status_code == 200
        first = current(auth)
        # SPEC R10: httpx's own jar keeps the login's Set-Cookie values.
        assert client.cookies["DT_AUTH_TOKEN"] == first.access_token
        assert client.cookies["DT_REFRESH_TOKEN"] == first.refresh_token

        assert client.get(rig.url()).status_code == 200
        rig.emulator.expire_tokens()
        assert client.get(rig.url()).status_code == 200  # 401, refresh, re-send
        second = current(auth)
        assert client.cookies["DT_AUTH_TOKEN"] == second.access_token
        assert client.get(rig.url()).status_code == 200

    calls = api_calls(rig)
    assert len(calls) == 5
    for call in calls[:3]:
        assert_carries_only(call, first.access_token)
    for call in calls[3:]:
        assert_carries_only(call, second.access_token)
    (refresh,) = [call for call in rig.emulator.calls if call.path == REFRESH_PATH]
    assert sent_cookies(refresh) == [("DT_REFRESH_TOKEN", first.refresh_token)]


@pytest.mark.parametrize("client_name", ["httpx-asyncio"])
def test_the_async_httpx_jar_keeps_the_login_cookies_yet_calls_carry_one(rig: Rig) -> None:
    auth = rig.auth(refresh_margin=60)
    transport = rig.emulator.httpx_transport() if rig.transport == "in-process" else None

    async def scenario() -> tuple[str, str]:
        async with httpx.AsyncClient(auth=auth, transport=transport) as client:
            assert (await client.get(rig.url())).status_code == 200
            make_due(auth)
            assert (await client.get(rig.url())).status_code == 200  # refreshed first
            make_due(auth)
            assert (await client.get(rig.url())).status_code == 200  # and again
            return client.cookies["DT_AUTH_TOKEN"], client.cookies["DT_REFRESH_TOKEN"]

    jar_access, jar_refresh = anyio.run(scenario)

    latest = current(auth)
    assert (jar_access, jar_refresh) == (latest.access_token, latest.refresh_token)
    assert rig.emulator.refreshes == 2
    calls = api_calls(rig)
    assert len(calls) == 3
    assert_carries_only(calls[-1], latest.access_token)
    for call in calls:
        assert len(values_of(call, "DT_AUTH_TOKEN")) == 1
        assert values_of(call, "DT_REFRESH_TOKEN") == []


@pytest.mark.parametrize("client_name", ["requests"])
def test_a_session_passed_in_gets_no_auth_cookie_and_calls_carry_one(rig: Rig) -> None:
    with mounted(rig, requests.Session()) as session:
        auth = rig.auth(session=session)
        with session.get(rig.url(), auth=auth) as response:
            assert response.status_code == 200
        first = current(auth)
        # login traffic went through the session's adapter (R13), but stayed out of its
        # jar, which would send the cookies to any port of the host, redirects too (R10)
        assert not session.cookies

        with session.get(rig.url(), auth=auth) as response:
            assert response.status_code == 200
        rig.emulator.expire_tokens()
        with session.get(rig.url(), auth=auth) as response:
            assert response.status_code == 200
            assert [earlier.status_code for earlier in response.history] == [401]
        second = current(auth)
        assert not session.cookies
        session.auth = auth
        with session.get(rig.url()) as response:
            assert response.status_code == 200

    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 1)
    calls = api_calls(rig)
    assert len(calls) == 5
    for call in calls[:3]:
        assert_carries_only(call, first.access_token)
    for call in calls[3:]:
        assert_carries_only(call, second.access_token)
    (refresh,) = [call for call in rig.emulator.calls if call.path == REFRESH_PATH]
    assert sent_cookies(refresh) == [("DT_REFRESH_TOKEN", first.refresh_token)]


@pytest.mark.parametrize("client_name", ["requests"])
@pytest.mark.parametrize("transport", ["in-process"])
def test_a_stale_auth_cookie_in_the_session_jar_is_replaced(rig: Rig) -> None:
    with mounted(rig, requests.Session()) as session:
        session.cookies.set("DT_AUTH_TOKEN", "stale-from-yesterday", domain="api.finvera.news")
        session.cookies.set("DT_REFRESH_TOKEN", "old-refresh", domain="api.finvera.news")
        session.cookies.set("theirs", "1", domain="api.finvera.news")
        auth = rig.auth(session=session)
        session.auth = auth
        with session.get(rig.url()) as response:
            assert response.status_code == 200

    (call,) = api_calls(rig)
    assert_carries_only(call, current(auth).access_token)
    assert values_of(call, "theirs") == ["1"]
    (login,) = [call for call in rig.emulator.calls if call.path == LOGIN_PATH]
    assert "Cookie" not in login.headers


# -- the caller's own Cookie header -------------------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param("other=1", id="other"),
        pytest.param("other=1; DT_AUTH_TOKEN=old", id="other-and-stale"),
        pytest.param("DT_AUTH_TOKEN=old; other=1; DT_REFRESH_TOKEN=leak", id="both-stale"),
    ],
)
def test_the_callers_cookies_are_kept_and_a_stale_auth_cookie_replaced(
    rig: Rig, auth: ProviderAuth, fetch: Fetch, cookie: str
) -> None:
    assert fetch("GET", rig.url(), headers={"Cookie": cookie}).status_code == 200
    rig.emulator.expire_tokens()
    assert fetch("GET", rig.url(), headers={"Cookie": cookie}).status_code == 200  # 401, again

    first, denied, resent = api_calls(rig)
    assert not rig.emulator.authorized(denied)
    for call in (first, denied, resent):
        assert values_of(call, "other") == ["1"]
        assert len(values_of(call, "DT_AUTH_TOKEN")) == 1
        assert "old" not in values_of(call, "DT_AUTH_TOKEN")
        assert values_of(call, "DT_REFRESH_TOKEN") == []
    assert_carries_only(resent, current(auth).access_token)


# -- scheme="bearer" ----------------------------------------------------------------------


def test_the_bearer_scheme_sends_authorization_and_no_dt_cookie(rig: Rig) -> None:
    auth = rig.auth(scheme="bearer", refresh_margin=60)
    fetch = rig.open(auth)
    cookie = {"Cookie": "other=1; DT_AUTH_TOKEN=old; DT_REFRESH_TOKEN=leak"}

    tokens = []
    for headers in (cookie, cookie, {}):  # each call after the login refreshes first
        assert fetch("GET", rig.url(), headers=headers).status_code == 200
        tokens.append(current(auth).access_token)
        make_due(auth)

    calls = api_calls(rig)
    assert [call.headers["Authorization"] for call in calls] == [f"Bearer {t}" for t in tokens]
    assert len(set(tokens)) == 3
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 2)
    for call in calls:
        assert not [name for name, _ in sent_cookies(call) if name.startswith("DT_")]
    assert [values_of(call, "other") for call in calls] == [["1"], ["1"], []]
    for refresh in [call for call in rig.emulator.calls if call.path == REFRESH_PATH]:
        assert len(values_of(refresh, "DT_REFRESH_TOKEN")) == 1
        assert "Authorization" not in refresh.headers


@pytest.mark.parametrize("client_name", ["requests"])
def test_the_bearer_scheme_with_a_session_jar_full_of_dt_cookies(rig: Rig) -> None:
    with mounted(rig, requests.Session()) as session:
        auth = rig.auth(scheme="bearer", session=session)
        session.auth = auth
        for _ in range(2):
            with session.get(rig.url()) as response:
                assert response.status_code == 200
        rig.emulator.expire_tokens()
        with session.get(rig.url()) as response:  # 401: the re-send re-reads the jar
            assert response.status_code == 200

    calls = api_calls(rig)
    assert len(calls) == 4
    assert calls[-1].headers["Authorization"] == f"Bearer {current(auth).access_token}"
    for call in calls:
        assert not [name for name, _ in sent_cookies(call) if name.startswith("DT_")]


# -- validate() ---------------------------------------------------------------------------


def test_validate_logs_in_first_and_sends_the_token_as_bearer(rig: Rig) -> None:
    auth = validating_auth(rig)

    user = auth.validate()

    assert set(user) == USER_FIELDS
    assert user["email"] == rig.emulator.credentials()["email"]
    assert user["licensing_tier_id"] == "enterprise"
    assert rig.emulator.logins == 1
    login, validate = rig.emulator.calls
    assert login.path == LOGIN_PATH
    assert (validate.method, validate.path) == ("GET", VALIDATE_PATH)
    assert validate.headers["Authorization"] == f"Bearer {current(auth).access_token}"
    assert not [name for name, _ in sent_cookies(validate) if name.startswith("DT_")]


def test_validate_uses_the_token_the_client_got_and_the_client_the_one_it_got(
    rig: Rig,
) -> None:
    auth = validating_auth(rig)
    fetch = rig.open(auth)
    assert fetch("GET", rig.url()).status_code == 200
    token = current(auth).access_token

    assert set(auth.validate()) == USER_FIELDS
    assert fetch("GET", rig.url()).status_code == 200

    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 0)
    (validate,) = validate_calls(rig)
    assert validate.headers["Authorization"] == f"Bearer {token}"
    assert_carries_only(api_calls(rig)[-1], token)


@pytest.mark.parametrize("client_name", ["requests"])
def test_a_token_validate_logged_in_with_serves_the_client(rig: Rig) -> None:
    auth = validating_auth(rig)
    auth.validate()
    fetch = rig.open(auth)

    assert fetch("GET", rig.url()).status_code == 200

    assert rig.emulator.logins == 1
    assert_carries_only(api_calls(rig)[-1], current(auth).access_token)


@pytest.mark.parametrize("client_name", ["requests"])
def test_validate_over_a_session_jar_sends_no_dt_cookie(rig: Rig) -> None:
    with mounted(rig, requests.Session()) as session:
        auth = rig.auth(session=session)
        assert isinstance(auth, FinveraCookieAuth)
        auth.login()
        # DT_* cookies in the caller's jar, from wherever: validate sends none of them
        session.cookies.set("DT_AUTH_TOKEN", "jar-access-cookie")
        session.cookies.set("DT_REFRESH_TOKEN", "jar-refresh-cookie")

        assert set(auth.validate()) == USER_FIELDS

    (validate,) = validate_calls(rig)
    assert validate.headers["Authorization"] == f"Bearer {current(auth).access_token}"
    assert not [name for name, _ in sent_cookies(validate) if name.startswith("DT_")]


def test_validate_renews_a_revoked_token_after_a_401(rig: Rig) -> None:
    auth = validating_auth(rig)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    old = current(auth).access_token
    rig.emulator.revoke_tokens()

    user = auth.validate()

    assert set(user) == USER_FIELDS
    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (2, 1, 1)
    denied, accepted = validate_calls(rig)
    assert denied.headers["Authorization"] == f"Bearer {old}"
    new = accepted.headers["Authorization"].removeprefix("Bearer ")
    assert new != old
    assert rig.emulator.verify(new, "access") is not None


@pytest.mark.parametrize("client_name", ["requests", "httpx"])
def test_after_validate_renewed_the_auth_and_its_clients_use_the_new_token(rig: Rig) -> None:
    """One auth, one token: what validate() renewed is `auth.token`, and the next call
    carries it at once, with no second 401 (which a one-shot body could not survive)."""
    auth = validating_auth(rig)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    rig.emulator.revoke_tokens()
    auth.validate()
    (_, accepted) = validate_calls(rig)
    renewed = accepted.headers["Authorization"].removeprefix("Bearer ")

    assert current(auth).access_token == renewed
    assert fetch("GET", rig.url()).status_code == 200
    assert_carries_only(api_calls(rig)[-1], renewed)
    assert (rig.emulator.logins, rig.emulator.denials) == (2, 1)


@pytest.mark.parametrize("client_name", ["requests", "httpx"])
def test_after_the_client_renewed_validate_uses_the_new_token(rig: Rig) -> None:
    auth = validating_auth(rig)
    fetch = rig.open(auth)
    auth.validate()
    rig.emulator.revoke_tokens()
    assert fetch("GET", rig.url()).status_code == 200  # 401, login, re-send
    renewed = current(auth).access_token

    assert set(auth.validate()) == USER_FIELDS

    assert validate_calls(rig)[-1].headers["Authorization"] == f"Bearer {renewed}"
    assert (rig.emulator.logins, rig.emulator.denials) == (2, 1)


@pytest.mark.parametrize("client_name", ["requests", "httpx"])
def test_a_one_shot_upload_right_after_validate_renewed_goes_through(rig: Rig) -> None:
    """R5 forbids re-sending a one-shot body, so it must not go out with a dead token."""
    rig.emulator.route("POST", ORDERS, {"placed": True})
    auth = validating_auth(rig)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    rig.emulator.revoke_tokens()
    auth.validate()  # 401, renewed

    def chunks() -> Iterator[bytes]:
        yield b"symbol=RELIANCE,"
        yield b"qty=3"

    body = {"content": chunks()}
    answer = fetch("POST", rig.url(ORDERS), **body)

    assert answer.status_code == 200
    assert [call.body for call in rig.calls_to(ORDERS)] == [b"symbol=RELIANCE,qty=3"]


@pytest.mark.parametrize("client_name", ["requests"])
def test_validate_refreshes_an_expired_token_after_a_401(rig: Rig) -> None:
    auth = validating_auth(rig)
    auth.validate()
    rig.emulator.expire_tokens()  # the refresh token still works

    assert set(auth.validate()) == USER_FIELDS

    assert (rig.emulator.logins, rig.emulator.refreshes, rig.emulator.denials) == (1, 1, 1)
    assert validate_calls(rig)[-1].headers["Authorization"] == (
        f"Bearer {current(auth).access_token}"
    )


@pytest.mark.parametrize("client_name", ["requests"])
def test_validate_refused_even_after_renewal_raises_once_without_a_loop(rig: Rig) -> None:
    auth = validating_auth(rig)
    auth.validate()
    rig.emulator.handle_route("GET", VALIDATE_PATH, lambda call: rig.emulator.deny())

    with pytest.raises(LoginError) as caught:
        auth.validate()

    error = caught.value
    assert error.status_code == 401
    assert error.provider == "Finvera"
    assert error.endpoint == f"GET {rig.base_url}{VALIDATE_PATH}"
    assert error.provider_message == "Not authenticated"
    assert len(validate_calls(rig)) == 3  # the first validate, then one try and one re-send
    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 1)
    assert not [secret for secret in rig.secrets() if secret in str(error)]


@pytest.mark.parametrize("client_name", ["requests"])
def test_validate_answered_with_html_is_a_provider_response_error(rig: Rig) -> None:
    auth = validating_auth(rig)
    rig.emulator.handle_route(
        "GET", VALIDATE_PATH, lambda call: Reply(200, b"<html>maintenance</html>")
    )

    with pytest.raises(ProviderResponseError) as caught:
        auth.validate()

    assert caught.value.status_code == 200
    assert caught.value.endpoint == f"GET {rig.base_url}{VALIDATE_PATH}"
    assert "maintenance" in caught.value.excerpt


@pytest.mark.parametrize("client_name", ["requests"])
def test_validate_with_the_bearer_scheme(rig: Rig) -> None:
    auth = validating_auth(rig, scheme="bearer")
    assert set(auth.validate()) == USER_FIELDS
    (validate,) = validate_calls(rig)
    assert validate.headers["Authorization"] == f"Bearer {current(auth).access_token}"


@pytest.mark.parametrize("client_name", ["requests"])
def test_validate_raises_login_error_when_the_login_is_refused(rig: Rig) -> None:
    auth = validating_auth(rig)
    rig.emulator.fail_next_login(401, {"detail": "Incorrect email or password"})

    with pytest.raises(LoginError) as caught:
        auth.validate()

    error = caught.value
    assert error.provider == "Finvera"
    assert error.status_code == 401
    assert error.provider_message == "Incorrect email or password"
    assert error.endpoint is not None
    assert error.endpoint.endswith(LOGIN_PATH)
    assert validate_calls(rig) == []
    assert not [secret for secret in rig.secrets() if secret in str(error)]


# -- bad login answers, end to end (R8) ---------------------------------------------------


def dt_auth(value: str, *attributes: str) -> tuple[str, str]:
    return ("Set-Cookie", "; ".join([f"DT_AUTH_TOKEN={value}", "HttpOnly", "Secure", *attributes]))


@pytest.mark.parametrize(
    ("kind", "status", "body", "expected"),
    [
        pytest.param(
            "other-cookie",
            200,
            {"message": "Authentication successful", "expires_in": 3600},
            ProviderResponseError,
            id="set-cookie-without-dt-auth-token",
        ),
        pytest.param(
            "max-age-0",
            200,
            {"message": "ok", "expires_in": 3600},
            ProviderResponseError,
            id="dt-auth-token-max-age-0",
        ),
        pytest.param(
            "expires-past",
            200,
            {"message": "ok"},
            ProviderResponseError,
            id="dt-auth-token-expired",
        ),
        pytest.param("none", 200, {"message": "ok"}, ProviderResponseError, id="no-token-at-all"),
        pytest.param("none", 401, {"detail": "Incorrect email or password"}, LoginError, id="401"),
    ],
)
def test_an_unusable_finvera_login_raises_the_right_error(
    rig: Rig, fetch: Fetch, kind: str, status: int, body: object, expected: type[FinauthError]
) -> None:
    issued = rig.emulator.issue("access")  # a real token: it must not leak either
    headers = {
        "other-cookie": [("Set-Cookie", "session=abc; Path=/; HttpOnly")],
        "max-age-0": [dt_auth(issued, "Path=/", "Max-Age=0")],
        "expires-past": [dt_auth(issued, "Path=/", f"Expires={PAST}")],
        "none": [],
    }[kind]
    rig.emulator.fail_next_login(status, body, headers=headers)

    with pytest.raises(FinauthError) as caught:
        fetch("GET", rig.url())

    assert_reported(rig, caught.value, expected)
    error = caught.value
    if isinstance(error, LoginError):
        assert error.status_code == 401
        assert error.provider_message == "Incorrect email or password"
    else:
        assert isinstance(error, ProviderResponseError)
        assert error.status_code == 200
        assert issued not in error.excerpt
        assert "DT_AUTH_TOKEN" in str(error)


def test_a_failed_cookie_login_leaves_nothing_behind(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    issued = rig.emulator.issue("access")
    rig.emulator.fail_next_login(200, {"message": "ok"}, headers=[dt_auth(issued, "Max-Age=0")])
    with pytest.raises(ProviderResponseError):
        fetch("GET", rig.url())
    assert auth.token is None

    assert fetch("GET", rig.url()).status_code == 200

    assert rig.emulator.logins == 2
    (call,) = api_calls(rig)
    assert_carries_only(call, current(auth).access_token)
    assert current(auth).access_token != issued


@pytest.mark.parametrize("client_name", ["requests", "httpx"])
def test_a_login_whose_cookies_are_partitioned_works(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    """CHIPS servers add `Partitioned` (RFC 6265bis); an attribute unknown to the client
    is ignored (RFC 6265 §5.2), so the tokens are still read."""
    access, refresh = rig.emulator.issue("access"), rig.emulator.issue("refresh")
    attributes = "HttpOnly; Secure; Path=/; SameSite=None; Partitioned"
    rig.emulator.fail_next_login(
        200,
        {"message": "Authentication successful", "expires_in": 3600},
        headers=[
            ("Set-Cookie", f"DT_AUTH_TOKEN={access}; Max-Age=3600; {attributes}"),
            ("Set-Cookie", f"DT_REFRESH_TOKEN={refresh}; Max-Age=2592000; {attributes}"),
        ],
    )

    assert fetch("GET", rig.url()).status_code == 200

    assert (current(auth).access_token, current(auth).refresh_token) == (access, refresh)
    assert_carries_only(api_calls(rig)[-1], access)


# -- a server that sends the tokens in the body -------------------------------------------


def test_a_body_token_server_works_end_to_end(rig: Rig, auth: ProviderAuth, fetch: Fetch) -> None:
    access = rig.emulator.issue("access")
    refresh = rig.emulator.issue("refresh")
    rig.emulator.fail_next_login(
        200,
        {"message": "ok", "token": access, "refresh_token": refresh, "expires_in": 3600},
    )

    assert fetch("GET", rig.url()).status_code == 200
    assert (current(auth).access_token, current(auth).refresh_token) == (access, refresh)
    (first,) = api_calls(rig)
    assert_carries_only(first, access)

    rig.emulator.expire_tokens()
    assert fetch("GET", rig.url()).status_code == 200  # 401, refresh with the body's token

    assert (rig.emulator.logins, rig.emulator.refreshes) == (1, 1)
    (refresh_call,) = [call for call in rig.emulator.calls if call.path == REFRESH_PATH]
    assert sent_cookies(refresh_call) == [("DT_REFRESH_TOKEN", refresh)]
    assert_carries_only(api_calls(rig)[-1], current(auth).access_token)


def test_a_body_token_the_emulator_never_issued_is_refused_then_renewed(
    rig: Rig, auth: ProviderAuth, fetch: Fetch
) -> None:
    """The login "succeeds" with a token the API rejects: R4 renews and re-sends once."""
    rig.emulator.fail_next_login(200, {"message": "ok", "token": "forged", "expires_in": 3600})

    answer = fetch("GET", rig.url())

    assert answer.status_code == 200
    assert (401 in answer.history) is rig.resends_in_history
    assert (rig.emulator.logins, rig.emulator.refreshes) == (2, 0)  # no refresh token
    denied, accepted = api_calls(rig)
    assert values_of(denied, "DT_AUTH_TOKEN") == ["forged"]
    assert_carries_only(accepted, current(auth).access_token)


@pytest.mark.optional_client
@pytest.mark.parametrize("client_name", ["aiohttp"])
@pytest.mark.parametrize("transport", ["loopback"])
def test_aiohttp_keeps_the_cookies_auth_answers_set_out_of_the_sessions_jar(
    rig: Rig, auth: ProviderAuth
) -> None:
    """R10: aiohttp's jar would send Finvera's DT_* cookies to every port of the host; the
    session's own cookies stay. (A jar that takes cookies of an IP address, as one for a
    named host does.)"""
    import aiohttp

    async def jar_after_a_login() -> list[tuple[str, str]]:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(middlewares=(auth,), cookie_jar=jar) as session:
            session.cookie_jar.update_cookies({"theme": "dark"}, response_url=session_url)
            async with session.get(rig.url()) as response:
                assert response.status == 200
            return [(cookie.key, cookie.value) for cookie in session.cookie_jar]

    from yarl import URL

    session_url = URL(rig.base_url)
    assert anyio.run(jar_after_a_login) == [("theme", "dark")]
    assert rig.emulator.logins == 1
