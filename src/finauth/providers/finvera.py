"""Finvera (seed 001): e-mail and password for a `DT_AUTH_TOKEN` cookie, renewed with the
`DT_REFRESH_TOKEN` cookie."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import requests

from .._auth import ProviderAuth
from .._config import credential, from_environ
from .._dates import http_date
from .._errors import ConfigurationError
from .._origin import parse_base_url
from .._provider import EmailLogin
from .._token import Token, issue_token
from .._wire import (
    Answer,
    AuthCall,
    Outgoing,
    drop_cookies,
    fits_cookie_value,
    fits_header_value,
    parse_json,
    string_field,
)
from ..clients._requests import RequestsAuth, answer_from
from ..stores import TokenStore

if TYPE_CHECKING:
    from .._auth import LoginSession

NAME = "Finvera"
DEFAULT_BASE_URL = "https://api.finvera.news"
LOGIN_PATH = "/kms/api/v1/auth/token"
REFRESH_PATH = "/kms/api/v1/auth/refresh"
VALIDATE_PATH = "/kms/api/v1/auth/validate"
ACCESS_COOKIE = "DT_AUTH_TOKEN"
REFRESH_COOKIE = "DT_REFRESH_TOKEN"

_TOKEN_COOKIES = (ACCESS_COOKIE, REFRESH_COOKIE)

Scheme = Literal["cookie", "bearer"]


@dataclass(frozen=True, repr=False)
class Finvera(EmailLogin):
    """The Finvera login: POST email and password, get the tokens as cookies."""

    scheme: Scheme = "cookie"

    name: ClassVar[str] = NAME
    login_path: ClassVar[str] = LOGIN_PATH

    def refresh_call(self, token: Token) -> AuthCall | None:
        if not token.refresh_token:
            return None
        return AuthCall(
            NAME,
            "refresh",
            "POST",
            self.base.join(REFRESH_PATH),
            {"Cookie": f"{REFRESH_COOKIE}={token.refresh_token}", "Accept": "application/json"},
        )

    def read_login(self, answer: Answer) -> Token:
        return self._carried(answer, _cookie_token(answer, previous_refresh=None))

    def read_refresh(self, answer: Answer, previous: Token) -> Token:
        token = _cookie_token(answer, previous_refresh=previous.refresh_token)
        return self._carried(answer, token)

    def carries(self, token: Token) -> bool:
        return self._unfit(token) is None

    def _unfit(self, token: Token) -> str | None:
        """What in `token` cannot be sent as this scheme sends it, in words; None if all can.

        The refresh token always travels as a cookie, to the refresh endpoint.
        """
        if self.scheme == "bearer" and not fits_header_value(token.access_token):
            return "its access token holds characters no header can carry"
        if self.scheme == "cookie" and not fits_cookie_value(token.access_token):
            return f"its access token holds characters no {ACCESS_COOKIE} cookie can carry"
        if token.refresh_token is not None and not fits_cookie_value(token.refresh_token):
            return f"its refresh token holds characters no {REFRESH_COOKIE} cookie can carry"
        return None

    def _carried(self, answer: Answer, token: Token) -> Token:
        if (unfit := self._unfit(token)) is not None:
            raise answer.unusable(unfit)
        return token

    def apply(self, request: Outgoing, token: Token) -> None:
        """Exactly one, current DT_AUTH_TOKEN (or the bearer header), and never the
        refresh token: a client's cookie jar may hold either from an earlier login."""
        self.withdraw(request)
        if self.scheme == "bearer":
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            return
        cookie = request.headers.get("Cookie")
        pair = f"{ACCESS_COOKIE}={token.access_token}"
        request.headers["Cookie"] = f"{cookie}; {pair}" if cookie else pair

    def withdraw(self, request: Outgoing) -> None:
        """No DT_* cookie and no bearer header; the caller's other cookies stay."""
        if self.scheme == "bearer":
            request.headers.pop("Authorization", None)
        drop_cookies(request, lambda name, _: name in _TOKEN_COOKIES)

    def __repr__(self) -> str:
        return f"{super().__repr__()}, scheme={self.scheme!r}"


class FinveraCookieAuth(ProviderAuth):
    """Finvera with e-mail and password: sends the `DT_AUTH_TOKEN` cookie.

    >>> auth = FinveraCookieAuth("me@example.com", "secret")
    >>> requests.get("https://api.finvera.news/kms/api/v1/...", auth=auth)

    With ``scheme="bearer"`` it sends ``Authorization: Bearer <token>`` instead.
    """

    def __init__(
        self,
        email: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        scheme: Scheme = "cookie",
        store: TokenStore | None = None,
        refresh_margin: float = 60.0,
        session: LoginSession | None = None,
        allow_insecure: bool = False,
        timeout: float = 30.0,
    ) -> None:
        if scheme not in ("cookie", "bearer"):
            raise ConfigurationError(
                f"{NAME}: scheme must be 'cookie' or 'bearer', not {scheme!r}", provider=NAME
            )
        provider = Finvera(
            credential(NAME, "email", email),
            credential(NAME, "password", password),
            parse_base_url(base_url, provider=NAME, allow_insecure=allow_insecure),
            scheme,
        )
        super().__init__(
            provider,
            store=store,
            refresh_margin=refresh_margin,
            session=session,
            timeout=timeout,
        )
        self._validator = _Validator(self)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **options: Any) -> FinveraCookieAuth:
        """From FINVERA_EMAIL, FINVERA_PASSWORD and optionally FINVERA_BASE_URL."""
        email, password = from_environ(environ, NAME, "FINVERA_EMAIL", "FINVERA_PASSWORD")
        base_url = environ.get("FINVERA_BASE_URL") or DEFAULT_BASE_URL
        return cls(email, password, base_url=base_url, **options)

    def validate(self) -> dict[str, Any]:
        """Who the token belongs to: `GET /kms/api/v1/auth/validate` (sync, over `session`).

        Logs in first when there is no token; a 401 renews the token and asks once
        more, as any request would. Returns the provider's JSON object, such as
        ``{"user_id", "email", "username", "licensing_tier_id"}``.
        """
        url = self._flow.provider.base.join(VALIDATE_PATH)
        with self.session.get(url, auth=self._validator, timeout=self.timeout) as response:
            answer = answer_from(AuthCall(NAME, "validate", "GET", url), response)
        answer.raise_for_status(self._flow.provider.check)
        return answer.json_object()


class _Validator(RequestsAuth):
    """The same stored token, sent as the validate endpoint wants it: `Authorization: Bearer`."""

    def __init__(self, owner: FinveraCookieAuth) -> None:
        provider = owner._flow.provider
        assert isinstance(provider, Finvera)
        self._flow = owner._flow.twin(replace(provider, scheme="bearer"))
        self._owner = owner
        self.timeout = owner.timeout

    def session_for(self, library: Any) -> requests.Session:
        return self._owner.session_for(library)


def _cookie_token(answer: Answer, previous_refresh: str | None) -> Token:
    """The tokens in Set-Cookie, or else in the body, where the seed's own example looks."""
    cookies = _set_cookies(answer)
    body = _optional_json(answer)
    access_cookie = cookies.get(ACCESS_COOKIE)
    if access_cookie is not None and access_cookie.expired:
        raise answer.unusable(f"its {ACCESS_COOKIE} cookie has already expired")
    access = (
        access_cookie.value
        if access_cookie is not None and access_cookie.value
        else string_field(body.get("token")) or string_field(body.get("access_token"))
    )
    if access is None:
        raise answer.unusable(f"it set no {ACCESS_COOKIE} cookie and its body holds no token")
    refresh_cookie = cookies.get(REFRESH_COOKIE)
    if refresh_cookie is not None:
        refresh = None if refresh_cookie.expired else refresh_cookie.value or None
    else:
        refresh = string_field(body.get("refresh_token")) or previous_refresh
    lifetime = body.get("expires_in")
    if not isinstance(lifetime, int | float) and access_cookie is not None:
        lifetime = access_cookie.max_age
    return issue_token(
        access,
        refresh,
        received_at=answer.received_at,
        expires_in=lifetime,
    )


@dataclass(frozen=True)
class _SetCookie:
    """One `Set-Cookie` line: the cookie, and the attributes that say when it ends."""

    value: str
    attributes: Mapping[str, str]

    @property
    def max_age(self) -> int | None:
        try:
            return int(self.attributes["max-age"])
        except (KeyError, ValueError):
            return None

    @property
    def expired(self) -> bool:
        """Whether the line deletes its cookie rather than sets it (Max-Age ≤ 0, a past Expires)."""
        if self.max_age is not None:
            return self.max_age <= 0
        expires = http_date(self.attributes.get("expires", ""))
        return expires is not None and expires <= datetime.now(timezone.utc)


def _set_cookies(answer: Answer) -> dict[str, _SetCookie]:
    """Every cookie the answer sets, read as RFC 6265 §5.2 says.

    By hand, not with `http.cookies.SimpleCookie`: before Python 3.14 that drops
    a whole cookie at an attribute it does not know, such as `Partitioned`.
    """
    found: dict[str, _SetCookie] = {}
    for line in answer.header_values("Set-Cookie"):
        pair, *attributes = line.split(";")
        name, has_value, value = pair.partition("=")
        if not has_value or not name.strip():
            continue
        known = {}
        for attribute in attributes:
            key, _, argument = attribute.partition("=")
            known[key.strip().lower()] = argument.strip()
        found[name.strip()] = _SetCookie(value.strip().strip('"'), known)
    return found


def _optional_json(answer: Answer) -> Mapping[str, Any]:
    """The body as a JSON object, or nothing: Finvera's tokens travel in cookies."""
    try:
        data = parse_json(answer.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
