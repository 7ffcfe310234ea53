"""OAuth 2.0 for finauth: a user's password grant, or the client's own credentials
(RFC 6749), built on finauth's public API alone, as docs/custom-provider.md builds it."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote_plus

from finauth import providers as p

NAME = "OAuth2"
TOKEN_PATH = "/oauth/token"  # after base_url's path, as finauth's own endpoints are


@dataclass(frozen=True, repr=False)
class OAuth2(p.BearerHeader):
    """A token endpoint: the password grant with a user, client credentials without one,
    renewal by the refresh_token grant; requests carry `Authorization: Bearer <token>`."""

    base: p.BaseURL
    client_id: str
    client_secret: str
    username: str | None = None
    password: str | None = None

    name: ClassVar[str] = NAME
    check: ClassVar[str] = "the client id and secret, and the username and password"

    def __post_init__(self) -> None:  # refused at construction, before any I/O
        for field, value in vars(self).items():
            if field != "base" and value is not None:
                p.credential(NAME, field, value)
        if (self.username is None) != (self.password is None):
            raise p.ConfigurationError(f"{NAME}: pass both username and password, or neither")

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.client_id, self.username or "")

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.client_secret, self.password or "")

    def login_call(self) -> p.AuthCall:
        if self.username is None or self.password is None:
            return self._token_call("login", {"grant_type": "client_credentials"})
        user = {"username": self.username, "password": self.password}
        return self._token_call("login", {"grant_type": "password", **user})

    def refresh_call(self, token: p.Token) -> p.AuthCall | None:
        if token.refresh_token is None:
            return None
        grant = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
        return self._token_call("refresh", grant)

    def read_login(self, answer: p.Answer) -> p.Token:
        return self.read_refresh(answer, previous=None)

    def read_refresh(self, answer: p.Answer, previous: p.Token | None) -> p.Token:
        # A refresh answer that rotates no refresh_token leaves the one there was.
        body = answer.json_object()
        access = p.string_field(body.get("access_token"))
        if access is None or not p.fits_header_value(access):
            raise answer.unusable("it has no 'access_token' that a header can carry")
        if str(body.get("token_type")).lower() != "bearer":
            raise answer.unusable(f"its token_type is {answer.quoted(body.get('token_type'))}")
        kept = previous.refresh_token if previous else None
        refresh = p.string_field(body.get("refresh_token")) or kept
        expires_in = body.get("expires_in")
        return p.issue_token(access, refresh, received_at=answer.received_at, expires_in=expires_in)

    def _token_call(self, purpose: str, fields: Mapping[str, str]) -> p.AuthCall:
        # The client authenticates with HTTP Basic, its id and secret form-encoded first.
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret)}"
        basic = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        return p.AuthCall.post_form(NAME, purpose, self.base.join(TOKEN_PATH), fields, basic)


class OAuth2Auth(p.ProviderAuth):
    """OAuth 2.0 as `auth=`: the password grant with `username` and `password`, else client
    credentials. `common` are ProviderAuth's: store, refresh_margin, session, timeout."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        allow_insecure: bool = False,
        **common: Any,
    ) -> None:
        base = p.parse_base_url(base_url, provider=NAME, allow_insecure=allow_insecure)
        super().__init__(OAuth2(base, client_id, client_secret, username, password), **common)
