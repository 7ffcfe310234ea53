"""The FinHub emulator: seed 002's tenant admin sessions, one live session per user."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from ..providers.finhub import (
    DEFAULT_BASE_URL,
    LOGIN_PATH,
    REFRESH_PATH,
    TENANT_HEADER,
    FinHubSessionAuth,
)
from ._emulator import AuthEndpoint, Call, Emulator, Reply, json_fields

HIERARCHY_PATH = (
    "/api/v2.1/customer/individual/categorization/hierarchy/d1e2f3a4-b5c6-47d8-9e0f-1a2b3c4d5e6f"
)
DEMO = {
    "organization_id": "f3a4b5c6-d7e8-49f0-1a2b-3c4d5e6f7a8b",
    "user_id": "e2f3a4b5-c6d7-48e9-0f1a-2b3c4d5e6f7a",
    "tenant_id": "tenant_cloudvault",
    "username": "admin@cloudvault.test",
    "password": "finhub-demo-password",
    "tenant_key": "cvK_9XDw5g_Y_8aUtRQgPyX4aTBb",
    "tenant_secret": "finhub-demo-tenant-secret",
}


class FinHubEmulator(Emulator):
    """FinHub's admin sessions, in the `{"code", "message", "data"}` envelope.

    Creating a session for a user ends that user's older session (the seed's
    warning about concurrent sessions): its token and refresh token stop
    working. Protected routes take `Authorization: Bearer` with the session's
    live token and the right `X-Tenant-ID`.
    """

    name = "FinHub"
    auth_class = FinHubSessionAuth
    production_url = DEFAULT_BASE_URL
    sample_path = HIERARCHY_PATH

    def __init__(self, **options: Any) -> None:
        account = {name: options.pop(name, value) for name, value in DEMO.items()}
        super().__init__(**options)
        self.organization_id = account["organization_id"]
        self.user_id = account["user_id"]
        self.tenant_id = account["tenant_id"]
        self.username = account["username"]
        self.password = account["password"]
        self.tenant_key = account["tenant_key"]
        self.tenant_secret = account["tenant_secret"]
        self.session_id: str | None = None
        """The user's one live session."""
        self._refresh_tokens: dict[str, str] = {}
        self.route("GET", HIERARCHY_PATH, {"code": 200, "message": "Success", "data": _HIERARCHY})

    def credentials(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in DEMO}

    def auth_endpoints(self) -> Mapping[tuple[str, str], AuthEndpoint]:
        login = LOGIN_PATH.format(organization_id="{organizationId}", user_id="{userId}")
        return {
            ("POST", login): ("login", self._login),
            ("POST", REFRESH_PATH.format(session_id="{sessionId}")): ("refresh", self._refresh),
        }

    def authorized(self, call: Call) -> bool:
        claims = self._bearer(call)
        return (
            claims is not None
            and self.verify(self._token(call), "access") is not None
            and claims.get("sid") == self.session_id
        )

    def presented(self, call: Call) -> str | None:
        return self._token(call) or None

    def unauthorized(self) -> Reply:
        return _envelope(401, "Unauthorized: invalid or expired session token")

    def login_failure(self, status: int) -> Reply:
        return _envelope(status, "Invalid username or password")

    def revoke_tokens(self) -> None:
        with self._lock:
            super().revoke_tokens()
            self._refresh_tokens.clear()

    def _login(self, call: Call) -> Reply:
        segments = call.path.split("/")
        organization_id, user_id = unquote(segments[-4]), unquote(segments[-2])
        if (organization_id, user_id) != (self.organization_id, self.user_id):
            return _envelope(404, "Organization or user not found")
        if not call.headers.get(TENANT_HEADER):
            return _envelope(400, f"{TENANT_HEADER} header is required")
        fields = json_fields(call, "username", "password", "tenantKey", "tenantSecret")
        if fields is None:
            return _envelope(400, "username, password, tenantKey and tenantSecret are required")
        username, password, tenant_key, tenant_secret = fields
        if call.headers[TENANT_HEADER] != self.tenant_id or (tenant_key, tenant_secret) != (
            self.tenant_key,
            self.tenant_secret,
        ):
            return _envelope(401, "Invalid tenant key or secret")
        if (username, password) != (self.username, self.password):
            return self.login_failure(401)
        self.session_id = str(uuid.uuid4())  # the user's older session ends here
        return self._session("Session created successfully")

    def _refresh(self, call: Call) -> Reply:
        session_id = unquote(call.path.split("/")[-2])
        claims = self._bearer(call)  # the current token, expired or not, must be the session's
        fields = json_fields(call, "refreshToken")
        if (
            claims is None
            or fields is None
            or session_id != self.session_id
            or claims.get("sid") != session_id
            or self._refresh_tokens.get(fields[0]) != session_id
            or call.headers.get(TENANT_HEADER) != self.tenant_id
        ):
            return _envelope(401, "Invalid or expired refresh token")
        del self._refresh_tokens[fields[0]]
        return self._session("Session refreshed successfully")

    def _session(self, message: str) -> Reply:
        session_id = self.session_id
        assert session_id is not None
        token = self.issue(
            "access",
            sub=self.user_id,
            orgId=self.organization_id,
            tenantId=self.tenant_id,
            roles=["ADMIN"],
            sid=session_id,
        )
        refresh_token = f"{uuid.uuid4()}-refresh-token"
        self._refresh_tokens[refresh_token] = session_id
        self.issued.append(refresh_token)
        expires_at = datetime.now(timezone.utc) + timedelta(seconds=self.token_ttl)
        data = {
            "sessionId": session_id,
            "userId": self.user_id,
            "token": token,
            "refreshToken": refresh_token,
            # As the seed shows it: seven fractional digits, no zone.
            "expiresAt": expires_at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "2",
            "success": True,
            "message": message,
        }
        return Reply.json({"code": 200, "message": "Success", "data": data})

    def _bearer(self, call: Call) -> dict[str, Any] | None:
        """The claims of a token this emulator signed, whether or not it is still live."""
        return self.signed(self._token(call))

    def _token(self, call: Call) -> str:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        return (
            token
            if scheme == "Bearer" and call.headers.get(TENANT_HEADER) == self.tenant_id
            else ""
        )


def _envelope(code: int, message: str) -> Reply:
    return Reply.json({"code": code, "message": message, "data": None}, code)


_HIERARCHY = {"categoryId": "retail", "children": [{"categoryId": "retail-premium"}]}
