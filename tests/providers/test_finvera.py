"""Finvera's wire format (SPEC §3, seed 001) as pure calls on the provider, and
FinveraCookieAuth's construction."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import jwt
import pytest

from fakes import FakeRequest
from finauth import (
    ConfigurationError,
    FinauthError,
    FinveraCookieAuth,
    InsecureTransportError,
    ProviderResponseError,
)
from finauth._origin import parse_base_url
from finauth._token import Token
from finauth._wire import Answer, AuthCall
from finauth.providers.finvera import Finvera

SIGNING_KEY = "a-test-signing-key-of-32-bytes-or-more!!"
BASE = "https://api.finvera.news"
LOGIN_URL = BASE + "/kms/api/v1/auth/token"
REFRESH_URL = BASE + "/kms/api/v1/auth/refresh"
EMAIL = "grace@example.com"
PASSWORD = 'finvera-pass-Ünï"code'
RECEIVED = datetime(2030, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
OPAQUE_ACCESS = "opaque-access-A1b2C3"
OPAQUE_REFRESH = "opaque-refresh-R9s8T7"
NEWS = BASE + "/kms/api/v1/news/latest"
PAST = "Thu, 01 Jan 1970 00:00:00 GMT"


# -- helpers ------------------------------------------------------------------------------


def make_jwt(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, SIGNING_KEY, algorithm="HS256")


def access_jwt(lifetime: int = 900, *, server_clock: datetime = RECEIVED, iat: bool = True) -> str:
    issued = int(server_clock.timestamp())
    payload: dict[str, Any] = {"token_type": "access", "exp": issued + lifetime, "sub": EMAIL}
    if iat:
        payload["iat"] = issued
    return make_jwt(payload)


def finvera(base_url: str = BASE, scheme: Any = "cookie") -> Finvera:
    base = parse_base_url(base_url, provider="Finvera", allow_insecure=False)
    return Finvera(EMAIL, PASSWORD, base, scheme)


def set_cookie(name: str, value: str, *attributes: str) -> tuple[str, str]:
    """A `Set-Cookie` header line as Finvera sends it (HttpOnly, Secure) plus `attributes`."""
    return ("Set-Cookie", "; ".join([f"{name}={value}", "HttpOnly", "Secure", *attributes]))


def seed_cookies(
    access: str = OPAQUE_ACCESS,
    refresh: str = OPAQUE_REFRESH,
    access_max_age: int | None = 1800,
) -> list[tuple[str, str]]:
    """Both cookies with every attribute the emulator (and a real server) sets."""
    access_attrs = ["Path=/", "SameSite=Lax"]
    if access_max_age is not None:
        access_attrs.insert(1, f"Max-Age={access_max_age}")
    return [
        set_cookie("DT_AUTH_TOKEN", access, *access_attrs),
        set_cookie("DT_REFRESH_TOKEN", refresh, "Path=/", "Max-Age=2592000", "SameSite=Lax"),
    ]


def answer(
    call: AuthCall,
    body: Any = None,
    cookies: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
    status: int = 200,
) -> Answer:
    if body is None:
        body = {"message": "Authentication successful", "expires_in": 3600}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = (("Content-Type", "application/json"), *cookies)
    return Answer(call, status, headers, raw, RECEIVED)


def login_answer(
    body: Any = None, cookies: list[tuple[str, str]] | tuple[tuple[str, str], ...] = ()
) -> Answer:
    return answer(finvera().login_call(), body, cookies)


def previous_token(refresh: str | None = "refresh-OLD") -> Token:
    return Token("access-OLD", refresh, RECEIVED + timedelta(hours=1), RECEIVED)


def refresh_answer(
    body: Any = None, cookies: list[tuple[str, str]] | tuple[tuple[str, str], ...] = ()
) -> Answer:
    call = finvera().refresh_call(previous_token())
    assert call is not None
    if body is None:
        body = {"message": "Token refreshed successfully", "expires_in": 3600}
    return answer(call, body, cookies)


def lifetime(token: Token) -> float:
    return (token.expires_at - token.obtained_at).total_seconds()


def cookie_pairs(header: str | None) -> list[tuple[str, str]]:
    """A Cookie header as (name, value) pairs, in order, duplicates kept."""
    if header is None:
        return []
    pairs = []
    for pair in header.split(";"):
        name, _, value = pair.strip().partition("=")
        pairs.append((name, value))
    return pairs


def a_token(access: str = "access-NEW") -> Token:
    return Token(access, "refresh-NEW", RECEIVED + timedelta(hours=1), RECEIVED)


# -- login_call / refresh_call ------------------------------------------------------------


def test_login_call_posts_exactly_email_and_password() -> None:
    call = finvera().login_call()
    assert call.method == "POST"
    assert call.url == LOGIN_URL
    assert json.loads(call.body) == {"email": EMAIL, "password": PASSWORD}
    assert list(json.loads(call.body)) == ["email", "password"]
    assert call.headers["Content-Type"] == "application/json"
    assert "Cookie" not in call.headers
    assert "Authorization" not in call.headers
    assert (call.provider, call.purpose) == ("Finvera", "login")
    assert call.endpoint == f"POST {LOGIN_URL}"


def test_refresh_call_sends_only_the_refresh_cookie() -> None:
    call = finvera().refresh_call(previous_token("refresh-XYZ"))
    assert call is not None
    assert call.method == "POST"
    assert call.url == REFRESH_URL
    assert call.headers["Cookie"] == "DT_REFRESH_TOKEN=refresh-XYZ"
    assert call.body == b""
    assert "Content-Type" not in call.headers
    assert "Authorization" not in call.headers
    assert "access-OLD" not in repr(dict(call.headers))
    assert (call.provider, call.purpose) == ("Finvera", "refresh")


def test_no_refresh_call_without_a_refresh_token() -> None:
    assert finvera().refresh_call(previous_token(None)) is None


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [
        ("https://gw.example.com/finvera/", "https://gw.example.com/finvera"),
        ("https://GW.example.com:443", "https://gw.example.com"),
        ("http://127.0.0.1:8123/v1", "http://127.0.0.1:8123/v1"),
    ],
)
def test_a_base_url_path_prefixes_both_endpoints(base_url: str, prefix: str) -> None:
    provider = finvera(base_url)
    refresh = provider.refresh_call(previous_token())
    assert provider.login_call().url == prefix + "/kms/api/v1/auth/token"
    assert refresh is not None
    assert refresh.url == prefix + "/kms/api/v1/auth/refresh"


def test_identity_and_repr_hold_no_password() -> None:
    provider = finvera()
    assert provider.identity == (EMAIL,)
    assert PASSWORD not in repr(provider)
    assert EMAIL in repr(provider)


# -- read_login: tokens from Set-Cookie ---------------------------------------------------


def test_read_login_takes_both_tokens_from_set_cookie() -> None:
    token = finvera().read_login(login_answer(cookies=seed_cookies()))
    assert token.access_token == OPAQUE_ACCESS
    assert token.refresh_token == OPAQUE_REFRESH
    assert token.obtained_at == RECEIVED


def test_read_login_ignores_other_cookies_and_attribute_order() -> None:
    cookies = [
        ("Set-Cookie", "session=abc; Path=/"),
        ("set-cookie", f"DT_AUTH_TOKEN={OPAQUE_ACCESS}; SameSite=Strict; Max-Age=60; HttpOnly"),
        ("SET-COOKIE", "theme=dark; Secure"),
        ("Set-Cookie", f"DT_REFRESH_TOKEN={OPAQUE_REFRESH}; Path=/; Secure; HttpOnly"),
    ]
    token = finvera().read_login(login_answer({"message": "ok"}, cookies))
    assert token.access_token == OPAQUE_ACCESS
    assert token.refresh_token == OPAQUE_REFRESH
    assert lifetime(token) == 60


def test_read_login_needs_no_body_when_cookies_carry_the_tokens() -> None:
    token = finvera().read_login(login_answer(b"", seed_cookies(access_max_age=1200)))
    assert (token.access_token, token.refresh_token) == (OPAQUE_ACCESS, OPAQUE_REFRESH)
    assert lifetime(token) == 1200


def test_read_login_honours_the_body_expires_in_over_max_age() -> None:
    body = {"message": "Authentication successful", "expires_in": 1234}
    token = finvera().read_login(login_answer(body, seed_cookies(access_max_age=1800)))
    assert token.expires_at == RECEIVED + timedelta(seconds=1234)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"message": "ok"}, id="absent"),
        pytest.param({"message": "ok", "expires_in": "3600"}, id="string"),
        pytest.param({"message": "ok", "expires_in": None}, id="null"),
        pytest.param(b"<html>ok</html>", id="not-json"),
    ],
)
def test_read_login_falls_back_to_the_cookie_max_age(body: Any) -> None:
    token = finvera().read_login(login_answer(body, seed_cookies(access_max_age=1800)))
    assert token.expires_at == RECEIVED + timedelta(seconds=1800)


def test_read_login_without_any_lifetime_trusts_the_token_an_hour() -> None:
    token = finvera().read_login(login_answer({"message": "ok"}, seed_cookies(access_max_age=None)))
    assert lifetime(token) == 3600


@pytest.mark.parametrize("drift", [timedelta(0), timedelta(hours=5), timedelta(hours=-3)])
def test_read_login_prefers_the_jwt_exp_to_expires_in_and_max_age(drift: timedelta) -> None:
    """R7: a JWT's own lifetime (exp - iat, from receipt) beats what the body and cookie say."""
    access = access_jwt(900, server_clock=RECEIVED + drift)
    body = {"message": "Authentication successful", "expires_in": 3600}
    token = finvera().read_login(login_answer(body, seed_cookies(access, access_max_age=1800)))
    assert token.access_token == access
    assert token.expires_at == RECEIVED + timedelta(seconds=900)


def test_read_login_takes_an_absolute_exp_without_iat() -> None:
    exp_at = datetime(2030, 6, 1, 12, 10, 0, tzinfo=timezone.utc)
    access = make_jwt({"token_type": "access", "exp": int(exp_at.timestamp())})
    token = finvera().read_login(login_answer(None, seed_cookies(access, access_max_age=1800)))
    assert token.expires_at == exp_at


def test_read_login_accepts_an_expires_in_the_future() -> None:
    future = format_datetime(datetime.now(timezone.utc) + timedelta(days=1), usegmt=True)
    cookies = [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", f"Expires={future}")]
    token = finvera().read_login(login_answer(None, cookies))
    assert token.access_token == OPAQUE_ACCESS
    assert token.refresh_token is None


@pytest.mark.parametrize(
    "expires",
    [
        "Wed, 21 Oct 99999 07:28:00 GMT",
        "Wed, 21 Oct 99999999999999999999 07:28:00 GMT",
        "the day after tomorrow",
    ],
)
def test_read_login_ignores_an_expires_that_is_no_date(expires: str) -> None:
    """RFC 6265 §5.2.1: an Expires that cannot be parsed is ignored, not an error."""
    cookies = [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", f"Expires={expires}")]
    token = finvera().read_login(login_answer({"message": "ok", "expires_in": 900}, cookies))
    assert token.access_token == OPAQUE_ACCESS
    assert lifetime(token) == 900


@pytest.mark.parametrize(
    "attribute",
    [
        pytest.param("Partitioned", id="partitioned"),  # CHIPS, sent by current servers
        pytest.param("Priority=High", id="priority"),
        pytest.param("X-Unknown-Flag", id="unknown-flag"),
    ],
)
def test_read_login_ignores_attributes_it_does_not_know(attribute: str) -> None:
    """RFC 6265 §5.2: a cookie attribute the client does not recognise is ignored."""
    cookies = [
        set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", "Max-Age=1800", attribute),
        set_cookie("DT_REFRESH_TOKEN", OPAQUE_REFRESH, "Path=/", attribute, "Max-Age=2592000"),
    ]
    token = finvera().read_login(login_answer({"message": "ok"}, cookies))
    assert (token.access_token, token.refresh_token) == (OPAQUE_ACCESS, OPAQUE_REFRESH)
    assert lifetime(token) == 1800


def test_read_login_lets_max_age_win_over_a_past_expires() -> None:
    """RFC 6265 §5.3: Max-Age takes precedence over Expires."""
    cookies = [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Max-Age=600", f"Expires={PAST}")]
    token = finvera().read_login(login_answer({"message": "ok"}, cookies))
    assert lifetime(token) == 600


def test_read_login_refuses_a_past_expires_in_the_old_netscape_format() -> None:
    cookies = [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Expires=Wed, 21-Oct-2015 07:28:00 GMT")]
    with pytest.raises(ProviderResponseError, match="already expired"):
        finvera().read_login(login_answer(None, cookies))


# -- read_login: tokens from the body (the seed's own Python example) ---------------------


@pytest.mark.parametrize("field", ["token", "access_token"])
def test_read_login_falls_back_to_body_fields(field: str) -> None:
    access = access_jwt(600)
    body = {"message": "ok", field: access, "refresh_token": "body-refresh", "expires_in": 3600}
    token = finvera().read_login(login_answer(body))
    assert token.access_token == access
    assert token.refresh_token == "body-refresh"
    assert lifetime(token) == 600  # the JWT, first


def test_read_login_body_token_with_expires_in() -> None:
    body = {"message": "ok", "token": OPAQUE_ACCESS, "expires_in": 42}
    token = finvera().read_login(login_answer(body))
    assert token.access_token == OPAQUE_ACCESS
    assert token.refresh_token is None
    assert lifetime(token) == 42


def test_read_login_prefers_the_cookie_to_a_body_token() -> None:
    body = {"message": "ok", "token": "body-access", "refresh_token": "body-refresh"}
    token = finvera().read_login(login_answer(body, seed_cookies()))
    assert token.access_token == OPAQUE_ACCESS
    assert token.refresh_token == OPAQUE_REFRESH


def test_read_login_takes_a_body_refresh_token_beside_an_access_cookie() -> None:
    cookies = [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", "Max-Age=3600")]
    body = {"message": "ok", "refresh_token": "body-refresh"}
    token = finvera().read_login(login_answer(body, cookies))
    assert (token.access_token, token.refresh_token) == (OPAQUE_ACCESS, "body-refresh")


def test_read_login_drops_a_refresh_cookie_the_server_clears() -> None:
    cookies = [
        set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", "Max-Age=3600"),
        set_cookie("DT_REFRESH_TOKEN", "", "Path=/", "Max-Age=0"),
    ]
    assert finvera().read_login(login_answer(None, cookies)).refresh_token is None


# -- read_login: errors -------------------------------------------------------------------

UNUSABLE_LOGINS = [
    pytest.param(
        {"message": "Authentication successful", "expires_in": 3600},
        [("Set-Cookie", "session=abc; Path=/; HttpOnly")],
        "set no DT_AUTH_TOKEN",
        id="other-cookie-only",
    ),
    pytest.param(
        {"message": "ok"},
        [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", "Max-Age=0"), *seed_cookies()[1:]],
        "already expired",
        id="max-age-0",
    ),
    pytest.param(
        {"message": "ok", "token": "body-access-SECRET"},
        [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", "Max-Age=-1")],
        "already expired",
        id="max-age-negative-even-with-a-body-token",
    ),
    pytest.param(
        {"message": "ok"},
        [set_cookie("DT_AUTH_TOKEN", OPAQUE_ACCESS, "Path=/", f"Expires={PAST}")],
        "already expired",
        id="expires-in-the-past",
    ),
    pytest.param({"message": "ok"}, [], "set no DT_AUTH_TOKEN", id="neither"),
    pytest.param(
        {"message": "ok", "token": "", "access_token": None, "refresh_token": OPAQUE_REFRESH},
        [],
        "set no DT_AUTH_TOKEN",
        id="empty-body-tokens",
    ),
    pytest.param(
        {"message": "ok"},
        [set_cookie("DT_AUTH_TOKEN", "", "Path=/", "Max-Age=3600")],
        "set no DT_AUTH_TOKEN",
        id="empty-cookie",
    ),
    pytest.param(b"<html>Welcome to nginx</html>", [], "set no DT_AUTH_TOKEN", id="html"),
    pytest.param(b"[1, 2]", [], "set no DT_AUTH_TOKEN", id="json-list"),
]


@pytest.mark.parametrize(("body", "cookies", "reason"), UNUSABLE_LOGINS)
def test_read_login_without_a_usable_token(
    body: Any, cookies: list[tuple[str, str]], reason: str
) -> None:
    with pytest.raises(ProviderResponseError) as caught:
        finvera().read_login(login_answer(body, cookies))
    error = caught.value
    assert reason in str(error)
    assert error.provider == "Finvera"
    assert error.endpoint == f"POST {LOGIN_URL}"
    assert error.status_code == 200
    assert "Finvera" in str(error)
    assert LOGIN_URL in str(error)
    for secret in (OPAQUE_ACCESS, OPAQUE_REFRESH, "body-access-SECRET", PASSWORD, EMAIL):
        assert secret not in str(error) + repr(error)
        assert secret not in error.excerpt


def test_read_login_error_masks_tokens_the_body_repeats() -> None:
    """A server that echoes its cookies in the body: the excerpt still holds no token."""
    jwt_value = access_jwt()
    body = {"message": "ok", "debug": jwt_value, "refresh_token": OPAQUE_REFRESH}
    cookies = [set_cookie("DT_AUTH_TOKEN", jwt_value, "Path=/", "Max-Age=0")]
    with pytest.raises(ProviderResponseError) as caught:
        finvera().read_login(login_answer(body, cookies))
    assert "ok" in caught.value.excerpt
    for secret in (jwt_value, OPAQUE_REFRESH):
        assert secret not in caught.value.excerpt
        assert secret not in str(caught.value)


# -- read_refresh -------------------------------------------------------------------------


def test_read_refresh_keeps_a_rotated_refresh_cookie() -> None:
    token = finvera().read_refresh(
        refresh_answer(cookies=seed_cookies("access-2", "refresh-2")), previous_token()
    )
    assert (token.access_token, token.refresh_token) == ("access-2", "refresh-2")
    assert lifetime(token) == 3600


def test_read_refresh_keeps_the_previous_refresh_token_when_none_is_sent() -> None:
    access = access_jwt(300)
    cookies = [set_cookie("DT_AUTH_TOKEN", access, "Path=/", "Max-Age=3600")]
    token = finvera().read_refresh(refresh_answer(cookies=cookies), previous_token("keep-me"))
    assert token.access_token == access
    assert token.refresh_token == "keep-me"
    assert lifetime(token) == 300


@pytest.mark.parametrize(
    "cleared",
    [
        pytest.param("DT_REFRESH_TOKEN=; Path=/; Max-Age=0", id="max-age-0"),
        pytest.param("DT_REFRESH_TOKEN=gone; Path=/; Max-Age=0", id="max-age-0-with-value"),
        pytest.param(f"DT_REFRESH_TOKEN=gone; Path=/; Expires={PAST}", id="expires-past"),
    ],
)
def test_read_refresh_drops_a_refresh_token_the_server_clears(cleared: str) -> None:
    cookies = [
        set_cookie("DT_AUTH_TOKEN", "access-2", "Path=/", "Max-Age=3600"),
        ("Set-Cookie", cleared),
    ]
    token = finvera().read_refresh(refresh_answer(cookies=cookies), previous_token("old"))
    assert token.access_token == "access-2"
    assert token.refresh_token is None


def test_read_refresh_without_an_access_cookie_names_the_refresh_endpoint() -> None:
    cookies = [set_cookie("DT_REFRESH_TOKEN", "refresh-2", "Path=/", "Max-Age=100")]
    with pytest.raises(ProviderResponseError) as caught:
        finvera().read_refresh(refresh_answer(cookies=cookies), previous_token())
    assert caught.value.endpoint == f"POST {REFRESH_URL}"
    assert "refresh" in str(caught.value)
    assert "refresh-2" not in str(caught.value)
    assert "refresh-OLD" not in str(caught.value)


# -- apply / withdraw: the cookie scheme --------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(None, "DT_AUTH_TOKEN=access-NEW", id="no-cookie-header"),
        pytest.param("", "DT_AUTH_TOKEN=access-NEW", id="empty-cookie-header"),
        pytest.param(
            "other=1; theme=dark", "other=1; theme=dark; DT_AUTH_TOKEN=access-NEW", id="others"
        ),
        pytest.param("DT_AUTH_TOKEN=old", "DT_AUTH_TOKEN=access-NEW", id="stale"),
        pytest.param(
            "a=1; DT_AUTH_TOKEN=old; b=2", "a=1; b=2; DT_AUTH_TOKEN=access-NEW", id="stale-between"
        ),
        pytest.param(
            "DT_AUTH_TOKEN=old;DT_AUTH_TOKEN=older; x=y",
            "x=y; DT_AUTH_TOKEN=access-NEW",
            id="two-stale",
        ),
        pytest.param(
            "DT_REFRESH_TOKEN=r; other=1", "other=1; DT_AUTH_TOKEN=access-NEW", id="refresh-cookie"
        ),
        pytest.param(
            "DT_AUTH_TOKEN=old; DT_REFRESH_TOKEN=r",
            "DT_AUTH_TOKEN=access-NEW",
            id="jar-from-a-login",
        ),
        pytest.param(
            "MY_DT_AUTH_TOKEN=1; DT_AUTH_TOKEN_X=2",
            "MY_DT_AUTH_TOKEN=1; DT_AUTH_TOKEN_X=2; DT_AUTH_TOKEN=access-NEW",
            id="look-alike-names-kept",
        ),
        pytest.param(
            'data=a=b==; q="quoted"',
            'data=a=b==; q="quoted"; DT_AUTH_TOKEN=access-NEW',
            id="values-verbatim",
        ),
    ],
)
def test_apply_cookie_scheme(before: str | None, after: str) -> None:
    headers = {} if before is None else {"Cookie": before}
    request = FakeRequest(NEWS, headers={**headers, "X-Keep": "1", "Authorization": "Basic theirs"})
    finvera().apply(request, a_token())
    assert request.headers["Cookie"] == after
    names = [name for name, _ in cookie_pairs(request.headers["Cookie"])]
    assert names.count("DT_AUTH_TOKEN") == 1
    assert "DT_REFRESH_TOKEN" not in names
    assert request.headers["X-Keep"] == "1"
    assert request.headers["Authorization"] == "Basic theirs"  # not the cookie scheme's
    assert request.url == NEWS


def test_apply_again_with_a_new_token_replaces_the_old_one() -> None:
    provider = finvera()
    request = FakeRequest(NEWS, headers={"Cookie": "other=1"})
    provider.apply(request, a_token("first"))
    provider.apply(request, a_token("second"))
    assert request.headers["Cookie"] == "other=1; DT_AUTH_TOKEN=second"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"Cookie": "other=1; theme=dark"}, id="others"),
        pytest.param({"Cookie": "other=1", "Authorization": "Basic x"}, id="authorization"),
    ],
)
def test_withdraw_takes_back_exactly_what_apply_attached(headers: dict[str, str]) -> None:
    provider = finvera()
    request = FakeRequest(NEWS, headers={**headers, "X-Keep": "1"})
    provider.apply(request, a_token())
    provider.withdraw(request)
    assert dict(request.headers) == {**headers, "X-Keep": "1"}


# -- apply / withdraw: the bearer scheme --------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(None, None, id="no-cookie-header"),
        pytest.param("other=1; theme=dark", "other=1; theme=dark", id="others"),
        pytest.param("DT_AUTH_TOKEN=old; DT_REFRESH_TOKEN=r", None, id="only-dt-cookies"),
        pytest.param("a=1; DT_AUTH_TOKEN=old; DT_REFRESH_TOKEN=r; b=2", "a=1; b=2", id="mixed"),
    ],
)
def test_apply_bearer_scheme(before: str | None, after: str | None) -> None:
    headers = {} if before is None else {"Cookie": before}
    request = FakeRequest(NEWS, headers={**headers, "authorization": "Bearer stale"})
    finvera(scheme="bearer").apply(request, a_token())
    assert request.headers["Authorization"] == "Bearer access-NEW"
    assert len([key for key in request.headers if key.lower() == "authorization"]) == 1
    assert request.headers.get("Cookie") == after
    assert "access-NEW" not in request.headers.get("Cookie", "")


@pytest.mark.parametrize("cookie", [None, "other=1; theme=dark"])
def test_bearer_withdraw_takes_back_the_header_and_keeps_other_cookies(
    cookie: str | None,
) -> None:
    provider = finvera(scheme="bearer")
    headers = {} if cookie is None else {"Cookie": cookie}
    request = FakeRequest(NEWS, headers={**headers, "X-Keep": "1"})
    provider.apply(request, a_token())
    provider.withdraw(request)
    assert dict(request.headers) == {**headers, "X-Keep": "1"}


# -- FinveraCookieAuth: construction ------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "header", "", "jwt", None])
def test_a_bad_scheme_is_a_configuration_error(scheme: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FinveraCookieAuth(EMAIL, PASSWORD, scheme=scheme)
    assert caught.value.provider == "Finvera"
    assert "scheme" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("scheme", ["cookie", "bearer"])
def test_a_good_scheme_reaches_the_provider(scheme: str) -> None:
    with FinveraCookieAuth(EMAIL, PASSWORD, scheme=scheme) as auth:  # type: ignore[arg-type]
        provider = auth._flow.provider
        assert isinstance(provider, Finvera)
        assert provider.scheme == scheme
        assert auth.token is None
        assert auth._session is None  # R2: nothing was made, nothing sent


@pytest.mark.parametrize(
    ("email", "password", "named"),
    [
        ("", PASSWORD, "email"),
        ("   ", PASSWORD, "email"),
        (EMAIL, "", "password"),
        (EMAIL, " \t", "password"),
        (None, PASSWORD, "email"),
    ],
)
def test_an_empty_credential_is_a_configuration_error(
    email: Any, password: Any, named: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FinveraCookieAuth(email, password)
    assert caught.value.provider == "Finvera"
    assert named in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "error"),
    [
        ("http://api.finvera.news", InsecureTransportError),
        ("ftp://api.finvera.news", ConfigurationError),
        ("https://", ConfigurationError),
        ("", ConfigurationError),
    ],
)
def test_a_bad_base_url_is_refused(base_url: str, error: type[FinauthError]) -> None:
    with pytest.raises(error) as caught:
        FinveraCookieAuth(EMAIL, PASSWORD, base_url=base_url)
    assert caught.value.provider == "Finvera"


def test_an_insecure_base_url_is_allowed_on_request() -> None:
    with FinveraCookieAuth(
        EMAIL, PASSWORD, base_url="http://finvera.internal", allow_insecure=True
    ) as auth:
        assert auth._flow.provider.base.url == "http://finvera.internal"


def test_repr_holds_no_password() -> None:
    with FinveraCookieAuth(EMAIL, PASSWORD, scheme="bearer") as auth:
        assert PASSWORD not in repr(auth)
        assert "FinveraCookieAuth" in repr(auth)
        assert "bearer" in repr(auth)


# -- FinveraCookieAuth.from_env -----------------------------------------------------------


def test_from_env_reads_the_three_variables() -> None:
    environ = {
        "FINVERA_EMAIL": EMAIL,
        "FINVERA_PASSWORD": PASSWORD,
        "FINVERA_BASE_URL": "https://sandbox.finvera.test/api",
    }
    with FinveraCookieAuth.from_env(environ) as auth:
        provider = auth._flow.provider
        assert isinstance(provider, Finvera)
        assert (provider.email, provider.password) == (EMAIL, PASSWORD)
        assert provider.login_call().url == (
            "https://sandbox.finvera.test/api/kms/api/v1/auth/token"
        )


@pytest.mark.parametrize("base_url", [None, ""])
def test_from_env_defaults_to_production(base_url: str | None) -> None:
    environ = {"FINVERA_EMAIL": EMAIL, "FINVERA_PASSWORD": PASSWORD}
    if base_url is not None:
        environ["FINVERA_BASE_URL"] = base_url
    with FinveraCookieAuth.from_env(environ) as auth:
        assert auth._flow.provider.base.url == BASE


def test_from_env_passes_options_through() -> None:
    environ = {"FINVERA_EMAIL": EMAIL, "FINVERA_PASSWORD": PASSWORD}
    with FinveraCookieAuth.from_env(environ, scheme="bearer", refresh_margin=5) as auth:
        provider = auth._flow.provider
        assert isinstance(provider, Finvera)
        assert provider.scheme == "bearer"


@pytest.mark.parametrize(
    ("environ", "missing", "present"),
    [
        ({}, ["FINVERA_EMAIL", "FINVERA_PASSWORD"], []),
        ({"FINVERA_EMAIL": EMAIL}, ["FINVERA_PASSWORD"], ["FINVERA_EMAIL"]),
        ({"FINVERA_PASSWORD": PASSWORD}, ["FINVERA_EMAIL"], ["FINVERA_PASSWORD"]),
        (
            {"FINVERA_EMAIL": "", "FINVERA_PASSWORD": PASSWORD, "FINVERA_BASE_URL": BASE},
            ["FINVERA_EMAIL"],
            ["FINVERA_PASSWORD"],
        ),
    ],
)
def test_from_env_lists_the_missing_variables(
    environ: dict[str, str], missing: list[str], present: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FinveraCookieAuth.from_env(environ)
    message = str(caught.value)
    assert caught.value.provider == "Finvera"
    for name in missing:
        assert name in message
    for name in present:
        assert name not in message
    assert PASSWORD not in message


# --- header safety (R16) -------------------------------------------------------------------

NO_COOKIE = [
    "SeKrEt en",
    'SeKrEt"en',
    "SeKrEt,en",
    "SeKrEt;en",
    "SeKrEt\\en",
    "SeKrEt\ten",
    "SeKrEtö",
    "SeKrEt\x00",
]
"""What RFC 6265's cookie-octets exclude: whitespace, DQUOTE, comma, semicolon, backslash,
control characters and anything not ASCII."""


@pytest.mark.parametrize("access", NO_COOKIE)
def test_an_access_token_no_cookie_can_carry_is_unusable(access: str) -> None:
    """R16: from the body (a Set-Cookie line could not hold most of these)."""
    answer = login_answer({"token": access, "expires_in": 3600})
    with pytest.raises(ProviderResponseError, match="DT_AUTH_TOKEN cookie") as caught:
        finvera().read_login(answer)
    assert access not in str(caught.value)
    assert "SeKrEt" not in str(caught.value)


@pytest.mark.parametrize("access", ['SeKrEt"en', "SeKrEt,en", "SeKrEt;en", "SeKrEt\\en"])
def test_the_bearer_scheme_takes_what_a_header_can_carry(access: str) -> None:
    answer = answer_for(finvera(scheme="bearer").login_call(), {"token": access})
    assert finvera(scheme="bearer").read_login(answer).access_token == access
    with pytest.raises(ProviderResponseError, match="no header can carry"):
        finvera(scheme="bearer").read_login(
            answer_for(finvera().login_call(), {"token": "SeKrEt\r\nX-Evil: 1"})
        )


@pytest.mark.parametrize("refresh", NO_COOKIE)
@pytest.mark.parametrize("where", ["cookie", "body"])
def test_a_refresh_token_no_cookie_can_carry_is_unusable(refresh: str, where: str) -> None:
    """It travels as `Cookie: DT_REFRESH_TOKEN=...` whatever the scheme."""
    if where == "cookie":
        if set(refresh) & set(";\t\x00"):
            return  # a Set-Cookie line cannot hold these
        answer = login_answer(cookies=seed_cookies(refresh=refresh))
    else:
        answer = login_answer({"token": OPAQUE_ACCESS, "refresh_token": refresh})
    for scheme in ("cookie", "bearer"):
        with pytest.raises(ProviderResponseError, match="DT_REFRESH_TOKEN cookie") as caught:
            finvera(scheme=scheme).read_login(answer)
        assert refresh not in str(caught.value)


def test_carries_checks_what_the_scheme_sends() -> None:
    cookie, bearer = finvera(), finvera(scheme="bearer")
    assert cookie.carries(a_token())
    assert bearer.carries(a_token())
    semicolon = Token("SeKrEt;en", "refresh-NEW", RECEIVED, RECEIVED)
    assert not cookie.carries(semicolon)
    assert bearer.carries(semicolon)
    bad_refresh = Token("access-NEW", "re fresh", RECEIVED, RECEIVED)
    assert not cookie.carries(bad_refresh)
    assert not bearer.carries(bad_refresh)
    assert not bearer.carries(Token("SeKrEt\r\n", None, RECEIVED, RECEIVED))


def answer_for(call: AuthCall, body: Any) -> Answer:
    return answer(call, body)
