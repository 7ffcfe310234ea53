"""Fincrux (seed 000): e-mail and password for JWTs sent as `Authorization: JWT <access>`,
or an API key in the `api_key` query parameter."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, unquote_plus

from .._auth import ProviderAuth
from .._config import credential, from_environ, printable
from .._origin import parse_base_url
from .._provider import EmailLogin
from .._token import Token, issue_token
from .._wire import Answer, AuthCall, Outgoing, fits_header_value, string_field
from ..clients._static import StaticAuth
from ..stores import TokenStore

if TYPE_CHECKING:
    from .._auth import LoginSession

NAME = "Fincrux"
DEFAULT_BASE_URL = "https://api.fincrux.org"
LOGIN_PATH = "/api/auth/login"
REFRESH_PATH = "/api/auth/token/refresh/"
"""Not in the seed, which documents the refresh token but not its endpoint: SimpleJWT's."""


@dataclass(frozen=True, repr=False)
class Fincrux(EmailLogin):
    """The Fincrux login: POST email and password, get `access` and `refresh` JWTs."""

    refresh_path: str = REFRESH_PATH

    name: ClassVar[str] = NAME
    login_path: ClassVar[str] = LOGIN_PATH

    def refresh_call(self, token: Token) -> AuthCall | None:
        if not token.refresh_token:
            return None
        payload = {"refresh": token.refresh_token}
        return AuthCall.post_json(NAME, "refresh", self.base.join(self.refresh_path), payload)

    def read_login(self, answer: Answer) -> Token:
        body = answer.json_object()
        success = body.get("success")
        if success is not True and not (isinstance(success, str) and success.lower() == "true"):
            raise answer.rejected(self.check)
        return self._carried(answer, _access_token(answer, body, string_field(body.get("refresh"))))

    def read_refresh(self, answer: Answer, previous: Token) -> Token:
        body = answer.json_object()
        refresh = string_field(body.get("refresh")) or previous.refresh_token
        return self._carried(answer, _access_token(answer, body, refresh))

    def carries(self, token: Token) -> bool:
        """The access token goes into the Authorization header; the refresh token only into
        a JSON body, which holds any string."""
        return fits_header_value(token.access_token)

    def _carried(self, answer: Answer, token: Token) -> Token:
        if not self.carries(token):
            raise answer.unusable("its 'access' token holds characters no header can carry")
        return token

    def apply(self, request: Outgoing, token: Token) -> None:
        request.headers["Authorization"] = f"JWT {token.access_token}"

    def withdraw(self, request: Outgoing) -> None:
        request.headers.pop("Authorization", None)


class FincruxJWTAuth(ProviderAuth):
    """Fincrux with e-mail and password: logs in, sends `Authorization: JWT <access>`.

    >>> auth = FincruxJWTAuth("me@example.com", "secret")
    >>> requests.get("https://api.fincrux.org/api/search/RELIANCE", auth=auth)

    The same object works as `httpx.Client(auth=auth)` and `httpx.AsyncClient(auth=auth)`.
    """

    def __init__(
        self,
        email: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        refresh_path: str = REFRESH_PATH,
        store: TokenStore | None = None,
        refresh_margin: float = 60.0,
        session: LoginSession | None = None,
        allow_insecure: bool = False,
        timeout: float = 30.0,
    ) -> None:
        provider = Fincrux(
            credential(NAME, "email", email),
            credential(NAME, "password", password),
            parse_base_url(base_url, provider=NAME, allow_insecure=allow_insecure),
            "/" + credential(NAME, "refresh_path", refresh_path).lstrip("/"),
        )
        super().__init__(
            provider,
            store=store,
            refresh_margin=refresh_margin,
            session=session,
            timeout=timeout,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **options: Any) -> FincruxJWTAuth:
        """From FINCRUX_EMAIL, FINCRUX_PASSWORD and optionally FINCRUX_BASE_URL."""
        email, password = from_environ(environ, NAME, "FINCRUX_EMAIL", "FINCRUX_PASSWORD")
        base_url = environ.get("FINCRUX_BASE_URL") or DEFAULT_BASE_URL
        return cls(email, password, base_url=base_url, **options)


class FincruxAPIKeyAuth(StaticAuth):
    """Fincrux with an API key, sent as the `api_key` query parameter.

    That is how the published `fincrux` client sends it. No login and no
    refresh; the key goes only to `base_url`'s origin (its scheme, host and port),
    and any `Authorization` header is removed there, since a call may use only one
    authentication method.
    """

    def __init__(
        self, api_key: str, *, base_url: str = DEFAULT_BASE_URL, allow_insecure: bool = False
    ) -> None:
        self._api_key = printable(NAME, "api_key", api_key)
        self._base = parse_base_url(base_url, provider=NAME, allow_insecure=allow_insecure)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **options: Any) -> FincruxAPIKeyAuth:
        """From FINCRUX_API_KEY and optionally FINCRUX_BASE_URL."""
        (api_key,) = from_environ(environ, NAME, "FINCRUX_API_KEY")
        base_url = environ.get("FINCRUX_BASE_URL") or DEFAULT_BASE_URL
        return cls(api_key, base_url=base_url, **options)

    def apply(self, request: Outgoing) -> None:
        if request.origin == self._base.origin:
            request.headers.pop("Authorization", None)
            request.url = with_query_parameter(request.url, "api_key", self._api_key)

    def __repr__(self) -> str:
        return f"FincruxAPIKeyAuth(base_url={self._base.url!r})"


def with_query_parameter(url: str, name: str, value: str) -> str:
    """`url` with `name` set to `value`: an existing `name` replaced, the rest kept as written."""
    rest, hash_mark, fragment = url.partition("#")
    path, _, query = rest.partition("?")
    kept = [pair for pair in query.split("&") if pair and unquote_plus(pair.split("=")[0]) != name]
    kept.append(f"{quote(name, safe='')}={quote(value, safe='')}")
    return f"{path}?{'&'.join(kept)}{hash_mark}{fragment}"


def _access_token(answer: Answer, body: Mapping[str, Any], refresh: str | None) -> Token:
    """The token in a login or refresh answer.

    Fincrux issues JWTs, but an opaque access token is used all the same: R7 then
    gives it an hour, the lifetime the seed states.
    """
    access = string_field(body.get("access"))
    if access is None:
        raise answer.unusable("it has no 'access' token")
    return issue_token(access, refresh, received_at=answer.received_at)
