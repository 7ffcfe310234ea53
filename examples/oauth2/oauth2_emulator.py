"""An OAuth 2.0 server for tests, built on finauth's public testing API: the token endpoint
of RFC 6749 (password, refresh_token and client_credentials grants, client authentication
by HTTP Basic) and an API that takes Bearer tokens (RFC 6750)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from oauth2_auth import NAME, TOKEN_PATH, OAuth2Auth

from finauth.testing import AuthEndpoint, AuthKind, Call, Emulator, Reply

ME_PATH = "/v1/me"
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_USERNAME = "demo-user"
DEMO_PASSWORD = "demo-password"
NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


class OAuth2Emulator(Emulator):
    """`POST /oauth/token` and a protected `GET /v1/me`, for one client and one user."""

    name = NAME
    auth_class = OAuth2Auth
    production_url = "https://api.example.com"
    sample_path = ME_PATH

    def __init__(
        self,
        *,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.client_id, self.client_secret = client_id, client_secret
        self.username, self.password = username, password
        self.route("GET", ME_PATH, {"username": username})

    def credentials(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "username": self.username,
            "password": self.password,
        }

    def auth_endpoints(self) -> Mapping[tuple[str, str], AuthEndpoint]:
        return {("POST", TOKEN_PATH): (_grant_kind, self._token)}

    def authorized(self, call: Call) -> bool:
        token = self.presented(call)
        return token is not None and self.verify(token, "access") is not None

    def presented(self, call: Call) -> str | None:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" else None

    def unauthorized(self) -> Reply:
        challenge = 'Bearer error="invalid_token", error_description="The token is not valid"'
        return _error("invalid_token", "The access token is not valid", 401, challenge)

    def login_failure(self, status: int) -> Reply:
        return _error("invalid_grant", "Invalid username or password", status)

    def refresh_failure(self, status: int) -> Reply:
        return _error("invalid_grant", "The refresh token is not valid", status)

    def _token(self, call: Call) -> Reply:
        if not self._client_authenticated(call):
            return _error("invalid_client", "Client authentication failed", 401, "Basic")
        if call.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return _error("invalid_request", "The body must be form-encoded", 400)
        form = call.form()
        grant = form.get("grant_type")
        if grant == "password":
            if (form.get("username"), form.get("password")) != (self.username, self.password):
                return self.login_failure(400)
            return self._tokens(refresh=True)
        if grant == "client_credentials":
            return self._tokens(refresh=False)
        if grant == "refresh_token":
            refresh_token = form.get("refresh_token", "")
            if self.verify(refresh_token, "refresh") is None:
                return self.refresh_failure(400)
            self.retire(refresh_token, "refresh")  # rotated: each refresh token works once
            return self._tokens(refresh=True)
        return _error("unsupported_grant_type", f"Unknown grant_type {grant!r}", 400)

    def _client_authenticated(self, call: Call) -> bool:
        scheme, _, encoded = call.headers.get("Authorization", "").partition(" ")
        try:
            pair = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client = tuple(unquote_plus(part) for part in pair.split(":", 1))
        return scheme.lower() == "basic" and client == (self.client_id, self.client_secret)

    def _tokens(self, *, refresh: bool) -> Reply:
        ttl = self.token_ttl
        body = {
            "access_token": self.issue("access", sub=self.username),
            "token_type": "Bearer",
            "expires_in": int(ttl) if ttl == int(ttl) else ttl,
        }
        if refresh:
            body["refresh_token"] = self.issue("refresh", sub=self.username)
        return Reply.json(body, headers=NO_STORE)


def _grant_kind(call: Call) -> AuthKind:
    """A refresh_token grant is a refresh; every other grant logs in."""
    return "refresh" if call.form().get("grant_type") == "refresh_token" else "login"


def _error(code: str, description: str, status: int, challenge: str | None = None) -> Reply:
    """RFC 6749 §5.2's error body, with a WWW-Authenticate challenge for a 401."""
    headers = (("WWW-Authenticate", challenge),) if challenge else ()
    return Reply.json({"error": code, "error_description": description}, status, headers)
