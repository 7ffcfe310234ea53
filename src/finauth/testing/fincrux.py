"""The Fincrux emulator: seed 000's login, SimpleJWT-style refresh, JWT or API-key calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..providers.fincrux import DEFAULT_BASE_URL, LOGIN_PATH, REFRESH_PATH, FincruxJWTAuth
from ._emulator import AuthEndpoint, Call, Emulator, Reply, json_fields

DEMO_EMAIL = "demo@fincrux.test"
DEMO_PASSWORD = "fincrux-demo-password"
DEMO_API_KEY = "fcx_demo_0123456789abcdef"
SEARCH_PATH = "/api/search/RELIANCE"


class FincruxEmulator(Emulator):
    """Fincrux's auth: `POST /api/auth/login`, `Authorization: JWT <access>` or `?api_key=`.

    Protected routes answer a SimpleJWT-style 401 unless the call carries a live
    access token with the word JWT, or the API key, but not both (the seed: one
    method per call). `GET /api/search/RELIANCE` is there from the start.
    """

    name = "Fincrux"
    auth_class = FincruxJWTAuth
    production_url = DEFAULT_BASE_URL
    sample_path = SEARCH_PATH

    def __init__(
        self,
        *,
        email: str = DEMO_EMAIL,
        password: str = DEMO_PASSWORD,
        api_key: str = DEMO_API_KEY,
        refresh_path: str = REFRESH_PATH,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.email = email
        self.password = password
        self.api_key = api_key
        self.refresh_path = refresh_path
        self.route("GET", SEARCH_PATH, {"query": "RELIANCE", "results": [_RELIANCE]})

    def credentials(self) -> dict[str, str]:
        return {"email": self.email, "password": self.password}

    def environment(self, base_url: str) -> dict[str, str]:
        return {**super().environment(base_url), "FINCRUX_API_KEY": self.api_key}

    def auth_endpoints(self) -> Mapping[tuple[str, str], AuthEndpoint]:
        return {
            ("POST", LOGIN_PATH): ("login", self._login),
            ("POST", self.refresh_path): ("refresh", self._refresh),
        }

    def authorized(self, call: Call) -> bool:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        has_key = "api_key" in call.params
        if scheme and has_key:
            return False
        if has_key:
            return call.params["api_key"] == self.api_key
        return scheme == "JWT" and self.verify(token, "access") is not None

    def presented(self, call: Call) -> str | None:
        scheme, _, token = call.headers.get("Authorization", "").partition(" ")
        return token if scheme == "JWT" else None

    def unauthorized(self) -> Reply:
        return Reply.json(
            {"detail": "Given token not valid for any token type", "code": "token_not_valid"},
            401,
            (("WWW-Authenticate", 'JWT realm="api"'),),
        )

    def login_failure(self, status: int) -> Reply:
        return Reply.json({"success": "false", "message": "Invalid email or password"}, status)

    def _login(self, call: Call) -> Reply:
        fields = json_fields(call, "email", "password")
        if fields is None:
            return Reply.json(
                {"success": "false", "message": "email and password are required"}, 400
            )
        if fields != (self.email, self.password):
            return self.login_failure(401)
        return Reply.json(
            {
                "success": "true",
                "refresh": self.issue("refresh", user_id=1),
                "access": self.issue("access", user_id=1),
                "full_name": "Fincrux Demo",
                "email": self.email,
                "profile_img_url": "https://i.ibb.co/B2tZ7h4c/Untitled.png",
            }
        )

    def _refresh(self, call: Call) -> Reply:
        fields = json_fields(call, "refresh")
        if fields is None or self.verify(fields[0], "refresh") is None:
            return Reply.json(
                {"detail": "Token is invalid or expired", "code": "token_not_valid"}, 401
            )
        self.retire(fields[0], "refresh")
        return Reply.json(
            {"access": self.issue("access", user_id=1), "refresh": self.issue("refresh", user_id=1)}
        )


_RELIANCE = {"symbol": "RELIANCE", "name": "Reliance Industries Ltd", "exchange": "NSE"}
