"""Fincrux's wire format (SPEC §3) as pure calls on the provider, and its auths' construction."""

from __future__ import annotations

import base64
import json
import socket
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests

from fakes import FakeRequest
from finauth import (
    ConfigurationError,
    FincruxAPIKeyAuth,
    FincruxJWTAuth,
    InsecureTransportError,
    LoginError,
    ProviderResponseError,
)
from finauth._origin import parse_base_url
from finauth._token import Token
from finauth._wire import Answer, AuthCall
from finauth.providers.fincrux import Fincrux, with_query_parameter

SIGNING_KEY = "a-test-signing-key-of-32-bytes-or-more!!"
BASE = "https://api.fincrux.org"
EMAIL = "ada@example.com"
PASSWORD = "correct-horse-battery"
RECEIVED = datetime(2030, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def make_jwt(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, SIGNING_KEY, algorithm="HS256")


def access_jwt(lifetime: int = 3600, *, server_clock: datetime = RECEIVED) -> str:
    """A SimpleJWT-style access token, issued by a server whose clock reads `server_clock`."""
    iat = int(server_clock.timestamp())
    return make_jwt({"token_type": "access", "iat": iat, "exp": iat + lifetime, "user_id": 7})


def provider(base_url: str = BASE, **options: Any) -> Fincrux:
    base = parse_base_url(base_url, provider="Fincrux", allow_insecure=False)
    return Fincrux(EMAIL, PASSWORD, base, **options)


def reply(call: AuthCall, body: Any, status: int = 200) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(call, status, (("Content-Type", "application/json"),), raw, RECEIVED)


def login_body(**fields: Any) -> dict[str, Any]:
    """A successful login answer; a field given as `...` is left out."""
    body: dict[str, Any] = {
        "success": "true",
        "access": access_jwt(),
        "refresh": "refresh-1",
        "full_name": "Ada Lovelace",
        "email": EMAIL,
        "profile_img_url": "https://cdn.example.com/ada.png",
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


def a_token(refresh: str | None = "refresh-1") -> Token:
    return Token(access_jwt(), refresh, RECEIVED + timedelta(hours=1), RECEIVED)


# --- login_call / refresh_call -----------------------------------------------------------


def test_login_call_posts_email_and_password() -> None:
    call = provider().login_call()
    assert call.method == "POST"
    assert call.url == "https://api.fincrux.org/api/auth/login"
    assert json.loads(call.body) == {"email": EMAIL, "password": PASSWORD}
    assert list(json.loads(call.body)) == ["email", "password"]
    assert call.headers["Content-Type"] == "application/json"
    assert call.provider == "Fincrux"
    assert call.purpose == "login"


def test_refresh_call_posts_the_refresh_token() -> None:
    call = provider().refresh_call(a_token("refresh-XYZ"))
    assert call is not None
    assert call.method == "POST"
    assert call.url == "https://api.fincrux.org/api/auth/token/refresh/"
    assert json.loads(call.body) == {"refresh": "refresh-XYZ"}
    assert call.headers["Content-Type"] == "application/json"
    assert call.purpose == "refresh"
    assert PASSWORD.encode() not in call.body


def test_no_refresh_call_without_a_refresh_token() -> None:
    assert provider().refresh_call(a_token(None)) is None


def test_custom_refresh_path() -> None:
    call = provider(refresh_path="/api/v2/jwt/refresh").refresh_call(a_token())
    assert call is not None
    assert call.url == "https://api.fincrux.org/api/v2/jwt/refresh"


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [
        ("https://gw.example.com/fincrux", "https://gw.example.com/fincrux"),
        ("https://gw.example.com/fincrux/", "https://gw.example.com/fincrux"),
        ("https://GW.example.com:443/v1/", "https://gw.example.com/v1"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
    ],
)
def test_a_base_url_path_prefixes_the_endpoints(base_url: str, prefix: str) -> None:
    fincrux = provider(base_url)
    refresh = fincrux.refresh_call(a_token())
    assert fincrux.login_call().url == prefix + "/api/auth/login"
    assert refresh is not None
    assert refresh.url == prefix + "/api/auth/token/refresh/"


def test_identity_and_repr_hold_no_password() -> None:
    fincrux = provider()
    assert fincrux.identity == (EMAIL,)
    assert PASSWORD not in repr(fincrux)


# --- read_login --------------------------------------------------------------------------


@pytest.mark.parametrize("success", ["true", True, "True"])
def test_read_login_accepts_string_and_json_true(success: object) -> None:
    fincrux = provider()
    access = access_jwt()
    token = fincrux.read_login(
        reply(fincrux.login_call(), login_body(success=success, access=access))
    )
    assert token.access_token == access
    assert token.refresh_token == "refresh-1"
    assert token.obtained_at == RECEIVED


@pytest.mark.parametrize(
    "success", ["false", False, ..., None, "", "yes", 1, "1", ["true"], {"v": "true"}]
)
def test_read_login_rejects_anything_but_true(success: object) -> None:
    """SPEC §3: a body whose `success` is not true is a LoginError."""
    fincrux = provider()
    answer = reply(fincrux.login_call(), login_body(success=success, detail="Invalid login"))
    with pytest.raises(LoginError) as caught:
        fincrux.read_login(answer)
    error = caught.value
    assert error.provider == "Fincrux"
    assert error.endpoint == "POST https://api.fincrux.org/api/auth/login"
    assert error.status_code == 200
    assert error.provider_message == "Invalid login"
    assert "email and password" in str(error)
    assert PASSWORD not in str(error)


@pytest.mark.parametrize(
    ("access", "reason"),
    [
        pytest.param(..., "no 'access'", id="missing"),
        pytest.param("", "no 'access'", id="empty"),
        pytest.param(None, "no 'access'", id="null"),
        pytest.param(12345, "no 'access'", id="number"),
        pytest.param({"token": "x"}, "no 'access'", id="object"),
    ],
)
def test_read_login_without_a_usable_access_token(access: object, reason: str) -> None:
    fincrux = provider()
    with pytest.raises(ProviderResponseError) as caught:
        fincrux.read_login(reply(fincrux.login_call(), login_body(access=access)))
    assert reason in str(caught.value)
    assert caught.value.provider == "Fincrux"
    assert caught.value.status_code == 200


@pytest.mark.parametrize("access", ["an-opaque-access-token", "aaa.bbb", "eyJ.not.json"])
def test_read_login_gives_an_access_token_that_is_no_jwt_an_hour(access: str) -> None:
    """R7: without a readable exp and with no expires_in, an hour (the seed's lifetime)."""
    fincrux = provider()
    token = fincrux.read_login(reply(fincrux.login_call(), login_body(access=access)))
    assert token.access_token == access
    assert token.expires_at == RECEIVED + timedelta(hours=1)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><h1>Welcome to nginx</h1></html>", id="html"),
        pytest.param(b'{"success": "true", "acc', id="truncated"),
        pytest.param(b'[{"success": "true"}]', id="list"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
    ],
)
def test_read_login_of_a_non_object_body(body: bytes) -> None:
    fincrux = provider()
    with pytest.raises(ProviderResponseError):
        fincrux.read_login(reply(fincrux.login_call(), body))


@pytest.mark.parametrize("drift", [timedelta(0), timedelta(hours=3), timedelta(hours=-7)])
def test_read_login_takes_expiry_from_the_jwt(drift: timedelta) -> None:
    """R7: the JWT's lifetime counts from receipt, whatever the server's clock says."""
    fincrux = provider()
    access = access_jwt(lifetime=900, server_clock=RECEIVED + drift)
    token = fincrux.read_login(reply(fincrux.login_call(), login_body(access=access)))
    assert token.expires_at == RECEIVED + timedelta(seconds=900)


def raw_jwt(payload: bytes) -> str:
    """A JWT-shaped string whose payload segment is `payload`, verbatim."""
    segments = [b'{"alg":"HS256","typ":"JWT"}', payload, b"signature"]
    return ".".join(base64.urlsafe_b64encode(s).rstrip(b"=").decode() for s in segments)


def test_read_login_ignores_an_absurd_exp() -> None:
    """R7: claims never cause rejection; an `exp` no float can hold means "an hour"."""
    fincrux = provider()
    access = raw_jwt(b'{"token_type": "access", "exp": ' + b"9" * 400 + b"}")
    token = fincrux.read_login(reply(fincrux.login_call(), login_body(access=access)))
    assert token.expires_at == RECEIVED + timedelta(hours=1)


def test_read_login_of_a_jwt_nested_too_deeply() -> None:
    """A hostile access token is no JWT, and no RecursionError: an hour, as R7 says."""
    fincrux = provider()
    access = raw_jwt(b"[" * 100_000)
    token = fincrux.read_login(reply(fincrux.login_call(), login_body(access=access)))
    assert token.expires_at == RECEIVED + timedelta(hours=1)


def test_read_login_without_refresh_token() -> None:
    fincrux = provider()
    token = fincrux.read_login(reply(fincrux.login_call(), login_body(refresh=...)))
    assert token.refresh_token is None


def test_read_login_errors_hold_no_secret() -> None:
    fincrux = provider()
    body = login_body(access={"jwt": "opaque-access-SECRET"}, refresh="refresh-SECRET")
    with pytest.raises(ProviderResponseError) as caught:
        fincrux.read_login(reply(fincrux.login_call(), body))
    for secret in ("opaque-access-SECRET", "refresh-SECRET", PASSWORD):
        assert secret not in str(caught.value)
        assert secret not in caught.value.excerpt


# --- read_refresh ------------------------------------------------------------------------


@pytest.mark.parametrize("returned", [..., None, "", 42])
def test_read_refresh_keeps_the_previous_refresh_token(returned: object) -> None:
    fincrux = provider()
    previous = a_token("refresh-OLD")
    call = fincrux.refresh_call(previous)
    assert call is not None
    access = access_jwt(lifetime=600)
    body = {"access": access} if returned is ... else {"access": access, "refresh": returned}
    token = fincrux.read_refresh(reply(call, body), previous)
    assert token.access_token == access
    assert token.refresh_token == "refresh-OLD"
    assert token.expires_at == RECEIVED + timedelta(seconds=600)


def test_read_refresh_takes_a_rotated_refresh_token() -> None:
    fincrux = provider()
    previous = a_token("refresh-OLD")
    call = fincrux.refresh_call(previous)
    assert call is not None
    token = fincrux.read_refresh(reply(call, {"access": access_jwt(), "refresh": "NEW"}), previous)
    assert token.refresh_token == "NEW"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"detail": "Token is invalid or expired"}, id="no-access"),
        pytest.param(b"<html>oops</html>", id="html"),
    ],
)
def test_read_refresh_without_a_usable_access_token(body: Any) -> None:
    fincrux = provider()
    previous = a_token()
    call = fincrux.refresh_call(previous)
    assert call is not None
    with pytest.raises(ProviderResponseError) as caught:
        fincrux.read_refresh(reply(call, body), previous)
    assert caught.value.endpoint == "POST https://api.fincrux.org/api/auth/token/refresh/"


def test_read_refresh_gives_an_access_token_that_is_no_jwt_an_hour() -> None:
    fincrux = provider()
    previous = a_token()
    call = fincrux.refresh_call(previous)
    assert call is not None
    token = fincrux.read_refresh(reply(call, {"access": "not-a-jwt"}), previous)
    assert (token.access_token, token.refresh_token) == ("not-a-jwt", "refresh-1")
    assert token.expires_at == RECEIVED + timedelta(hours=1)


# --- apply -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer stale"}, {"Authorization": "JWT old", "X-Keep": "1"}],
)
def test_apply_sets_the_jwt_authorization_header(headers: dict[str, str]) -> None:
    request = FakeRequest(BASE + "/api/search/RELIANCE", headers)
    token = a_token()
    provider().apply(request, token)
    assert request.headers["Authorization"] == f"JWT {token.access_token}"
    assert not request.headers["Authorization"].startswith("Bearer")
    assert len([k for k in request.headers if k.lower() == "authorization"]) == 1
    if "X-Keep" in headers:
        assert request.headers["X-Keep"] == "1"
    assert request.url == BASE + "/api/search/RELIANCE"


# --- with_query_parameter ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/p", "https://h/p?api_key=K"),
        ("https://h/p?", "https://h/p?api_key=K"),
        ("https://h/p?a=1&b=2", "https://h/p?a=1&b=2&api_key=K"),
        ("https://h/p?q=a%20b&r=c+d&s=%2B", "https://h/p?q=a%20b&r=c+d&s=%2B&api_key=K"),
        ("https://h/p?flag&x=", "https://h/p?flag&x=&api_key=K"),
        ("https://h/p?a=1#frag", "https://h/p?a=1&api_key=K#frag"),
        ("https://h/p#frag?not=query", "https://h/p?api_key=K#frag?not=query"),
        ("https://h/p?API_KEY=other", "https://h/p?API_KEY=other&api_key=K"),
        ("https://h/p?my_api_key=1", "https://h/p?my_api_key=1&api_key=K"),
    ],
)
def test_with_query_parameter_keeps_the_rest_as_written(url: str, expected: str) -> None:
    assert with_query_parameter(url, "api_key", "K") == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://h/p?api_key=OLD",
        "https://h/p?a=1&api_key=OLD&b=a%20b",
        "https://h/p?api_key=OLD&api_key=OLDER&b=c+d",
        "https://h/p?api%5Fkey=OLD&b=2",
        "https://h/p?api_key&b=2",
        "https://h/p?api_key=&b=2#f",
    ],
)
def test_with_query_parameter_replaces_an_existing_key(url: str) -> None:
    result = with_query_parameter(url, "api_key", "NEW")
    query = urlsplit(result).query
    assert "OLD" not in result
    assert [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "api_key"] == ["NEW"]
    kept = [p for p in urlsplit(url).query.split("&") if not p.startswith("api")]
    assert [p for p in query.split("&") if not p.startswith("api")] == kept
    assert urlsplit(result).fragment == urlsplit(url).fragment


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("plain-KEY_1.2~", "plain-KEY_1.2~"),
        ("a b", "a%20b"),
        ("a+b", "a%2Bb"),
        ("a&b=c", "a%26b%3Dc"),
        ("x#y?z/w", "x%23y%3Fz%2Fw"),
        ("100%", "100%25"),
        ("ключ", "%D0%BA%D0%BB%D1%8E%D1%87"),
    ],
)
def test_with_query_parameter_escapes_the_value(value: str, encoded: str) -> None:
    result = with_query_parameter("https://h/p?a=1", "api_key", value)
    assert result == f"https://h/p?a=1&api_key={encoded}"
    assert dict(parse_qsl(urlsplit(result).query))["api_key"] == value


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (BASE + "/api/search?q=a%20b", BASE + "/api/search?q=a%20b&api_key=key-1"),
        (
            "https://API.fincrux.org:443/x?api_key=old",
            "https://API.fincrux.org:443/x?api_key=key-1",
        ),
        ("http://api.fincrux.org/x", "http://api.fincrux.org/x"),
        ("https://api.fincrux.org:8443/x", "https://api.fincrux.org:8443/x"),
        ("https://evil.example.com/x?a=1", "https://evil.example.com/x?a=1"),
    ],
)
def test_api_key_goes_only_to_the_origin(url: str, expected: str) -> None:
    """R1 and §3: the key, and removing Authorization, only for base_url's origin."""
    request = FakeRequest(url, {"Authorization": "Bearer other-scheme"})
    FincruxAPIKeyAuth("key-1").apply(request)
    assert request.url == expected
    if expected == url:
        assert request.headers["Authorization"] == "Bearer other-scheme"
    else:
        assert "Authorization" not in request.headers


# --- construction: R2, R8, R11 -----------------------------------------------------------


@pytest.fixture
def no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any socket use, or a requests.Session being made, fails the test."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("construction did I/O")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(requests.Session, "__init__", forbidden)


@pytest.mark.usefixtures("no_io")
def test_jwt_auth_construction_does_no_io() -> None:
    """R2: nothing happens until the first request."""
    auth = FincruxJWTAuth(EMAIL, PASSWORD)
    assert auth.token is None
    assert auth._session is None
    assert PASSWORD not in repr(auth)


@pytest.mark.usefixtures("no_io")
def test_api_key_auth_construction_does_no_io() -> None:
    auth = FincruxAPIKeyAuth("key-SECRET-123")
    assert "key-SECRET-123" not in repr(auth)


@pytest.mark.parametrize(
    ("email", "password"),
    [("", PASSWORD), ("   ", PASSWORD), (EMAIL, ""), (EMAIL, " \t"), (None, PASSWORD)],
)
def test_jwt_auth_rejects_empty_credentials(email: Any, password: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FincruxJWTAuth(email, password)
    assert caught.value.provider == "Fincrux"
    assert ("email" if not (email or "").strip() else "password") in str(caught.value)


@pytest.mark.parametrize("api_key", ["", "  ", None])
def test_api_key_auth_rejects_an_empty_key(api_key: Any) -> None:
    with pytest.raises(ConfigurationError, match="api_key"):
        FincruxAPIKeyAuth(api_key)


@pytest.mark.parametrize("base_url", ["http://api.fincrux.org", "http://10.1.2.3:8000"])
def test_plain_http_is_insecure_for_both_auths(base_url: str) -> None:
    with pytest.raises(InsecureTransportError):
        FincruxJWTAuth(EMAIL, PASSWORD, base_url=base_url)
    with pytest.raises(InsecureTransportError):
        FincruxAPIKeyAuth("key", base_url=base_url)


@pytest.mark.parametrize("base_url", ["http://localhost:8000", "http://api.fincrux.org"])
def test_loopback_or_allow_insecure_permits_http(base_url: str) -> None:
    FincruxJWTAuth(EMAIL, PASSWORD, base_url=base_url, allow_insecure=True)
    FincruxAPIKeyAuth("key", base_url=base_url, allow_insecure=True)
    if "localhost" in base_url:
        FincruxJWTAuth(EMAIL, PASSWORD, base_url=base_url)
        FincruxAPIKeyAuth("key", base_url=base_url)


@pytest.mark.parametrize("base_url", ["ftp://api.fincrux.org", "https://", ""])
def test_bad_base_url_is_a_configuration_error(base_url: str) -> None:
    with pytest.raises(ConfigurationError):
        FincruxJWTAuth(EMAIL, PASSWORD, base_url=base_url)
    with pytest.raises(ConfigurationError):
        FincruxAPIKeyAuth("key", base_url=base_url)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"refresh_margin": -1}, "refresh_margin"),
        ({"refresh_margin": float("nan")}, "refresh_margin"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -5.0}, "timeout"),
        ({"refresh_path": ""}, "refresh_path"),
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        FincruxJWTAuth(EMAIL, PASSWORD, **options)


def test_zero_refresh_margin_is_allowed() -> None:
    FincruxJWTAuth(EMAIL, PASSWORD, refresh_margin=0)


@pytest.mark.parametrize("refresh_path", ["api/v2/refresh", "/api/v2/refresh", "//api/v2/refresh"])
def test_auth_normalises_refresh_path_to_one_leading_slash(refresh_path: str) -> None:
    auth = FincruxJWTAuth(EMAIL, PASSWORD, refresh_path=refresh_path)
    call = auth._flow.provider.refresh_call(a_token())
    assert call is not None
    assert call.url == "https://api.fincrux.org/api/v2/refresh"


# --- from_env ----------------------------------------------------------------------------


def test_jwt_from_env() -> None:
    auth = FincruxJWTAuth.from_env({"FINCRUX_EMAIL": EMAIL, "FINCRUX_PASSWORD": PASSWORD})
    fincrux = auth._flow.provider
    assert fincrux.base.url == BASE
    assert json.loads(fincrux.login_call().body) == {"email": EMAIL, "password": PASSWORD}
    assert auth.token is None


def test_jwt_from_env_honours_base_url_and_options() -> None:
    environ = {
        "FINCRUX_EMAIL": EMAIL,
        "FINCRUX_PASSWORD": PASSWORD,
        "FINCRUX_BASE_URL": "http://sandbox.internal:8080/fx/",
    }
    auth = FincruxJWTAuth.from_env(environ, allow_insecure=True)
    assert auth._flow.provider.login_call().url == "http://sandbox.internal:8080/fx/api/auth/login"
    with pytest.raises(InsecureTransportError):
        FincruxJWTAuth.from_env(environ)


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, ["FINCRUX_EMAIL", "FINCRUX_PASSWORD"]),
        ({"FINCRUX_EMAIL": EMAIL}, ["FINCRUX_PASSWORD"]),
        ({"FINCRUX_PASSWORD": PASSWORD, "FINCRUX_EMAIL": ""}, ["FINCRUX_EMAIL"]),
        ({"FINCRUX_BASE_URL": "https://x.example.com"}, ["FINCRUX_EMAIL", "FINCRUX_PASSWORD"]),
    ],
)
def test_jwt_from_env_names_missing_variables(environ: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FincruxJWTAuth.from_env(environ)
    message = str(caught.value)
    for name in missing:
        assert name in message
    assert PASSWORD not in message
    assert EMAIL not in message


def test_api_key_from_env() -> None:
    auth = FincruxAPIKeyAuth.from_env({"FINCRUX_API_KEY": "key-123"})
    assert auth._base.url == BASE
    request = FakeRequest(BASE + "/api/search?q=x")
    auth.apply(request)
    assert request.url == BASE + "/api/search?q=x&api_key=key-123"


def test_api_key_from_env_honours_base_url() -> None:
    environ = {"FINCRUX_API_KEY": "key-123", "FINCRUX_BASE_URL": "https://gw.example.com/fx"}
    assert FincruxAPIKeyAuth.from_env(environ)._base.url == "https://gw.example.com/fx"


def test_api_key_from_env_names_the_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="FINCRUX_API_KEY"):
        FincruxAPIKeyAuth.from_env({"FINCRUX_EMAIL": EMAIL})


# --- header safety (R16) -------------------------------------------------------------------

UNSAFE_TOKENS = [
    "SeKrEt\r\nX-Evil: 1",
    "SeKrEt\n",
    "SeKrEt\x00",
    "SeKrEt en",
    "SeKrEtö",
    "SeKrEt\t",
]
"""What no header can carry as it is: CR, LF, NUL, whitespace, non-ASCII."""


@pytest.mark.parametrize("access", UNSAFE_TOKENS)
@pytest.mark.parametrize("purpose", ["login", "refresh"])
def test_an_access_token_no_header_can_carry_is_unusable(access: str, purpose: str) -> None:
    """R16: never cached, never sent, never echoed."""
    fincrux = provider()
    call = fincrux.login_call() if purpose == "login" else fincrux.refresh_call(a_token())
    assert call is not None

    def read(answer: Answer) -> Token:
        if purpose == "login":
            return fincrux.read_login(answer)
        return fincrux.read_refresh(answer, a_token())

    with pytest.raises(ProviderResponseError, match="no header can carry") as caught:
        read(reply(call, login_body(access=access)))
    for text in (str(caught.value), caught.value.excerpt):
        assert access not in text
        assert "SeKrEt" not in text


def test_carries_only_a_token_whose_access_fits_the_authorization_header() -> None:
    fincrux = provider()
    assert fincrux.carries(a_token())
    assert fincrux.carries(a_token(refresh="any thing\r\n goes in a JSON body"))
    for access in UNSAFE_TOKENS:
        assert not fincrux.carries(Token(access, None, RECEIVED, RECEIVED))


@pytest.mark.parametrize("api_key", ["key\r\nX-Evil: 1", "key\x00", "key\n", "\x7fkey"])
def test_api_key_with_a_control_character_is_a_configuration_error(api_key: str) -> None:
    with pytest.raises(ConfigurationError, match="api_key") as caught:
        FincruxAPIKeyAuth(api_key)
    assert api_key not in str(caught.value)
    assert "key" not in str(caught.value).replace("api_key", "")
