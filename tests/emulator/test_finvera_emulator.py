"""FinveraEmulator driven directly through `handle(Call(...))`: no transport, no network."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import httpx
import jwt
import pytest
import requests

from finauth import FinveraCookieAuth
from finauth.testing import Call, FinveraEmulator, Reply
from finauth.testing.finvera import DEMO_EMAIL, DEMO_PASSWORD, NEWS_PATH

LOGIN = "/kms/api/v1/auth/token"
REFRESH = "/kms/api/v1/auth/refresh"
VALIDATE = "/kms/api/v1/auth/validate"
THIRTY_DAYS = 30 * 86400


# -- helpers ------------------------------------------------------------------------------


def make_call(
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] | dict[str, str] | None = None,
    body: bytes = b"",
) -> Call:
    return Call(method, path, "", httpx.Headers(headers or {}), body)


def login_call(email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> Call:
    body = json.dumps({"email": email, "password": password}).encode()
    return make_call("POST", LOGIN, headers={"Content-Type": "application/json"}, body=body)


def body_of(reply: Reply) -> Any:
    return json.loads(reply.body)


def set_cookies(reply: Reply) -> list[str]:
    return [value for key, value in reply.headers if key.lower() == "set-cookie"]


def parsed(header: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, attributes lower-cased) of one Set-Cookie line, read by hand."""
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, attribute = part.partition("=")
        attributes[key.lower()] = attribute
    return name, value, attributes


def login(emulator: FinveraEmulator) -> tuple[str, str]:
    """(access, refresh) from a successful login's cookies."""
    reply = emulator.handle(login_call(emulator.email, emulator.password))
    assert reply.status == 200, reply.body
    return tokens_of(reply)


def tokens_of(reply: Reply) -> tuple[str, str]:
    jar: dict[str, str] = {}
    for header in set_cookies(reply):
        name, value, _ = parsed(header)
        jar[name] = value
    return jar["DT_AUTH_TOKEN"], jar["DT_REFRESH_TOKEN"]


def refresh(emulator: FinveraEmulator, *cookie_headers: str) -> Reply:
    headers = [("Cookie", header) for header in cookie_headers]
    return emulator.handle(make_call("POST", REFRESH, headers=headers))


def news(emulator: FinveraEmulator, headers: list[tuple[str, str]] | dict[str, str]) -> Reply:
    return emulator.handle(make_call("GET", NEWS_PATH, headers=headers))


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


@pytest.fixture
def emulator() -> FinveraEmulator:
    return FinveraEmulator()


# -- login --------------------------------------------------------------------------------


def test_login_sets_both_cookies_as_the_seed_says(emulator: FinveraEmulator) -> None:
    reply = emulator.handle(login_call())

    assert reply.status == 200
    assert body_of(reply) == {"message": "Authentication successful", "expires_in": 3600}
    assert ("Content-Type", "application/json") in reply.headers
    access_line, refresh_line = set_cookies(reply)
    for line, name, max_age in (
        (access_line, "DT_AUTH_TOKEN", "3600"),
        (refresh_line, "DT_REFRESH_TOKEN", str(THIRTY_DAYS)),
    ):
        cookie_name, value, attributes = parsed(line)
        assert cookie_name == name
        assert value
        assert "httponly" in attributes
        assert "secure" in attributes
        assert attributes["path"] == "/"
        assert attributes["max-age"] == max_age
        assert attributes["samesite"] == "Lax"
    assert emulator.logins == 1


def test_login_cookies_parse_with_the_standard_library(emulator: FinveraEmulator) -> None:
    reply = emulator.handle(login_call())
    access, refresh_token = tokens_of(reply)
    for line, value in zip(set_cookies(reply), (access, refresh_token), strict=True):
        jar: SimpleCookie = SimpleCookie()
        jar.load(line)
        (morsel,) = jar.values()
        assert morsel.value == value
        assert morsel["httponly"] is True
        assert morsel["secure"] is True


def test_login_tokens_are_real_hs256_jwts(emulator: FinveraEmulator) -> None:
    access, refresh_token = login(emulator)
    assert jwt.get_unverified_header(access)["alg"] == "HS256"
    access_claims, refresh_claims = claims_of(access), claims_of(refresh_token)
    assert access_claims["token_type"] == "access"
    assert refresh_claims["token_type"] == "refresh"
    assert access_claims["sub"] == refresh_claims["sub"] == DEMO_EMAIL
    assert access_claims["exp"] - access_claims["iat"] == pytest.approx(3600)
    assert refresh_claims["exp"] - refresh_claims["iat"] == pytest.approx(THIRTY_DAYS)
    assert emulator.issued == [access, refresh_token]
    assert emulator.signed(access) == access_claims
    assert emulator.signed(jwt.encode(access_claims, "another-key-of-32-bytes-or-more!!!")) is None


def test_token_ttl_sets_max_age_expires_in_and_exp(emulator: FinveraEmulator) -> None:
    emulator.token_ttl = 90
    reply = emulator.handle(login_call())
    assert body_of(reply)["expires_in"] == 90
    access_line = set_cookies(reply)[0]
    assert parsed(access_line)[2]["max-age"] == "90"
    claims = claims_of(parsed(access_line)[1])
    assert claims["exp"] - claims["iat"] == pytest.approx(90)


@pytest.mark.parametrize(
    ("email", "password"),
    [(DEMO_EMAIL, "wrong"), ("someone@else.test", DEMO_PASSWORD), (DEMO_EMAIL.upper(), "x")],
)
def test_wrong_credentials_are_a_401(emulator: FinveraEmulator, email: str, password: str) -> None:
    reply = emulator.handle(login_call(email, password))
    assert reply.status == 401
    assert body_of(reply) == {"detail": "Incorrect email or password"}
    assert set_cookies(reply) == []
    assert emulator.issued == []
    assert emulator.logins == 1


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"email": "demo@finvera.test"}', b'{"email": 1, "password": 2}'],
)
def test_a_malformed_login_is_a_422(emulator: FinveraEmulator, body: bytes) -> None:
    reply = emulator.handle(make_call("POST", LOGIN, body=body))
    assert reply.status == 422
    assert set_cookies(reply) == []


def test_fail_next_login_answers_once_with_the_given_cookies(emulator: FinveraEmulator) -> None:
    emulator.fail_next_login(
        200, {"message": "ok"}, headers=[("Set-Cookie", "session=abc; Path=/")]
    )
    failed = emulator.handle(login_call())
    assert (failed.status, body_of(failed)) == (200, {"message": "ok"})
    assert set_cookies(failed) == ["session=abc; Path=/"]
    assert emulator.handle(login_call()).status == 200
    assert emulator.logins == 2


def test_fail_next_login_without_a_body_uses_finveras_error(emulator: FinveraEmulator) -> None:
    emulator.fail_next_login(401)
    reply = emulator.handle(login_call())
    assert (reply.status, body_of(reply)) == (401, {"detail": "Incorrect email or password"})
    assert body_of(emulator.login_failure(403)) == {"detail": "Incorrect email or password"}


# -- refresh ------------------------------------------------------------------------------


def test_refresh_with_the_cookie_rotates_both_tokens(emulator: FinveraEmulator) -> None:
    access, refresh_token = login(emulator)

    reply = refresh(emulator, f"DT_REFRESH_TOKEN={refresh_token}")

    assert reply.status == 200
    assert body_of(reply) == {"message": "Token refreshed successfully", "expires_in": 3600}
    new_access, new_refresh = tokens_of(reply)
    assert new_access != access
    assert new_refresh != refresh_token
    assert [parsed(line)[2]["max-age"] for line in set_cookies(reply)] == [
        "3600",
        str(THIRTY_DAYS),
    ]
    assert emulator.refreshes == 1
    # the old refresh token is spent, the new one works, the old access token still does
    assert refresh(emulator, f"DT_REFRESH_TOKEN={refresh_token}").status == 401
    assert refresh(emulator, f"DT_REFRESH_TOKEN={new_refresh}").status == 200
    assert news(emulator, {"Cookie": f"DT_AUTH_TOKEN={access}"}).status == 200
    assert emulator.refreshes == 3


def test_refresh_finds_the_cookie_among_others(emulator: FinveraEmulator) -> None:
    _, refresh_token = login(emulator)
    reply = refresh(emulator, f"theme=dark; DT_REFRESH_TOKEN={refresh_token}; other=1")
    assert reply.status == 200


def test_refresh_still_works_once_access_tokens_expire(emulator: FinveraEmulator) -> None:
    access, refresh_token = login(emulator)
    emulator.expire_tokens()
    assert news(emulator, {"Cookie": f"DT_AUTH_TOKEN={access}"}).status == 401
    assert refresh(emulator, f"DT_REFRESH_TOKEN={refresh_token}").status == 200


@pytest.mark.parametrize(
    "cookie",
    [
        pytest.param(None, id="no-cookie"),
        pytest.param("DT_REFRESH_TOKEN=", id="empty"),
        pytest.param("DT_REFRESH_TOKEN=garbage", id="garbage"),
        pytest.param("theme=dark", id="other-cookie-only"),
        pytest.param("ACCESS", id="the-access-token"),
        pytest.param("TWICE", id="two-refresh-cookies"),
        pytest.param("REVOKED", id="revoked"),
    ],
)
def test_refresh_without_a_good_cookie_is_a_401(
    emulator: FinveraEmulator, cookie: str | None
) -> None:
    access, refresh_token = login(emulator)
    headers = {
        None: (),
        "ACCESS": (f"DT_REFRESH_TOKEN={access}",),
        "TWICE": (f"DT_REFRESH_TOKEN={refresh_token}; DT_REFRESH_TOKEN={refresh_token}",),
        "REVOKED": (f"DT_REFRESH_TOKEN={refresh_token}",),
    }.get(cookie, (cookie,))
    if cookie == "REVOKED":
        emulator.revoke_tokens()

    reply = refresh(emulator, *[header for header in headers if header is not None])

    assert reply.status == 401
    assert body_of(reply) == {"detail": "Invalid or expired refresh token"}
    assert set_cookies(reply) == []
    assert emulator.refreshes == 1


def test_a_refresh_token_sent_as_bearer_does_not_refresh(emulator: FinveraEmulator) -> None:
    _, refresh_token = login(emulator)
    reply = emulator.handle(
        make_call("POST", REFRESH, headers={"Authorization": f"Bearer {refresh_token}"})
    )
    assert reply.status == 401


# -- protected routes ---------------------------------------------------------------------


def test_the_news_route_accepts_the_auth_cookie(emulator: FinveraEmulator) -> None:
    access, _ = login(emulator)
    reply = news(emulator, {"Cookie": f"other=1; DT_AUTH_TOKEN={access}"})
    assert reply.status == 200
    articles = body_of(reply)["articles"]
    assert articles
    assert {"id", "title", "source"} <= set(articles[0])
    assert emulator.denials == 0


def test_the_news_route_accepts_a_bearer_token(emulator: FinveraEmulator) -> None:
    access, _ = login(emulator)
    assert news(emulator, {"Authorization": f"Bearer {access}"}).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="nothing"),
        pytest.param({"Cookie": "other=1"}, id="other-cookie"),
        pytest.param({"Cookie": "DT_AUTH_TOKEN=forged"}, id="forged-cookie"),
        pytest.param({"Authorization": "Bearer forged"}, id="forged-bearer"),
        pytest.param({"Authorization": "JWT ACCESS"}, id="wrong-scheme"),
        pytest.param({"Cookie": "DT_AUTH_TOKEN=ACCESS; DT_AUTH_TOKEN=ACCESS"}, id="two-cookies"),
        pytest.param(
            {"Cookie": "DT_AUTH_TOKEN=junk", "Authorization": "Bearer ACCESS"}, id="cookie-first"
        ),
    ],
)
def test_the_news_route_refuses_anything_else(
    emulator: FinveraEmulator, headers: dict[str, str]
) -> None:
    access, _ = login(emulator)
    sent = {name: value.replace("ACCESS", access) for name, value in headers.items()}

    reply = news(emulator, sent)

    assert reply.status == 401
    assert body_of(reply) == {"detail": "Not authenticated"}
    assert emulator.denials == 1


def test_two_auth_cookies_in_separate_headers_are_refused(emulator: FinveraEmulator) -> None:
    access, _ = login(emulator)
    reply = news(
        emulator, [("Cookie", f"DT_AUTH_TOKEN={access}"), ("Cookie", f"DT_AUTH_TOKEN={access}")]
    )
    assert reply.status == 401


def test_an_access_token_stops_working_when_expired_or_revoked(
    emulator: FinveraEmulator,
) -> None:
    first, _ = login(emulator)
    emulator.expire_tokens()
    second, _ = login(emulator)
    assert news(emulator, {"Cookie": f"DT_AUTH_TOKEN={first}"}).status == 401
    assert news(emulator, {"Cookie": f"DT_AUTH_TOKEN={second}"}).status == 200
    emulator.revoke_tokens()
    assert news(emulator, {"Cookie": f"DT_AUTH_TOKEN={second}"}).status == 401


def test_a_refresh_token_is_no_access_token(emulator: FinveraEmulator) -> None:
    _, refresh_token = login(emulator)
    assert news(emulator, {"Authorization": f"Bearer {refresh_token}"}).status == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", NEWS_PATH), ("POST", LOGIN), ("GET", VALIDATE), ("GET", "/nowhere")],
)
def test_the_refresh_cookie_anywhere_but_refresh_is_a_400(
    emulator: FinveraEmulator, method: str, path: str
) -> None:
    access, refresh_token = login(emulator)
    calls_before = len(emulator.calls)
    headers = {
        "Cookie": f"DT_AUTH_TOKEN={access}; DT_REFRESH_TOKEN={refresh_token}",
        "Authorization": f"Bearer {access}",
    }

    reply = emulator.handle(make_call(method, path, headers=headers))

    assert reply.status == 400
    assert body_of(reply) == {"detail": f"DT_REFRESH_TOKEN sent to {path}"}
    assert len(emulator.calls) == calls_before + 1  # recorded all the same
    assert (emulator.logins, emulator.denials) == (1, 0)


def test_route_adds_a_protected_endpoint(emulator: FinveraEmulator) -> None:
    emulator.route("POST", "/kms/api/v1/orders", {"placed": True}, status=201)
    access, _ = login(emulator)
    path = "/kms/api/v1/orders"
    cookie = {"Cookie": f"DT_AUTH_TOKEN={access}"}
    assert emulator.handle(make_call("POST", path)).status == 401
    created = emulator.handle(make_call("POST", path, headers=cookie))
    assert (created.status, body_of(created)) == (201, {"placed": True})


def test_an_unknown_path_is_a_404_listing_the_routes(emulator: FinveraEmulator) -> None:
    reply = emulator.handle(make_call("GET", "/kms/api/v1/nothing"))
    assert reply.status == 404
    assert set(body_of(reply)["routes"]) == {
        f"POST {LOGIN}",
        f"POST {REFRESH}",
        f"GET {NEWS_PATH}",
        f"GET {VALIDATE}",
    }
    assert "Finvera" in body_of(reply)["message"]


# -- validate -----------------------------------------------------------------------------


def test_validate_answers_the_user_for_a_bearer_token(emulator: FinveraEmulator) -> None:
    access, _ = login(emulator)
    reply = emulator.handle(
        make_call("GET", VALIDATE, headers={"Authorization": f"Bearer {access}"})
    )
    assert reply.status == 200
    user = body_of(reply)
    assert set(user) == {"user_id", "email", "username", "licensing_tier_id"}
    assert (user["email"], user["username"]) == (DEMO_EMAIL, "demo")
    assert user["licensing_tier_id"] == "enterprise"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Cookie": "DT_AUTH_TOKEN=ACCESS"}, id="cookie"),
        pytest.param({}, id="nothing"),
        pytest.param({"Authorization": "Bearer forged"}, id="forged"),
        pytest.param({"Authorization": "bearer ACCESS"}, id="lower-case-scheme"),
    ],
)
def test_validate_accepts_a_bearer_token_only(
    emulator: FinveraEmulator, headers: dict[str, str]
) -> None:
    access, _ = login(emulator)
    sent = {name: value.replace("ACCESS", access) for name, value in headers.items()}
    reply = emulator.handle(make_call("GET", VALIDATE, headers=sent))
    assert reply.status == 401
    assert body_of(reply) == {"detail": "Not authenticated"}
    assert emulator.denials == 1


def test_validate_refuses_an_expired_token(emulator: FinveraEmulator) -> None:
    access, _ = login(emulator)
    emulator.expire_tokens()
    reply = emulator.handle(
        make_call("GET", VALIDATE, headers={"Authorization": f"Bearer {access}"})
    )
    assert reply.status == 401


def test_validate_names_the_emulators_own_account() -> None:
    emulator = FinveraEmulator(email="ada@lovelace.test", password="pw")
    access, _ = login(emulator)
    reply = emulator.handle(
        make_call("GET", VALIDATE, headers={"Authorization": f"Bearer {access}"})
    )
    assert (body_of(reply)["email"], body_of(reply)["username"]) == ("ada@lovelace.test", "ada")


# -- presented ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Cookie": "DT_AUTH_TOKEN=tok"}, "tok", id="cookie"),
        pytest.param({"Cookie": "a=1; DT_AUTH_TOKEN=tok; b=2"}, "tok", id="cookie-among-others"),
        pytest.param({"Authorization": "Bearer tok"}, "tok", id="bearer"),
        pytest.param(
            {"Cookie": "DT_AUTH_TOKEN=cookie", "Authorization": "Bearer header"},
            "cookie",
            id="cookie-first",
        ),
        pytest.param({"Cookie": "DT_AUTH_TOKEN=a; DT_AUTH_TOKEN=b"}, None, id="two-cookies"),
        pytest.param({"Cookie": "DT_REFRESH_TOKEN=r"}, None, id="refresh-cookie"),
        pytest.param({"Authorization": "JWT tok"}, None, id="other-scheme"),
        pytest.param({}, None, id="nothing"),
    ],
)
def test_presented_says_which_token_a_call_carries(
    emulator: FinveraEmulator, headers: dict[str, str], expected: str | None
) -> None:
    assert emulator.presented(make_call("GET", NEWS_PATH, headers=headers)) == expected


# -- credentials and environment ----------------------------------------------------------


def test_demo_credentials_are_the_defaults(emulator: FinveraEmulator) -> None:
    assert emulator.credentials() == {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
    assert emulator.name == "Finvera"
    assert emulator.auth_class is FinveraCookieAuth
    assert emulator.production_url == "https://api.finvera.news"


def test_credentials_and_environment_name_the_auths_arguments() -> None:
    emulator = FinveraEmulator(email="a@b.test", password="pw", token_ttl=60)

    assert emulator.credentials() == {"email": "a@b.test", "password": "pw"}
    assert emulator.environment("http://127.0.0.1:9/v1") == {
        "FINVERA_EMAIL": "a@b.test",
        "FINVERA_PASSWORD": "pw",
        "FINVERA_BASE_URL": "http://127.0.0.1:9/v1",
    }
    assert emulator.token_ttl == 60
    assert emulator.handle(login_call("a@b.test", "pw")).status == 200
    assert emulator.handle(login_call()).status == 401


def test_an_auth_from_the_environment_logs_in_to_the_emulator(
    emulator: FinveraEmulator,
) -> None:
    with requests.Session() as session:
        session.mount("https://", emulator.requests_adapter())
        environ = emulator.environment(emulator.production_url)
        with FinveraCookieAuth.from_env(environ, session=session) as auth:
            with session.get(emulator.production_url + NEWS_PATH, auth=auth) as response:
                assert response.status_code == 200
            token = auth.token
            assert token is not None
            assert emulator.presented(emulator.calls[-1]) == token.access_token
    assert emulator.logins == 1


# -- prefix -------------------------------------------------------------------------------


def test_a_prefix_moves_every_endpoint() -> None:
    emulator = FinveraEmulator(prefix="/gw/")
    reply = emulator.handle(make_call("POST", "/gw" + LOGIN, body=login_call().body))
    assert reply.status == 200
    access, refresh_token = tokens_of(reply)
    assert refresh(emulator, f"DT_REFRESH_TOKEN={refresh_token}").status == 404
    renewed = emulator.handle(
        make_call("POST", "/gw" + REFRESH, headers={"Cookie": f"DT_REFRESH_TOKEN={refresh_token}"})
    )
    assert renewed.status == 200
    cookie = {"Cookie": f"DT_AUTH_TOKEN={access}"}
    assert emulator.handle(make_call("GET", "/gw" + NEWS_PATH, headers=cookie)).status == 200
    assert (emulator.logins, emulator.refreshes) == (1, 1)
