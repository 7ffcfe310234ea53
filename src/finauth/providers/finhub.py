"""FinHub (seed 002): tenant admin sessions, sent as `Authorization: Bearer` with
`X-Tenant-ID`, renewed through the session's refresh endpoint."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from .._auth import ProviderAuth
from .._config import credential, from_environ, header_value, path_segment
from .._origin import BaseURL, parse_base_url
from .._token import Token, issue_token
from .._wire import Answer, AuthCall, Outgoing, fits_header_value, string_field
from ..stores import TokenStore

if TYPE_CHECKING:
    from .._auth import LoginSession

NAME = "FinHub"
DEFAULT_BASE_URL = "https://sandbox.finhub.cloud"
LOGIN_PATH = "/api/v2.1/admin/organization/{organization_id}/users/{user_id}/sessions"
REFRESH_PATH = "/api/v2.1/admin/sessions/{session_id}/refresh"
TENANT_HEADER = "X-Tenant-ID"


@dataclass(frozen=True, repr=False)
class FinHub:
    """A FinHub admin session: created with tenant credentials, refreshed by session id."""

    organization_id: str
    user_id: str
    tenant_id: str
    username: str
    password: str
    tenant_key: str
    tenant_secret: str
    base: BaseURL

    name: ClassVar[str] = NAME
    check: ClassVar[str] = "the username, password, tenant key and tenant secret"

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.organization_id, self.user_id, self.tenant_id, self.username)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password, self.tenant_key, self.tenant_secret)

    def login_call(self) -> AuthCall:
        path = LOGIN_PATH.format(
            organization_id=quote(self.organization_id, safe=""),
            user_id=quote(self.user_id, safe=""),
        )
        payload = {
            "username": self.username,
            "password": self.password,
            "tenantKey": self.tenant_key,
            "tenantSecret": self.tenant_secret,
        }
        return AuthCall.post_json(
            NAME, "login", self.base.join(path), payload, {TENANT_HEADER: self.tenant_id}
        )

    def refresh_call(self, token: Token) -> AuthCall | None:
        session_id = string_field(token.extra.get("session_id"))
        if not token.refresh_token or session_id is None:
            return None
        return AuthCall.post_json(
            NAME,
            "refresh",
            self.base.join(REFRESH_PATH.format(session_id=quote(session_id, safe=""))),
            {"refreshToken": token.refresh_token},
            {"Authorization": f"Bearer {token.access_token}", TENANT_HEADER: self.tenant_id},
        )

    def read_login(self, answer: Answer) -> Token:
        return self._carried(answer, self._session_token(answer, previous=None))

    def read_refresh(self, answer: Answer, previous: Token) -> Token:
        return self._carried(answer, self._session_token(answer, previous))

    def carries(self, token: Token) -> bool:
        return _unfit(token) is None

    def _carried(self, answer: Answer, token: Token) -> Token:
        if (unfit := _unfit(token)) is not None:
            raise answer.unusable(unfit)
        return token

    def apply(self, request: Outgoing, token: Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        request.headers[TENANT_HEADER] = self.tenant_id

    def withdraw(self, request: Outgoing) -> None:
        request.headers.pop("Authorization", None)
        request.headers.pop(TENANT_HEADER, None)

    def _session_token(self, answer: Answer, previous: Token | None) -> Token:
        """The session in FinHub's envelope `{"code", "message", "data": {...}}`."""
        body = answer.json_object()
        code = body.get("code")
        if code in (400, 401, 403, "400", "401", "403"):
            raise answer.rejected(self.check)
        if code not in (200, "200"):
            raise answer.unusable(f"its envelope says code {answer.quoted(code)}, not 200")
        data = body.get("data")
        if not isinstance(data, dict):
            raise answer.unusable("its envelope has no 'data' object")
        if data.get("success") is False:
            raise answer.rejected(self.check)
        access = string_field(data.get("token"))
        if access is None:
            raise answer.unusable("its 'data' has no 'token'")
        previous_extra = previous.extra if previous is not None else {}
        session_id = string_field(data.get("sessionId")) or string_field(
            previous_extra.get("session_id")
        )
        return issue_token(
            access,
            string_field(data.get("refreshToken"))
            or (previous.refresh_token if previous else None),
            received_at=answer.received_at,
            expires_at=parse_expires_at(data.get("expiresAt")),
            extra={"session_id": session_id} if session_id else {},
        )

    def __repr__(self) -> str:
        return (
            f"organization_id={self.organization_id!r}, user_id={self.user_id!r}, "
            f"tenant_id={self.tenant_id!r}, username={self.username!r}, "
            f"base_url={self.base.url!r}"
        )


def _unfit(token: Token) -> str | None:
    """What in `token` cannot be sent as FinHub takes it, in words; None if all can.

    The token goes into `Authorization: Bearer`, the session id into the refresh path
    (URL-quoted, but "." and ".." would still be resolved away), the refresh token only
    into a JSON body, which holds any string.
    """
    if not fits_header_value(token.access_token):
        return "its 'token' holds characters no header can carry"
    session_id = token.extra.get("session_id")
    if isinstance(session_id, str) and (
        session_id in (".", "..") or not fits_header_value(session_id)
    ):
        return "its 'sessionId' cannot be a segment of the refresh path"
    return None


_EXPIRES_AT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_expires_at(value: object) -> datetime | None:
    """FinHub's `expiresAt`, e.g. `2026-01-13T22:21:48.9745432`, as a UTC datetime.

    Seven fractional digits and no zone: 3.10's `fromisoformat` rejects that, so
    the fraction is cut to microseconds here, and a missing zone is read as UTC.
    None for anything unreadable.
    """
    match = _EXPIRES_AT.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone is not None and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}")
        moment += timedelta(microseconds=int((fraction or "0")[:6].ljust(6, "0")))
        # In UTC now, so that a moment that cannot be expressed there fails here.
        return moment.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None


class FinHubSessionAuth(ProviderAuth):
    """FinHub admin sessions: sends `Authorization: Bearer <token>` and `X-Tenant-ID`.

    >>> auth = FinHubSessionAuth(organization_id="...", user_id="...", tenant_id="...",
    ...                          username="...", password="...", tenant_key="...",
    ...                          tenant_secret="...")

    FinHub warns that concurrent sessions can invalidate each other: workers that
    share credentials should share one `store` (a RedisTokenStore for a fleet).
    """

    def __init__(
        self,
        *,
        organization_id: str,
        user_id: str,
        tenant_id: str,
        username: str,
        password: str,
        tenant_key: str,
        tenant_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        store: TokenStore | None = None,
        refresh_margin: float = 300.0,
        session: LoginSession | None = None,
        allow_insecure: bool = False,
        timeout: float = 30.0,
    ) -> None:
        provider = FinHub(
            path_segment(NAME, "organization_id", organization_id),
            path_segment(NAME, "user_id", user_id),
            header_value(NAME, "tenant_id", tenant_id, TENANT_HEADER),
            credential(NAME, "username", username),
            credential(NAME, "password", password),
            credential(NAME, "tenant_key", tenant_key),
            credential(NAME, "tenant_secret", tenant_secret),
            parse_base_url(base_url, provider=NAME, allow_insecure=allow_insecure),
        )
        super().__init__(
            provider,
            store=store,
            refresh_margin=refresh_margin,
            session=session,
            timeout=timeout,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **options: Any) -> FinHubSessionAuth:
        """From the FINHUB_* variables: ORGANIZATION_ID, USER_ID, TENANT_ID, USERNAME,
        PASSWORD, TENANT_KEY, TENANT_SECRET, and optionally BASE_URL."""
        organization_id, user_id, tenant_id, username, password, tenant_key, tenant_secret = (
            from_environ(environ, NAME, *(f"FINHUB_{name}" for name in _ENVIRONMENT))
        )
        return cls(
            organization_id=organization_id,
            user_id=user_id,
            tenant_id=tenant_id,
            username=username,
            password=password,
            tenant_key=tenant_key,
            tenant_secret=tenant_secret,
            base_url=environ.get("FINHUB_BASE_URL") or DEFAULT_BASE_URL,
            **options,
        )


_ENVIRONMENT = (
    "ORGANIZATION_ID",
    "USER_ID",
    "TENANT_ID",
    "USERNAME",
    "PASSWORD",
    "TENANT_KEY",
    "TENANT_SECRET",
)
