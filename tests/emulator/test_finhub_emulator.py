"""FinHubEmulator driven directly through `handle(Call(...))`: no transport, no network."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import jwt
import pytest

from finauth import FinHubSessionAuth
from finauth.providers.finhub import FinHub, parse_expires_at
from finauth.testing import Call, FinHubEmulator, Reply
from finauth.testing.finhub import DEMO, HIERARCHY_PATH

SESSION_FIELDS = {
    "sessionId",
    "userId",
    "token",
    "refreshToken",
    "expiresAt",
    "success",
    "message",
}
SEVEN_DIGITS_NO_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}")


# -- helpers ---------------------------------------------------------------------------------
def login_path(
    organization_id: str = DEMO["organization_id"], user_id: str = DEMO["user_id"]
) -> str:
    org, user = quote(organization_id, safe=""), quote(user_id, safe="")
    return f"/api/v2.1/admin/organization/{org}/users/{user}/sessions"


def refresh_path(session_id: str) -> str:
    return f"/api/v2.1/admin/sessions/{quote(session_id, safe='')}/refresh"


def post(path: str, payload: object, headers: dict[str, str] | None = None) -> Call:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return Call("POST", path, "", httpx.Headers(all_headers), body)


def credentials_body(emulator: FinHubEmulator, **overrides: str) -> dict[str, str]:
    body = {
        "username": emulator.username,
        "password": emulator.password,
        "tenantKey": emulator.tenant_key,
        "tenantSecret": emulator.tenant_secret,
    }
    return {**body, **overrides}


def login_reply(
    emulator: FinHubEmulator,
    *,
    path: str | None = None,
    tenant: str | None = None,
    **overrides: str,
) -> Reply:
    headers = {"X-Tenant-ID": emulator.tenant_id if tenant is None else tenant}
    return emulator.handle(
        post(path or login_path(), credentials_body(emulator, **overrides), headers)
    )


def login(emulator: FinHubEmulator) -> dict[str, Any]:
    reply = login_reply(emulator)
    assert reply.status == 200, reply.body
    data: dict[str, Any] = body_of(reply)["data"]
    return data


def refresh_reply(
    emulator: FinHubEmulator,
    session: dict[str, Any],
    *,
    session_id: str | None = None,
    bearer: str | None = None,
    refresh_token: str | None = None,
    tenant: str | None = None,
    authorization: str | None = None,
) -> Reply:
    """A refresh of `session`; an argument given as "" leaves that header out."""
    headers = {
        "Authorization": (
            f"Bearer {bearer or session['token']}" if authorization is None else authorization
        ),
        "X-Tenant-ID": emulator.tenant_id if tenant is None else tenant,
    }
    headers = {name: value for name, value in headers.items() if value}
    payload = {"refreshToken": refresh_token or session["refreshToken"]}
    return emulator.handle(post(refresh_path(session_id or session["sessionId"]), payload, headers))


def protected(
    emulator: FinHubEmulator,
    token: str | None,
    *,
    tenant: str | None = None,
    scheme: str = "Bearer",
) -> Reply:
    headers = {"X-Tenant-ID": emulator.tenant_id if tenant is None else tenant}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    headers = {name: value for name, value in headers.items() if value}
    return emulator.handle(Call("GET", HIERARCHY_PATH, "", httpx.Headers(headers), b""))


def body_of(reply: Reply) -> Any:
    return json.loads(reply.body)


def assert_envelope(reply: Reply, code: int) -> str:
    """A FinHub error envelope with HTTP status `code`; its message."""
    assert reply.status == code
    assert ("Content-Type", "application/json") in reply.headers
    body = body_of(reply)
    assert set(body) == {"code", "message", "data"}
    assert body["code"] == code
    assert body["data"] is None
    assert isinstance(body["message"], str)
    assert body["message"]
    message: str = body["message"]
    return message


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@pytest.fixture
def emulator() -> FinHubEmulator:
    return FinHubEmulator()


# -- login -----------------------------------------------------------------------------------
def test_login_answers_the_seed_envelope(emulator: FinHubEmulator) -> None:
    reply = login_reply(emulator)

    assert reply.status == 200
    assert ("Content-Type", "application/json") in reply.headers
    body = body_of(reply)
    assert set(body) == {"code", "message", "data"}
    assert (body["code"], body["message"]) == (200, "Success")
    data = body["data"]
    assert set(data) == SESSION_FIELDS
    assert data["success"] is True
    assert data["userId"] == DEMO["user_id"]
    assert data["sessionId"] == emulator.session_id
    assert isinstance(data["message"], str)
    assert data["message"]
    assert data["refreshToken"] != data["token"]
    assert emulator.logins == 1
    assert data["token"] in emulator.issued
    assert data["refreshToken"] in emulator.issued


@pytest.mark.parametrize("ttl", [3600.0, 120.0, 5.0])
def test_login_token_is_a_jwt_and_expires_at_has_seven_digits_and_no_zone(ttl: float) -> None:
    emulator = FinHubEmulator(token_ttl=ttl)
    before = datetime.now(timezone.utc)
    data = login(emulator)
    after = datetime.now(timezone.utc)

    expires_at = data["expiresAt"]
    assert SEVEN_DIGITS_NO_ZONE.fullmatch(expires_at), expires_at
    parsed = parse_expires_at(expires_at)
    assert parsed is not None
    lifetime = timedelta(seconds=ttl)
    assert before + lifetime - timedelta(milliseconds=5) <= parsed <= after + lifetime

    assert jwt.get_unverified_header(data["token"])["alg"] == "HS256"
    claims = claims_of(data["token"])
    assert claims["exp"] - claims["iat"] == pytest.approx(ttl, abs=1e-3)
    assert claims["sid"] == data["sessionId"]
    assert claims["sub"] == DEMO["user_id"]
    assert claims["tenantId"] == DEMO["tenant_id"]
    assert claims["orgId"] == DEMO["organization_id"]


def test_every_login_starts_a_new_session(emulator: FinHubEmulator) -> None:
    first, second = login(emulator), login(emulator)

    assert first["sessionId"] != second["sessionId"]
    assert first["token"] != second["token"]
    assert first["refreshToken"] != second["refreshToken"]
    assert emulator.session_id == second["sessionId"]


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"tenantKey": "cvK_wrong"}, id="tenant-key"),
        pytest.param({"tenantSecret": "wrong-secret"}, id="tenant-secret"),
        pytest.param({"password": "wrong-password"}, id="password"),
        pytest.param({"username": "someone@else.test"}, id="username"),
    ],
)
def test_wrong_credentials_are_a_401_envelope(
    emulator: FinHubEmulator, overrides: dict[str, str]
) -> None:
    message = assert_envelope(login_reply(emulator, **overrides), 401)

    if "tenantKey" in overrides or "tenantSecret" in overrides:
        assert "tenant" in message.lower()
    else:
        assert "password" in message.lower()
    assert emulator.session_id is None
    assert emulator.logins == 1
    assert emulator.issued == []


def test_a_wrong_tenant_header_is_a_401(emulator: FinHubEmulator) -> None:
    assert_envelope(login_reply(emulator, tenant="tenant_other"), 401)
    assert emulator.session_id is None


def test_a_failed_login_leaves_the_live_session_alone(emulator: FinHubEmulator) -> None:
    session = login(emulator)
    assert_envelope(login_reply(emulator, password="wrong"), 401)

    assert emulator.session_id == session["sessionId"]
    assert protected(emulator, session["token"]).status == 200


def test_a_missing_tenant_header_is_a_400(emulator: FinHubEmulator) -> None:
    reply = emulator.handle(post(login_path(), credentials_body(emulator)))

    assert "X-Tenant-ID" in assert_envelope(reply, 400)
    assert emulator.session_id is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b"{}",
        json.dumps({"username": DEMO["username"], "password": DEMO["password"]}).encode(),
        json.dumps(
            {**dict.fromkeys(("username", "password", "tenantKey"), "x"), "tenantSecret": 1}
        ).encode(),
    ],
)
def test_missing_fields_or_non_json_are_a_400(emulator: FinHubEmulator, body: bytes) -> None:
    reply = emulator.handle(post(login_path(), body, {"X-Tenant-ID": emulator.tenant_id}))

    assert_envelope(reply, 400)
    assert emulator.session_id is None


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(login_path(organization_id="f3a4b5c6-0000"), id="wrong-org"),
        pytest.param(login_path(user_id="e2f3a4b5-0000"), id="wrong-user"),
        pytest.param(login_path(DEMO["user_id"], DEMO["organization_id"]), id="swapped"),
    ],
)
def test_a_wrong_organization_or_user_in_the_path_is_a_404(
    emulator: FinHubEmulator, path: str
) -> None:
    assert_envelope(login_reply(emulator, path=path), 404)
    assert emulator.session_id is None
    assert emulator.logins == 1


def test_ids_are_read_from_quoted_path_segments() -> None:
    emulator = FinHubEmulator(organization_id="org/1 ünï%", user_id="user 2/b")

    assert login_reply(emulator, path=login_path("org/1 ünï%", "user 2/b")).status == 200
    assert_envelope(login_reply(emulator, path=login_path("org%2F1", "user 2/b")), 404)


def test_login_by_get_is_not_the_login_endpoint(emulator: FinHubEmulator) -> None:
    reply = emulator.handle(Call("GET", login_path(), "", httpx.Headers(), b""))

    assert reply.status == 404
    assert emulator.logins == 0


def test_a_second_login_ends_the_first_session(emulator: FinHubEmulator) -> None:
    first = login(emulator)
    assert protected(emulator, first["token"]).status == 200

    second = login(emulator)

    assert_envelope(protected(emulator, first["token"]), 401)
    assert_envelope(refresh_reply(emulator, first), 401)  # its own session id and bearer
    # the old refresh token does not work for the new session either
    assert_envelope(refresh_reply(emulator, second, refresh_token=first["refreshToken"]), 401)
    assert protected(emulator, second["token"]).status == 200
    assert refresh_reply(emulator, second).status == 200


# -- refresh ---------------------------------------------------------------------------------
def test_refresh_renews_the_session_and_rotates_the_refresh_token(
    emulator: FinHubEmulator,
) -> None:
    first = login(emulator)
    reply = refresh_reply(emulator, first)

    assert reply.status == 200
    body = body_of(reply)
    assert body["code"] == 200
    renewed = body["data"]
    assert set(renewed) == SESSION_FIELDS
    assert renewed["sessionId"] == first["sessionId"] == emulator.session_id
    assert renewed["token"] != first["token"]
    assert renewed["refreshToken"] != first["refreshToken"]
    assert SEVEN_DIGITS_NO_ZONE.fullmatch(renewed["expiresAt"])
    assert protected(emulator, renewed["token"]).status == 200
    assert (emulator.logins, emulator.refreshes) == (1, 1)

    # the old refresh token is spent; the rotated one works once
    assert_envelope(refresh_reply(emulator, renewed, refresh_token=first["refreshToken"]), 401)
    assert refresh_reply(emulator, renewed).status == 200
    assert_envelope(refresh_reply(emulator, renewed), 401)
    assert emulator.refreshes == 4


def test_refresh_accepts_the_sessions_expired_token(emulator: FinHubEmulator) -> None:
    session = login(emulator)
    emulator.expire_tokens()
    assert_envelope(protected(emulator, session["token"]), 401)

    reply = refresh_reply(emulator, session)

    assert reply.status == 200
    assert protected(emulator, body_of(reply)["data"]["token"]).status == 200


def test_refreshed_tokens_live_token_ttl() -> None:
    emulator = FinHubEmulator(token_ttl=42.0)
    renewed = body_of(refresh_reply(emulator, login(emulator)))["data"]
    claims = claims_of(renewed["token"])

    assert claims["exp"] - claims["iat"] == pytest.approx(42.0, abs=1e-3)


def foreign_token() -> str:
    """A token of the right shape, signed by another emulator."""
    other = FinHubEmulator()
    token: str = login(other)["token"]
    return token


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"authorization": ""}, id="no-authorization"),
        pytest.param({"authorization": "Token abc"}, id="not-bearer"),
        pytest.param({"bearer": "not-a-jwt"}, id="garbage-bearer"),
        pytest.param({"bearer": "foreign"}, id="bearer-signed-elsewhere"),
        pytest.param({"session_id": "00000000-0000-0000-0000-000000000000"}, id="other-session"),
        pytest.param({"refresh_token": "made-up-refresh-token"}, id="unknown-refresh-token"),
        pytest.param({"tenant": ""}, id="no-tenant"),
        pytest.param({"tenant": "tenant_other"}, id="wrong-tenant"),
    ],
)
def test_refresh_requires_bearer_session_refresh_token_and_tenant(
    emulator: FinHubEmulator, change: dict[str, str]
) -> None:
    session = login(emulator)
    options = dict(change)
    if options.get("bearer") == "foreign":
        options["bearer"] = foreign_token()

    assert_envelope(refresh_reply(emulator, session, **options), 401)
    assert emulator.refreshes == 1
    # nothing was spent: the genuine refresh still works
    assert refresh_reply(emulator, session).status == 200


def test_refresh_wants_the_bearer_of_its_own_session(emulator: FinHubEmulator) -> None:
    first = login(emulator)
    second = login(emulator)

    reply = refresh_reply(emulator, second, bearer=first["token"])

    assert_envelope(reply, 401)


def test_refresh_of_a_malformed_body_is_a_401(emulator: FinHubEmulator) -> None:
    session = login(emulator)
    headers = {"Authorization": f"Bearer {session['token']}", "X-Tenant-ID": emulator.tenant_id}
    for body in (b"", b"{}", b'{"refreshToken": 1}', b"[]"):
        reply = emulator.handle(post(refresh_path(session["sessionId"]), body, headers))
        assert_envelope(reply, 401)


# -- protected routes ------------------------------------------------------------------------
def test_protected_route_takes_bearer_and_the_tenant(emulator: FinHubEmulator) -> None:
    token = login(emulator)["token"]

    ok = protected(emulator, token)

    assert ok.status == 200
    body = body_of(ok)
    assert body["code"] == 200
    assert body["data"]["categoryId"] == "retail"
    assert emulator.denials == 0


@pytest.mark.parametrize(
    ("token", "tenant", "scheme"),
    [
        pytest.param(None, None, "Bearer", id="no-token"),
        pytest.param("login", "", "Bearer", id="no-tenant"),
        pytest.param("login", "tenant_other", "Bearer", id="wrong-tenant"),
        pytest.param("login", None, "JWT", id="jwt-scheme"),
        pytest.param("refresh", None, "Bearer", id="refresh-token-as-bearer"),
        pytest.param("garbage", None, "Bearer", id="garbage"),
    ],
)
def test_protected_route_denies_without_bearer_and_the_right_tenant(
    emulator: FinHubEmulator, token: str | None, tenant: str | None, scheme: str
) -> None:
    session = login(emulator)
    presented = {"login": session["token"], "refresh": session["refreshToken"]}.get(
        token or "", token
    )

    reply = protected(emulator, presented, tenant=tenant, scheme=scheme)

    assert "session" in assert_envelope(reply, 401).lower()
    assert emulator.denials == 1


def test_tokens_stop_working_when_they_expire() -> None:
    emulator = FinHubEmulator(token_ttl=0.3)
    token = login(emulator)["token"]

    assert protected(emulator, token).status == 200
    time.sleep(0.4)
    assert_envelope(protected(emulator, token), 401)


def test_revoke_tokens_ends_access_and_refresh(emulator: FinHubEmulator) -> None:
    session = login(emulator)
    emulator.revoke_tokens()

    assert_envelope(protected(emulator, session["token"]), 401)
    assert_envelope(refresh_reply(emulator, session), 401)
    fresh = login(emulator)
    assert protected(emulator, fresh["token"]).status == 200
    assert refresh_reply(emulator, fresh).status == 200


def test_fail_next_login_answers_a_finhub_envelope(emulator: FinHubEmulator) -> None:
    emulator.fail_next_login(401)
    emulator.fail_next_login(403)

    assert_envelope(login_reply(emulator), 401)
    assert_envelope(login_reply(emulator), 403)
    assert login_reply(emulator).status == 200
    assert emulator.logins == 3


def test_rate_limit_applies_to_refresh_too(emulator: FinHubEmulator) -> None:
    session = login(emulator)
    emulator.rate_limit(1, retry_after=7)

    limited = refresh_reply(emulator, session)

    assert limited.status == 429
    assert ("Retry-After", "7") in limited.headers
    assert refresh_reply(emulator, session).status == 200


def test_a_prefix_moves_every_endpoint() -> None:
    emulator = FinHubEmulator(prefix="/gw/")
    assert login_reply(emulator).status == 404
    reply = login_reply(emulator, path="/gw" + login_path())
    assert reply.status == 200
    session = body_of(reply)["data"]
    headers = {"Authorization": f"Bearer {session['token']}", "X-Tenant-ID": emulator.tenant_id}
    call = post(
        "/gw" + refresh_path(session["sessionId"]),
        {"refreshToken": session["refreshToken"]},
        headers,
    )
    assert emulator.handle(call).status == 200
    api = Call("GET", "/gw" + HIERARCHY_PATH, "", httpx.Headers(headers), b"")
    assert emulator.handle(api).status == 200


# -- presented, credentials, environment -----------------------------------------------------
def test_presented_is_the_bearer_token_sent_with_the_tenant(emulator: FinHubEmulator) -> None:
    token = login(emulator)["token"]

    def call(headers: dict[str, str]) -> Call:
        return Call("GET", HIERARCHY_PATH, "", httpx.Headers(headers), b"")

    tenant = {"X-Tenant-ID": emulator.tenant_id}
    assert emulator.presented(call({**tenant, "Authorization": f"Bearer {token}"})) == token
    assert emulator.presented(call({**tenant, "Authorization": "Bearer opaque"})) == "opaque"
    assert emulator.presented(call(tenant)) is None
    assert emulator.presented(call({**tenant, "Authorization": f"JWT {token}"})) is None
    assert emulator.presented(call({"Authorization": f"Bearer {token}"})) is None


def test_credentials_are_the_demo_account_keyed_like_the_auth() -> None:
    assert FinHubEmulator().credentials() == DEMO
    assert set(DEMO) == {
        "organization_id",
        "user_id",
        "tenant_id",
        "username",
        "password",
        "tenant_key",
        "tenant_secret",
    }


def test_credentials_take_overrides_and_login_honours_them() -> None:
    emulator = FinHubEmulator(tenant_id="tenant_x", password="pw-x", tenant_secret="ts-x")

    credentials = emulator.credentials()
    assert (credentials["tenant_id"], credentials["password"]) == ("tenant_x", "pw-x")
    assert credentials["tenant_secret"] == "ts-x"
    assert credentials["username"] == DEMO["username"]
    assert login_reply(emulator).status == 200
    assert_envelope(login_reply(emulator, tenant=DEMO["tenant_id"]), 401)


def test_environment_is_what_from_env_reads(emulator: FinHubEmulator) -> None:
    environment = emulator.environment("http://127.0.0.1:9/hub")

    assert environment == {
        "FINHUB_ORGANIZATION_ID": DEMO["organization_id"],
        "FINHUB_USER_ID": DEMO["user_id"],
        "FINHUB_TENANT_ID": DEMO["tenant_id"],
        "FINHUB_USERNAME": DEMO["username"],
        "FINHUB_PASSWORD": DEMO["password"],
        "FINHUB_TENANT_KEY": DEMO["tenant_key"],
        "FINHUB_TENANT_SECRET": DEMO["tenant_secret"],
        "FINHUB_BASE_URL": "http://127.0.0.1:9/hub",
    }
    auth = FinHubSessionAuth.from_env(environment)
    hub = auth._flow.provider
    assert isinstance(hub, FinHub)
    assert hub.base.url == "http://127.0.0.1:9/hub"
    call = hub.login_call()
    assert call.url == "http://127.0.0.1:9/hub" + login_path()
    # what the auth sends is what the emulator accepts
    reply = emulator.handle(
        Call("POST", login_path(), "", httpx.Headers(dict(call.headers)), call.body)
    )
    assert reply.status == 200
