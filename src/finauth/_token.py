"""Token: what a login or refresh yields, and when it stops being usable (R7)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jwt

DEFAULT_LIFETIME = 3600.0
"""Seconds a token is trusted for when neither a JWT nor the provider says (R7)."""


@dataclass(frozen=True, repr=False)
class Token:
    """An access token with what it takes to renew it; immutable, secrets masked in repr.

    `expires_at` and `obtained_at` are timezone-aware UTC datetimes; `extra` holds
    provider fields such as FinHub's ``session_id``.
    """

    access_token: str
    refresh_token: str | None
    expires_at: datetime
    obtained_at: datetime
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("expires_at", "obtained_at"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None:
                raise ValueError(f"Token.{name} must be timezone-aware")
            object.__setattr__(self, name, moment.astimezone(timezone.utc))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def expires_in(self) -> float:
        """Seconds until expiry; negative once expired."""
        return self.expires_at.timestamp() - time.time()

    def is_expired(self, margin: float = 0) -> bool:
        """Whether the token expires within `margin` seconds from now."""
        return self.expires_in <= margin

    def __reduce__(self) -> tuple[type[Token], tuple[Any, ...]]:
        """Pickle (and deepcopy) `extra` as the dict it was made from: a mapping proxy cannot be."""
        fields = (self.access_token, self.refresh_token, self.expires_at, self.obtained_at)
        return type(self), (*fields, dict(self.extra))

    def __repr__(self) -> str:
        refresh = "'***'" if self.refresh_token is not None else "None"
        return (
            f"Token(access_token='***', refresh_token={refresh}, "
            f"expires_at={self.expires_at.isoformat()}, "
            f"obtained_at={self.obtained_at.isoformat()}, extra={sorted(self.extra)})"
        )


def jwt_claims(value: str) -> dict[str, Any] | None:
    """The claims of a JWT, read without verification; None when `value` is no JWT.

    A client holds no key to verify a provider's signature with, and R7 forbids
    rejecting a token for its claims: only the expiry is read from them.
    """
    import jwt  # here, not at the top: PyJWT imports `cryptography`, slow to import

    try:
        payload = _reader().decode_complete(value, options={"verify_signature": False})
        claims = json.loads(payload["payload"])
    except (jwt.PyJWTError, ValueError, RecursionError):
        return None
    return claims if isinstance(claims, dict) else None


@cache
def _reader() -> jwt.PyJWS:
    import jwt

    return jwt.PyJWS()


def issue_token(
    access_token: str,
    refresh_token: str | None,
    *,
    received_at: datetime,
    claims: Mapping[str, Any] | None = None,
    expires_in: object = None,
    expires_at: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Token:
    """A Token whose expiry follows R7's order of trust.

    First the JWT's ``exp`` (`claims`: by default the access token's own, when it is a
    JWT): with ``iat`` present, the lifetime ``exp - iat`` is counted from
    `received_at`, so a server clock that drifts does not matter. Then the provider's
    `expires_in` (seconds) or `expires_at`, and last an hour.
    """
    claims = (jwt_claims(access_token) if claims is None else claims) or {}
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    expiry = None
    if exp is not None:
        expiry = _later(received_at, exp - iat) if iat is not None else _at(exp)
    if expiry is None and (seconds := _number(expires_in)) is not None:
        expiry = _later(received_at, seconds)
    if expiry is None:
        expiry = expires_at or received_at + timedelta(seconds=DEFAULT_LIFETIME)
    return Token(access_token, refresh_token, expiry, received_at, extra or {})


def _number(value: object) -> float | None:
    """A finite JSON number as a float; None for anything else (bools, NaN, 400-digit ints)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _later(start: datetime, seconds: float) -> datetime | None:
    try:
        return start + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _at(timestamp: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
