"""FinHub's wire format (SPEC §3, seed 002) as pure calls on the provider, and its auth."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jwt
import pytest

import finauth.providers.finhub as finhub_module
from fakes import FakeRequest
from finauth import (
    ConfigurationError,
    FinauthError,
    FinHubSessionAuth,
    InsecureTransportError,
    LoginError,
    ProviderResponseError,
)
from finauth._origin import parse_base_url
from finauth._token import Token
from finauth._wire import EXCERPT_LENGTH, Answer, AuthCall
from finauth.providers.finhub import FinHub, parse_expires_at

SIGNING_KEY = "a-test-signing-key-of-32-bytes-or-more!!"
BASE = "https://sandbox.finhub.cloud"
ORG = "f3a4b5c6-d7e8-49f0-1a2b-3c4d5e6f7a8b"
USER = "e2f3a4b5-c6d7-48e9-0f1a-2b3c4d5e6f7a"
TENANT = "tenant_cloudvault"
USERNAME = "admin@cloudvault.test"
PASSWORD = "hub-PASSWORD-Ωmega-123"
TENANT_KEY = "cvK_TENANT_KEY_9XDw5g"
TENANT_SECRET = "TENANT-SECRET-do-not-leak"
SECRETS = (PASSWORD, TENANT_KEY, TENANT_SECRET)
SESSION = "ed8e1ef7-d885-4753-88ad-afc5aedfac7b"
RECEIVED = datetime(2030, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
LOGIN_URL = f"{BASE}/api/v2.1/admin/organization/{ORG}/users/{USER}/sessions"
REFRESH_URL = f"{BASE}/api/v2.1/admin/sessions/{SESSION}/refresh"
CREDENTIALS: dict[str, Any] = {
    "organization_id": ORG,
    "user_id": USER,
    "tenant_id": TENANT,
    "username": USERNAME,
    "password": PASSWORD,
    "tenant_key": TENANT_KEY,
    "tenant_secret": TENANT_SECRET,
}
ENVIRONMENT = {f"FINHUB_{name.upper()}": value for name, value in CREDENTIALS.items()}


# --- helpers -----------------------------------------------------------------------------


def session_jwt(lifetime: int = 3600, *, server_clock: datetime = RECEIVED, **claims: Any) -> str:
    """A FinHub-style session token, issued by a server whose clock reads `server_clock`."""
    iat = int(server_clock.timestamp())
    payload = {"sub": USER, "orgId": ORG, "tenantId": TENANT, "iat": iat, "exp": iat + lifetime}
    return jwt.encode({**payload, **claims}, SIGNING_KEY, algorithm="HS256")


def provider(base_url: str = BASE, **overrides: str) -> FinHub:
    fields = {**CREDENTIALS, **overrides}
    return FinHub(
        fields["organization_id"],
        fields["user_id"],
        fields["tenant_id"],
        fields["username"],
        fields["password"],
        fields["tenant_key"],
        fields["tenant_secret"],
        parse_base_url(base_url, provider="FinHub", allow_insecure=False),
    )


def reply(call: AuthCall, body: Any, status: int = 200) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(call, status, (("Content-Type", "application/json"),), raw, RECEIVED)


def session_data(**fields: Any) -> dict[str, Any]:
    """The `data` of a successful session answer; a field given as `...` is left out."""
    data: dict[str, Any] = {
        "sessionId": SESSION,
        "userId": USER,
        "token": session_jwt(),
        "refreshToken": "3c68d5a6-refresh-token-long-string",
        "expiresAt": "2030-06-01T13:00:00.9745432",
        "success": True,
        "message": "Session created successfully",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not ...}


def envelope(data: Any = None, code: Any = 200, message: str = "Success") -> dict[str, Any]:
    return {"code": code, "message": message, "data": session_data() if data is None else data}


def a_token(
    refresh: str | None = "refresh-OLD", session_id: object = SESSION, access: str | None = None
) -> Token:
    extra = {} if session_id is ... else {"session_id": session_id}
    return Token(access or session_jwt(), refresh, RECEIVED + timedelta(hours=1), RECEIVED, extra)


def refresh_call(previous: Token) -> AuthCall:
    call = provider().refresh_call(previous)
    assert call is not None
    return call


def header_names(request: FakeRequest, name: str) -> list[str]:
    return [key for key in request.headers if key.lower() == name.lower()]


# --- login_call --------------------------------------------------------------------------


def test_login_call_creates_an_admin_session() -> None:
    call = provider().login_call()
    assert (call.method, call.url) == ("POST", LOGIN_URL)
    assert (call.provider, call.purpose) == ("FinHub", "login")
    assert call.headers["X-Tenant-ID"] == TENANT
    assert call.headers["Content-Type"] == "application/json"
    body = json.loads(call.body)
    assert body == {
        "username": USERNAME,
        "password": PASSWORD,
        "tenantKey": TENANT_KEY,
        "tenantSecret": TENANT_SECRET,
    }
    assert "Authorization" not in call.headers


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        pytest.param("org/with/slashes", "org%2Fwith%2Fslashes", id="slash"),
        pytest.param("a b", "a%20b", id="space"),
        pytest.param("100%", "100%25", id="percent"),
        pytest.param("%2F", "%252F", id="already-quoted"),
        pytest.param("ünï-cødé", "%C3%BCn%C3%AF-c%C3%B8d%C3%A9", id="unicode"),
        pytest.param("a?b#c", "a%3Fb%23c", id="query-and-fragment"),
        pytest.param("x+y&z=1", "x%2By%26z%3D1", id="plus-and-amp"),
    ],
)
def test_login_path_segments_are_url_quoted(raw: str, quoted: str) -> None:
    call = provider(organization_id=raw, user_id=raw + "-user").login_call()
    path = urlsplit(call.url).path
    assert path == (
        f"/api/v2.1/admin/organization/{quoted}/users/{quote(raw + '-user', safe='')}/sessions"
    )
    assert not urlsplit(call.url).query
    assert not urlsplit(call.url).fragment
    segments = path.split("/")
    assert len(segments) == 9  # the ids stay one segment each
    assert (unquote(segments[5]), unquote(segments[7])) == (raw, raw + "-user")


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [
        ("https://gw.example.com/finhub", "https://gw.example.com/finhub"),
        ("https://gw.example.com/finhub/", "https://gw.example.com/finhub"),
        ("https://GW.example.com:443", "https://gw.example.com"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
    ],
)
def test_a_base_url_path_prefixes_both_endpoints(base_url: str, prefix: str) -> None:
    hub = provider(base_url)
    refresh = hub.refresh_call(a_token())
    assert (
        hub.login_call().url == f"{prefix}/api/v2.1/admin/organization/{ORG}/users/{USER}/sessions"
    )
    assert refresh is not None
    assert refresh.url == f"{prefix}/api/v2.1/admin/sessions/{SESSION}/refresh"


def test_identity_check_and_repr_hold_no_secret() -> None:
    hub = provider()
    assert hub.identity == (ORG, USER, TENANT, USERNAME)
    assert "tenant key" in hub.check
    assert "tenant secret" in hub.check
    for secret in SECRETS:
        assert secret not in repr(hub)
        assert secret not in repr(hub.login_call())
    assert ORG in repr(hub)


# --- refresh_call ------------------------------------------------------------------------


def test_refresh_call_posts_the_refresh_token_with_the_current_bearer() -> None:
    previous = a_token("refresh-XYZ")
    call = refresh_call(previous)
    assert (call.method, call.url) == ("POST", REFRESH_URL)
    assert (call.provider, call.purpose) == ("FinHub", "refresh")
    assert call.headers["Authorization"] == f"Bearer {previous.access_token}"
    assert call.headers["X-Tenant-ID"] == TENANT
    assert call.headers["Content-Type"] == "application/json"
    assert json.loads(call.body) == {"refreshToken": "refresh-XYZ"}
    for secret in SECRETS:
        assert secret.encode() not in call.body


@pytest.mark.parametrize(
    ("session_id", "quoted"),
    [("s/1", "s%2F1"), ("a b", "a%20b"), ("50%", "50%25"), ("séance", "s%C3%A9ance")],
)
def test_refresh_path_quotes_the_session_id(session_id: str, quoted: str) -> None:
    call = refresh_call(a_token(session_id=session_id))
    assert urlsplit(call.url).path == f"/api/v2.1/admin/sessions/{quoted}/refresh"


@pytest.mark.parametrize(
    ("refresh", "session_id"),
    [
        pytest.param(None, SESSION, id="no-refresh-token"),
        pytest.param("refresh-1", ..., id="no-session-id"),
        pytest.param("refresh-1", None, id="null-session-id"),
        pytest.param("refresh-1", 12345, id="number-session-id"),
        pytest.param("refresh-1", "", id="empty-session-id"),
        pytest.param("", SESSION, id="empty-refresh-token"),
    ],
)
def test_no_refresh_call_without_a_session_id_and_a_refresh_token(
    refresh: str | None, session_id: object
) -> None:
    """Without both, a refresh cannot work: the flow must log in instead (R3)."""
    assert provider().refresh_call(a_token(refresh, session_id)) is None


# --- read_login --------------------------------------------------------------------------


def test_read_login_reads_the_envelope() -> None:
    hub = provider()
    access = session_jwt()
    token = hub.read_login(reply(hub.login_call(), envelope(session_data(token=access))))
    assert token.access_token == access
    assert token.refresh_token == "3c68d5a6-refresh-token-long-string"
    assert token.extra["session_id"] == SESSION
    assert dict(token.extra) == {"session_id": SESSION}
    assert token.obtained_at == RECEIVED


@pytest.mark.parametrize("code", [200, "200"])
def test_read_login_accepts_code_200_as_int_or_string(code: object) -> None:
    hub = provider()
    token = hub.read_login(reply(hub.login_call(), envelope(code=code)))
    assert token.extra["session_id"] == SESSION


def test_read_login_without_a_session_id_or_refresh_token() -> None:
    hub = provider()
    data = session_data(sessionId=..., refreshToken=None)
    token = hub.read_login(reply(hub.login_call(), envelope(data)))
    assert "session_id" not in token.extra
    assert token.refresh_token is None
    assert hub.refresh_call(token) is None


@pytest.mark.parametrize("code", [400, 401, 403, "400", "401", "403"])
def test_a_refusal_in_a_200_envelope_is_a_login_error(code: object) -> None:
    hub = provider()
    body = {"code": code, "message": "Invalid tenant key or secret", "data": None}
    with pytest.raises(LoginError) as caught:
        hub.read_login(reply(hub.login_call(), body))
    error = caught.value
    assert (error.provider, error.status_code) == ("FinHub", 200)
    assert error.endpoint == f"POST {LOGIN_URL}"
    assert error.provider_message == "Invalid tenant key or secret"
    assert "tenant key" in str(error)
    assert "FinHub" in str(error)


@pytest.mark.parametrize("code", [500, "500", 404, 201, 0, None, "OK", True, 200.5])
def test_any_other_code_is_an_unusable_answer(code: object) -> None:
    hub = provider()
    with pytest.raises(ProviderResponseError) as caught:
        hub.read_login(reply(hub.login_call(), envelope(code=code)))
    assert (caught.value.provider, caught.value.status_code) == ("FinHub", 200)
    assert caught.value.endpoint == f"POST {LOGIN_URL}"


@pytest.mark.parametrize(
    "code",
    [f"ERR {TENANT_SECRET}", {"echo": PASSWORD}, "9" * 1000],
    ids=["secret", "object", "long"],
)
def test_an_unusable_code_is_quoted_masked_and_short(code: object) -> None:
    """R10: the envelope's code is the provider's text, and may echo what was sent."""
    hub = provider()
    with pytest.raises(ProviderResponseError) as caught:
        hub.read_login(reply(hub.login_call(), envelope(code=code)))
    message = str(caught.value)
    assert "its envelope says code " in message
    for secret in (TENANT_SECRET, PASSWORD, "9" * EXCERPT_LENGTH):
        assert secret not in message


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"code": 200, "message": "ok"}, id="missing-data"),
        pytest.param({"code": 200, "message": "ok", "data": None}, id="null-data"),
        pytest.param({"code": 200, "message": "ok", "data": [session_data()]}, id="list-data"),
        pytest.param({"code": 200, "message": "ok", "data": "token"}, id="string-data"),
        pytest.param(session_data(), id="no-envelope"),
    ],
)
def test_an_envelope_without_a_data_object_is_unusable(body: dict[str, Any]) -> None:
    hub = provider()
    with pytest.raises(ProviderResponseError):
        hub.read_login(reply(hub.login_call(), body))


def test_data_success_false_is_a_login_error() -> None:
    hub = provider()
    data = session_data(success=False, message="User account disabled")
    with pytest.raises(LoginError) as caught:
        hub.read_login(reply(hub.login_call(), envelope(data, message="")))
    assert caught.value.provider_message == "User account disabled"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(..., id="missing"),
        pytest.param(None, id="null"),
        pytest.param("", id="empty"),
        pytest.param(12345, id="number"),
        pytest.param(["eyJ"], id="list"),
        pytest.param({"jwt": "x"}, id="object"),
    ],
)
def test_a_missing_or_non_string_token_is_unusable(token: object) -> None:
    hub = provider()
    with pytest.raises(ProviderResponseError) as caught:
        hub.read_login(reply(hub.login_call(), envelope(session_data(token=token))))
    assert "token" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><h1>502 Bad Gateway</h1></html>", id="html"),
        pytest.param(b'{"code": 200, "data": {"tok', id="truncated"),
        pytest.param(b"[1, 2]", id="list"),
        pytest.param(b"", id="empty"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
    ],
)
def test_a_body_that_is_no_json_object_is_unusable(body: bytes) -> None:
    hub = provider()
    with pytest.raises(ProviderResponseError):
        hub.read_login(reply(hub.login_call(), body))


def echoing_everything() -> str:
    return f"bad {USERNAME} {PASSWORD} {TENANT_KEY} {TENANT_SECRET}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"code": 401, "message": echoing_everything(), "data": None}, LoginError, id="401"
        ),
        pytest.param(
            envelope(session_data(success=False, message=echoing_everything())),
            LoginError,
            id="success-false",
        ),
        pytest.param(
            {"code": 500, "message": echoing_everything(), "data": {"secret": TENANT_SECRET}},
            ProviderResponseError,
            id="500",
        ),
        pytest.param(
            envelope(session_data(token=..., refreshToken="refresh-SECRET-1", note=PASSWORD)),
            ProviderResponseError,
            id="no-token",
        ),
        pytest.param(
            envelope(session_data(token=12345, refreshToken="refresh-SECRET-1")),
            ProviderResponseError,
            id="int-token",
        ),
    ],
)
def test_error_messages_and_excerpts_hold_no_secret(
    body: dict[str, Any], expected: type[FinauthError]
) -> None:
    """R10: neither credentials the provider echoes nor tokens reach an error."""
    hub = provider()
    with pytest.raises(FinauthError) as caught:
        hub.read_login(reply(hub.login_call(), body))
    error = caught.value
    assert type(error) is expected
    seen = str(error) + repr(error)
    if isinstance(error, LoginError):
        seen += str(error.provider_message)
    if isinstance(error, ProviderResponseError):
        seen += error.excerpt
    for secret in (*SECRETS, "refresh-SECRET-1"):
        assert secret not in seen


def test_an_unusable_answer_masks_the_token_it_carried() -> None:
    hub = provider()
    access = session_jwt()
    body = {"code": 500, "message": "half done", "data": session_data(token=access)}
    with pytest.raises(ProviderResponseError) as caught:
        hub.read_login(reply(hub.login_call(), body))
    assert access not in str(caught.value)
    assert access not in caught.value.excerpt
    assert "code 500" in str(caught.value)


# --- read_refresh ------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [..., None, ""])
def test_read_refresh_keeps_the_session_id_and_refresh_token_not_returned(
    missing: object,
) -> None:
    hub = provider()
    previous = a_token("refresh-OLD")
    access = session_jwt(lifetime=600)
    data = session_data(token=access, sessionId=missing, refreshToken=missing)
    token = hub.read_refresh(reply(refresh_call(previous), envelope(data)), previous)
    assert token.access_token == access
    assert token.refresh_token == "refresh-OLD"
    assert token.extra["session_id"] == SESSION
    assert token.expires_at == RECEIVED + timedelta(seconds=600)


def test_read_refresh_takes_a_rotated_refresh_token_and_session_id() -> None:
    hub = provider()
    previous = a_token("refresh-OLD")
    data = session_data(sessionId="session-NEW", refreshToken="refresh-NEW")
    token = hub.read_refresh(reply(refresh_call(previous), envelope(data)), previous)
    assert token.refresh_token == "refresh-NEW"
    assert token.extra["session_id"] == "session-NEW"
    follow_up = hub.refresh_call(token)
    assert follow_up is not None
    assert follow_up.url.endswith("/sessions/session-NEW/refresh")
    assert follow_up.headers["Authorization"] == f"Bearer {token.access_token}"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            {"code": 401, "message": "Invalid or expired refresh token", "data": None},
            LoginError,
            id="401-envelope",
        ),
        pytest.param({"code": 200, "message": "ok"}, ProviderResponseError, id="no-data"),
        pytest.param(envelope(session_data(token=...)), ProviderResponseError, id="no-token"),
        pytest.param(b"<html>oops</html>", ProviderResponseError, id="html"),
    ],
)
def test_read_refresh_errors(body: Any, expected: type[FinauthError]) -> None:
    hub = provider()
    previous = a_token()
    with pytest.raises(FinauthError) as caught:
        hub.read_refresh(reply(refresh_call(previous), body), previous)
    assert type(caught.value) is expected
    assert caught.value.endpoint == f"POST {REFRESH_URL}"
    assert previous.access_token not in str(caught.value)


# --- expiry (R7) ---------------------------------------------------------------------------


@pytest.mark.parametrize("drift", [timedelta(0), timedelta(hours=3), timedelta(hours=-7)])
def test_the_jwt_lifetime_wins_over_expires_at(drift: timedelta) -> None:
    """R7: `exp - iat` from receipt, whatever the server clock or `expiresAt` say."""
    hub = provider()
    access = session_jwt(lifetime=900, server_clock=RECEIVED + drift)
    data = session_data(token=access, expiresAt="2030-06-01T14:00:00.1234567")
    token = hub.read_login(reply(hub.login_call(), envelope(data)))
    assert token.expires_at == RECEIVED + timedelta(seconds=900)


def test_a_jwt_exp_without_iat_still_wins_over_expires_at() -> None:
    hub = provider()
    exp = int((RECEIVED + timedelta(minutes=20)).timestamp())
    access = jwt.encode({"sub": USER, "exp": exp}, SIGNING_KEY, algorithm="HS256")
    data = session_data(token=access, expiresAt="2030-06-01T14:00:00.1234567")
    token = hub.read_login(reply(hub.login_call(), envelope(data)))
    assert token.expires_at == RECEIVED + timedelta(minutes=20)


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        ("2030-06-01T12:45:00.9745432", datetime(2030, 6, 1, 12, 45, 0, 974543, timezone.utc)),
        ("2030-06-01T12:45:00Z", datetime(2030, 6, 1, 12, 45, tzinfo=timezone.utc)),
        ("2030-06-01T18:15:00+05:30", datetime(2030, 6, 1, 12, 45, tzinfo=timezone.utc)),
    ],
)
def test_an_opaque_token_uses_expires_at(expires_at: str, expected: datetime) -> None:
    hub = provider()
    data = session_data(token="opaque-session-token", expiresAt=expires_at)
    token = hub.read_login(reply(hub.login_call(), envelope(data)))
    assert token.access_token == "opaque-session-token"
    assert token.expires_at == expected
    assert token.expires_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("expires_at", [..., None, "", "soon", 3600, "2030-13-45T12:00:00"])
def test_an_opaque_token_without_a_readable_expires_at_lives_an_hour(expires_at: object) -> None:
    hub = provider()
    data = session_data(token="opaque-session-token", expiresAt=expires_at)
    token = hub.read_login(reply(hub.login_call(), envelope(data)))
    assert token.expires_at == RECEIVED + timedelta(hours=1)


@pytest.mark.parametrize(
    "expires_at",
    [
        pytest.param("2030-06-01T12:00:00+24:00", id="offset-of-a-day"),
        pytest.param("2030-06-01T12:00:00-99:99", id="offset-out-of-range"),
        pytest.param("0001-01-01T00:00:00+05:00", id="before-year-one-in-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999-in-utc"),
    ],
)
@pytest.mark.parametrize("access", [session_jwt(), "opaque-session-token"], ids=["jwt", "opaque"])
def test_an_impossible_expires_at_never_breaks_the_login(expires_at: str, access: str) -> None:
    """R8: whatever `expiresAt` holds, reading the login ends in a Token or an R8 error
    (here: the JWT's expiry, or R7's hour), never a ValueError or OverflowError."""
    hub = provider()
    data = session_data(token=access, expiresAt=expires_at)
    token = hub.read_login(reply(hub.login_call(), envelope(data)))
    lifetime = token.expires_at - RECEIVED
    assert lifetime == timedelta(hours=1)


# --- parse_expires_at ----------------------------------------------------------------------

_PY310_ISOFORMAT = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:.\d{2}(?::\d{2}(?::\d{2}(?:\.(?:\d{3}|\d{6}))?)?)?"
    r"(?:[+-]\d{2}:\d{2}(?::\d{2}(?:\.\d{6})?)?)?)?",
    re.ASCII,
)


class Python310Datetime:
    """`datetime` as Python 3.10 parses ISO strings: only what `isoformat()` produces
    (3 or 6 fractional digits, `+HH:MM` zones, no `Z`), everything else a ValueError."""

    @staticmethod
    def fromisoformat(date_string: str) -> datetime:
        if _PY310_ISOFORMAT.fullmatch(date_string) is None:
            raise ValueError(f"Invalid isoformat string: {date_string!r}")
        return datetime.fromisoformat(date_string)


@pytest.mark.parametrize(
    "text", ["2026-01-13T22:21:48.9745432", "2026-01-13T22:21:48Z", "2026-01-13T22:21:48-0800"]
)
def test_the_python_310_stand_in_rejects_what_310_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        Python310Datetime.fromisoformat(text)
    assert Python310Datetime.fromisoformat("2026-01-13T22:21:48.974543+05:30").microsecond == 974543


@pytest.fixture(params=["this-python", "python-3.10"])
def semantics(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """parse_expires_at, run with this Python's `datetime` and with 3.10's stricter one."""
    name: str = request.param
    if name == "python-3.10":
        monkeypatch.setattr(finhub_module, "datetime", Python310Datetime)
    return name


UTC = timezone.utc


@pytest.mark.usefixtures("semantics")
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "2026-01-13T22:21:48.9745432", datetime(2026, 1, 13, 22, 21, 48, 974543, UTC), id="7"
        ),
        pytest.param(
            "2026-01-13T22:21:48.974543", datetime(2026, 1, 13, 22, 21, 48, 974543, UTC), id="6"
        ),
        pytest.param(
            "2026-01-13T22:21:48.974", datetime(2026, 1, 13, 22, 21, 48, 974000, UTC), id="3"
        ),
        pytest.param(
            "2026-01-13T22:21:48.5", datetime(2026, 1, 13, 22, 21, 48, 500000, UTC), id="1"
        ),
        pytest.param("2026-01-13T22:21:48", datetime(2026, 1, 13, 22, 21, 48, 0, UTC), id="0"),
        pytest.param(
            "2026-01-13T22:21:48.9745432Z", datetime(2026, 1, 13, 22, 21, 48, 974543, UTC), id="Z"
        ),
        pytest.param("2026-01-13T22:21:48z", datetime(2026, 1, 13, 22, 21, 48, 0, UTC), id="z"),
        pytest.param(
            "2026-01-13T22:21:48+05:30",
            datetime(2026, 1, 13, 16, 51, 48, 0, UTC),
            id="plus-05:30",
        ),
        pytest.param(
            "2026-01-13T22:21:48.1234567-0800",
            datetime(2026, 1, 14, 6, 21, 48, 123456, UTC),
            id="minus-0800",
        ),
        pytest.param(
            "2026-01-13 22:21:48.9745432",
            datetime(2026, 1, 13, 22, 21, 48, 974543, UTC),
            id="space",
        ),
        pytest.param(
            "  2026-01-13T22:21:48.9745432\n",
            datetime(2026, 1, 13, 22, 21, 48, 974543, UTC),
            id="padded",
        ),
        pytest.param("2024-02-29T00:00:00", datetime(2024, 2, 29, tzinfo=UTC), id="leap-day"),
    ],
)
def test_parse_expires_at_reads(text: str, expected: datetime) -> None:
    parsed = parse_expires_at(text)
    assert parsed is not None
    assert parsed.tzinfo is not None
    assert parsed == expected


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The process's local time zone set to UTC+05:30, then restored."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.usefixtures("far_from_utc", "semantics")
def test_no_zone_means_utc_whatever_the_local_zone() -> None:
    assert datetime(2026, 1, 13, 22, 21, 48).astimezone().utcoffset() == timedelta(
        hours=5, minutes=30
    )
    parsed = parse_expires_at("2026-01-13T22:21:48.9745432")
    assert parsed == datetime(2026, 1, 13, 22, 21, 48, 974543, UTC)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("semantics")
def test_parse_expires_at_honours_the_stated_offset() -> None:
    parsed = parse_expires_at("2026-01-13T22:21:48-0800")
    assert parsed == datetime(2026, 1, 14, 6, 21, 48, tzinfo=UTC)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("semantics")
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="none"),
        pytest.param(1768249320, id="int"),
        pytest.param(1768249320.5, id="float"),
        pytest.param(True, id="bool"),
        pytest.param(b"2026-01-13T22:21:48", id="bytes"),
        pytest.param(["2026-01-13T22:21:48"], id="list"),
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("2026-01-13", id="date-only"),
        pytest.param("22:21:48", id="time-only"),
        pytest.param("2026-13-45T22:21:48.9745432", id="month-13-day-45"),
        pytest.param("2026-02-30T10:00:00", id="february-30"),
        pytest.param("2026-01-13T25:00:00", id="hour-25"),
        pytest.param("2026-01-13T22:61:00", id="minute-61"),
        pytest.param("2026-01-13T23:59:60", id="leap-second"),
        pytest.param("2026-01-13T22:21:48.", id="dot-without-digits"),
        pytest.param("2026-01-13T22:21:48.97x", id="letters-in-fraction"),
        pytest.param("2026-01-13T22:21", id="no-seconds"),
        pytest.param("2026-01-13T22:21:48+5", id="short-offset"),
        pytest.param("2026-01-13T22:21:48 UTC", id="zone-name"),
        pytest.param("2026-01-13T22:21:48.9745432 trailing", id="trailing-text"),
        pytest.param("20260113T222148", id="basic-format"),
        pytest.param("2026-01-13T22:21:48+24:00", id="offset-of-a-day"),
        pytest.param("2026-01-13T22:21:48-99:99", id="offset-out-of-range"),
        pytest.param("0001-01-01T00:00:00+05:00", id="before-year-one-in-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999-in-utc"),
    ],
)
def test_parse_expires_at_returns_none_for_anything_unreadable(value: object) -> None:
    assert parse_expires_at(value) is None


# --- apply / withdraw ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Tenant-ID": "wrong"},
        {"x-tenant-id": "wrong", "authorization": "Basic dXNlcjpwYXNz"},
        {"X-TENANT-ID": "wrong", "X-Keep": "1", "Authorization": "Bearer stale"},
    ],
)
def test_apply_sets_bearer_and_the_tenant_replacing_the_callers(headers: dict[str, str]) -> None:
    request = FakeRequest(BASE + "/api/v2.1/customer/x?y=1", headers)
    token = a_token()
    provider().apply(request, token)
    assert request.headers["Authorization"] == f"Bearer {token.access_token}"
    assert request.headers["X-Tenant-ID"] == TENANT
    assert len(header_names(request, "X-Tenant-ID")) == 1
    assert len(header_names(request, "Authorization")) == 1
    if "X-Keep" in headers:
        assert request.headers["X-Keep"] == "1"
    assert request.url == BASE + "/api/v2.1/customer/x?y=1"


def test_withdraw_removes_the_token_and_the_tenant_only() -> None:
    request = FakeRequest(BASE + "/x", {"X-Keep": "1", "Cookie": "a=1"})
    hub = provider()
    hub.apply(request, a_token())
    hub.withdraw(request)
    assert "Authorization" not in request.headers
    assert "X-Tenant-ID" not in request.headers
    assert dict(request.headers) == {"X-Keep": "1", "Cookie": "a=1"}
    hub.withdraw(request)  # nothing left to take: no error
    assert dict(request.headers) == {"X-Keep": "1", "Cookie": "a=1"}


# --- FinHubSessionAuth -----------------------------------------------------------------------


def test_auth_arguments_are_keyword_only() -> None:
    untyped: Any = FinHubSessionAuth
    with pytest.raises(TypeError, match="positional"):
        untyped(*CREDENTIALS.values())
    auth = FinHubSessionAuth(**CREDENTIALS)
    hub = auth._flow.provider
    assert isinstance(hub, FinHub)
    assert json.loads(hub.login_call().body)["tenantSecret"] == TENANT_SECRET
    assert hub.login_call().url == LOGIN_URL
    assert auth.token is None


@pytest.mark.parametrize("name", list(CREDENTIALS))
@pytest.mark.parametrize("empty", ["", "   ", None])
def test_each_empty_credential_is_named_at_construction(name: str, empty: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        FinHubSessionAuth(**{**CREDENTIALS, name: empty})
    message = str(caught.value)
    assert caught.value.provider == "FinHub"
    assert name in message
    for other in set(CREDENTIALS) - {name}:
        assert other not in message
    for value in CREDENTIALS.values():
        assert value not in message


def test_default_refresh_margin_is_five_minutes() -> None:
    assert FinHubSessionAuth(**CREDENTIALS)._flow._margin == 300.0
    assert FinHubSessionAuth(**CREDENTIALS, refresh_margin=10)._flow._margin == 10.0


def test_auth_repr_holds_no_secret() -> None:
    auth = FinHubSessionAuth(**CREDENTIALS)
    text = repr(auth)
    assert text.startswith("FinHubSessionAuth(")
    assert USERNAME in text
    for secret in SECRETS:
        assert secret not in text
        assert secret not in str(auth)


@pytest.mark.parametrize("base_url", ["http://sandbox.finhub.cloud", "http://10.0.0.7:8080"])
def test_plain_http_is_insecure(base_url: str) -> None:
    with pytest.raises(InsecureTransportError):
        FinHubSessionAuth(**CREDENTIALS, base_url=base_url)
    assert FinHubSessionAuth(**CREDENTIALS, base_url=base_url, allow_insecure=True) is not None


def test_from_env_reads_all_seven_variables() -> None:
    auth = FinHubSessionAuth.from_env(dict(ENVIRONMENT))
    hub = auth._flow.provider
    assert isinstance(hub, FinHub)
    assert hub.base.url == BASE
    assert hub.login_call().url == LOGIN_URL
    assert hub.login_call().headers["X-Tenant-ID"] == TENANT
    assert json.loads(hub.login_call().body) == {
        "username": USERNAME,
        "password": PASSWORD,
        "tenantKey": TENANT_KEY,
        "tenantSecret": TENANT_SECRET,
    }
    assert auth._flow._margin == 300.0


def test_from_env_honours_base_url_and_options() -> None:
    environ = {**ENVIRONMENT, "FINHUB_BASE_URL": "http://hub.internal:8080/gw/"}
    auth = FinHubSessionAuth.from_env(environ, allow_insecure=True, refresh_margin=42)
    assert auth._flow.provider.login_call().url == (
        f"http://hub.internal:8080/gw/api/v2.1/admin/organization/{ORG}/users/{USER}/sessions"
    )
    assert auth._flow._margin == 42.0
    with pytest.raises(InsecureTransportError):
        FinHubSessionAuth.from_env(environ)


def test_from_env_with_an_empty_base_url_uses_the_sandbox() -> None:
    auth = FinHubSessionAuth.from_env({**ENVIRONMENT, "FINHUB_BASE_URL": ""})
    assert auth._flow.provider.base.url == BASE


@pytest.mark.parametrize(
    "missing",
    [
        list(ENVIRONMENT),
        ["FINHUB_TENANT_SECRET"],
        ["FINHUB_ORGANIZATION_ID", "FINHUB_PASSWORD", "FINHUB_TENANT_KEY"],
        ["FINHUB_USER_ID", "FINHUB_TENANT_ID", "FINHUB_USERNAME"],
    ],
)
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_from_env_names_every_missing_variable(missing: list[str], how: str) -> None:
    environ = {name: value for name, value in ENVIRONMENT.items() if name not in missing}
    if how == "empty":
        environ.update(dict.fromkeys(missing, ""))
    environ["FINHUB_BASE_URL"] = "https://gw.example.com"
    with pytest.raises(ConfigurationError) as caught:
        FinHubSessionAuth.from_env(environ)
    message = str(caught.value)
    for name in missing:
        assert name in message
    for name in set(ENVIRONMENT) - set(missing):
        assert name not in message
    for value in CREDENTIALS.values():
        assert value not in message


# --- header and path safety (R16) --------------------------------------------------------

UNSAFE_TOKENS = ["SeKrEt\r\nX-Evil: 1", "SeKrEt\n", "SeKrEt\x00", "SeKrEt en", "SeKrEtö"]


@pytest.mark.parametrize("token", UNSAFE_TOKENS)
@pytest.mark.parametrize("purpose", ["login", "refresh"])
def test_a_token_no_header_can_carry_is_unusable(token: str, purpose: str) -> None:
    hub, body = provider(), envelope(session_data(token=token))
    call = hub.login_call() if purpose == "login" else refresh_call(a_token())
    with pytest.raises(ProviderResponseError, match="no header can carry") as caught:
        hub.read_refresh(reply(call, body), a_token())
    assert token not in str(caught.value)
    assert "SeKrEt" not in str(caught.value)


@pytest.mark.parametrize("session_id", [".", "..", "ses sion", "ses\r\nsion", "sessiön"])
def test_a_session_id_no_refresh_path_can_carry_is_unusable(session_id: str) -> None:
    hub = provider()
    answer = reply(hub.login_call(), envelope(session_data(sessionId=session_id)))
    with pytest.raises(ProviderResponseError, match="'sessionId'"):
        hub.read_login(answer)


def test_carries_checks_the_token_and_the_session_id() -> None:
    hub = provider()
    assert hub.carries(a_token())
    assert hub.carries(a_token(refresh="a refresh\r\ntoken goes in a JSON body"))
    assert hub.carries(a_token(session_id=...))
    assert not hub.carries(a_token(access="SeKrEt\r\n"))
    for session_id in (".", "..", "a b"):
        assert not hub.carries(a_token(session_id=session_id))


@pytest.mark.parametrize("tenant_id", ["t\r\nX-Evil: 1", "t\n", "t\x00", "tenant\t", "tenänt"])
def test_a_tenant_id_no_header_can_carry_is_a_configuration_error(tenant_id: str) -> None:
    with pytest.raises(ConfigurationError, match="tenant_id cannot be sent in the X-Tenant-ID"):
        FinHubSessionAuth(**{**CREDENTIALS, "tenant_id": tenant_id})


@pytest.mark.parametrize("name", ["organization_id", "user_id"])
@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segments_are_configuration_errors(name: str, value: str) -> None:
    """R16: quoted, "." and ".." stay as they are, and would be resolved away."""
    with pytest.raises(ConfigurationError, match=f"{name} cannot be '.' or '..'") as caught:
        FinHubSessionAuth(**{**CREDENTIALS, name: value})
    for secret in SECRETS:
        assert secret not in str(caught.value)
    assert FinHubSessionAuth(**{**CREDENTIALS, name: "..."}) is not None
