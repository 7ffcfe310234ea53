"""The Finvera emulator: seed 001's cookie login, cookie refresh and Bearer validate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..providers.finvera import (
    ACCESS_COOKIE,
    DEFAULT_BASE_URL,
    LOGIN_PATH,
    REFRESH_COOKIE,
    REFRESH_PATH,
    VALIDATE_PATH,
    FinveraCookieAuth,
)
from ._emulator import AuthEndpoint, Call, Emulator, Reply, json_fields

DEMO_EMAIL = "demo@finvera.test"
DEMO_PASSWORD = "finvera-demo-password"
NEWS_PATH = "/kms/api/v1/news/latest"


class FinveraEmulator(Emulator):
    """Finvera's auth: tokens as HttpOnly, Secure cookies; calls carry `DT_AUTH_TOKEN`.

    Protected routes take exactly one live `DT_AUTH_TOKEN` cookie or a Bearer
    token, and refuse (400) a `DT_REFRESH_TOKEN` sent anywhere but the refresh
    endpoint. `GET /kms/api/v1/news/latest` is there from the start, and the
    validate endpoint answers Bearer tokens only, as the seed documents.
    """

    name = "Finvera"
    auth_class = FinveraCookieAuth
    production_url = DEFAULT_BASE_URL
    sample_path = NEWS_PATH

    def __init__(self, *, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD, **options: Any):
        super().__init__(**options)
        self.email = email
        self.password = password
        self.route("GET", NEWS_PATH, {"articles": [_ARTICLE]})
        self.handle_route("GET", VALIDATE_PATH, self._validate)

    def credentials(self) -> dict[str, str]:
        return {"email": self.email, "password": self.password}

    def auth_endpoints(self) -> Mapping[tuple[str, str], AuthEndpoint]:
        return {
            ("POST", LOGIN_PATH): ("login", self._login),
            ("POST", REFRESH_PATH): ("refresh", self._refresh),
        }

    def authorized(self, call: Call) -> bool:
        sent = cookies(call).get(ACCESS_COOKIE, [])
        if sent:
            return len(sent) == 1 and self.verify(sent[0], "access") is not None
        return self._bearer(call)

    def presented(self, call: Call) -> str | None:
        sent = cookies(call).get(ACCESS_COOKIE)
        if sent:
            return sent[0] if len(sent) == 1 else None
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        return token if scheme == "Bearer" else None

    def unauthorized(self) -> Reply:
        return Reply.json({"detail": "Not authenticated"}, 401)

    def login_failure(self, status: int) -> Reply:
        return Reply.json({"detail": "Incorrect email or password"}, status)

    def refuse(self, call: Call) -> Reply | None:
        if REFRESH_COOKIE in cookies(call) and not call.path.endswith(REFRESH_PATH):
            return Reply.json({"detail": f"{REFRESH_COOKIE} sent to {call.path}"}, 400)
        return None

    def _login(self, call: Call) -> Reply:
        fields = json_fields(call, "email", "password")
        if fields is None:
            return Reply.json({"detail": "email and password are required"}, 422)
        if fields != (self.email, self.password):
            return self.login_failure(401)
        return self._tokens("Authentication successful")

    def _refresh(self, call: Call) -> Reply:
        (refresh, *more) = cookies(call).get(REFRESH_COOKIE) or [""]
        if more or self.verify(refresh, "refresh") is None:
            return Reply.json({"detail": "Invalid or expired refresh token"}, 401)
        self.retire(refresh, "refresh")
        return self._tokens("Token refreshed successfully")

    def _tokens(self, message: str) -> Reply:
        access, refresh = (
            self.issue("access", sub=self.email),
            self.issue("refresh", sub=self.email),
        )
        return Reply.json(
            {"message": message, "expires_in": round(self.token_ttl)},
            headers=(
                ("Set-Cookie", _cookie(ACCESS_COOKIE, access, self.token_ttl)),
                ("Set-Cookie", _cookie(REFRESH_COOKIE, refresh, self.refresh_ttl)),
            ),
        )

    def _validate(self, call: Call) -> Reply:
        if not self._bearer(call):
            return self.deny()
        return Reply.json(
            {
                "user_id": "9b2f6a4e-1c3d-4e5f-8a7b-0c1d2e3f4a5b",
                "email": self.email,
                "username": self.email.partition("@")[0],
                "licensing_tier_id": "enterprise",
            }
        )

    def _bearer(self, call: Call) -> bool:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and self.verify(token, "access") is not None


def cookies(call: Call) -> dict[str, list[str]]:
    """Every cookie a call sends, each name with all the values it was sent with."""
    found: dict[str, list[str]] = {}
    for header in call.headers.get_list("Cookie"):
        for pair in header.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep:
                found.setdefault(name, []).append(value)
    return found


def _cookie(name: str, value: str, max_age: float) -> str:
    return f"{name}={value}; HttpOnly; Secure; Path=/; Max-Age={round(max_age)}; SameSite=Lax"


_ARTICLE = {"id": "a-1", "title": "Markets open higher", "source": "Finvera"}
