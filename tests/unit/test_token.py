"""`Token` and how its expiry is read (R7): pure, no clock beyond `time.time()`."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import math
import pickle
import types
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest

from finauth import _token
from finauth._token import DEFAULT_LIFETIME, Token, issue_token, jwt_claims

SIGNING_KEY = "a-test-signing-key-of-32-bytes-or-more!!"
RECEIVED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
RECEIVED_TS = RECEIVED.timestamp()


def make_jwt(payload: dict[str, Any]) -> str:
    return jwt.encode(payload, SIGNING_KEY, algorithm="HS256")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


HEADER = b64(b'{"alg":"HS256","typ":"JWT"}')


def raw_jwt(payload: bytes) -> str:
    """A JWT-shaped string whose payload segment is `payload`, verbatim."""
    return f"{HEADER}.{b64(payload)}.c2lnbmF0dXJl"


def token(
    *,
    expires_at: datetime = RECEIVED + timedelta(hours=1),
    obtained_at: datetime = RECEIVED,
    refresh: str | None = "refresh-secret",
    extra: dict[str, Any] | None = None,
) -> Token:
    return Token("access-secret", refresh, expires_at, obtained_at, extra or {})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Freeze `time.time()` as `_token` sees it, at RECEIVED; set `clock.now` to move it."""
    fake = types.SimpleNamespace(now=RECEIVED_TS)
    fake.time = lambda: fake.now
    monkeypatch.setattr(_token, "time", fake)
    return fake


# --- Token -------------------------------------------------------------------------------


def test_token_is_immutable() -> None:
    t = token()
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.access_token = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.expires_at = RECEIVED  # type: ignore[misc]


@pytest.mark.parametrize("field", ["expires_at", "obtained_at"])
def test_token_rejects_naive_datetimes(field: str) -> None:
    naive: dict[str, Any] = {field: datetime(2030, 1, 1, 12, 0, 0)}
    with pytest.raises(ValueError, match=field):
        token(**naive)


def test_token_converts_aware_datetimes_to_utc() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    expires = datetime(2030, 1, 1, 17, 30, tzinfo=india)
    obtained = datetime(2030, 1, 1, 16, 30, tzinfo=india)
    t = token(expires_at=expires, obtained_at=obtained)
    assert t.expires_at == datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert t.expires_at.utcoffset() == timedelta(0)
    assert t.obtained_at == datetime(2030, 1, 1, 11, 0, tzinfo=timezone.utc)
    assert t.obtained_at.utcoffset() == timedelta(0)


def test_token_extra_is_read_only_and_a_copy() -> None:
    source: dict[str, Any] = {"session_id": "s-1"}
    t = token(extra=source)
    with pytest.raises(TypeError):
        t.extra["session_id"] = "s-2"  # type: ignore[index]
    source["session_id"] = "changed"
    source["new"] = 1
    assert dict(t.extra) == {"session_id": "s-1"}


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda t: pickle.loads(pickle.dumps(t))])
def test_token_pickles_and_deep_copies(clone: Any) -> None:
    """A token crosses process boundaries (multiprocessing, celery) whole, extra still read-only."""
    original = token(extra={"session_id": "s-1"})
    copied: Token = clone(original)

    assert copied == original
    assert copied.extra == {"session_id": "s-1"}
    with pytest.raises(TypeError):
        copied.extra["session_id"] = "s-2"  # type: ignore[index]


def test_token_extra_defaults_to_empty() -> None:
    t = Token("a", None, RECEIVED, RECEIVED)
    assert dict(t.extra) == {}


@pytest.mark.parametrize("offset", [3600.0, 59.5, 0.0, -120.0])
def test_expires_in_counts_from_now(clock: types.SimpleNamespace, offset: float) -> None:
    t = token(expires_at=RECEIVED + timedelta(seconds=offset))
    assert t.expires_in == pytest.approx(offset)
    clock.now += 10
    assert t.expires_in == pytest.approx(offset - 10)


@pytest.mark.parametrize(
    ("remaining", "margin", "expired"),
    [
        (3600, 0, False),
        (3600, 60, False),
        (61, 60, False),
        (60, 60, True),  # expiring *within* the margin counts
        (30, 60, True),
        (30, 0, False),
        (0, 0, True),
        (-1, 0, True),
    ],
)
def test_is_expired_with_margin(
    clock: types.SimpleNamespace, remaining: float, margin: float, expired: bool
) -> None:
    t = token(expires_at=RECEIVED + timedelta(seconds=remaining))
    assert t.is_expired(margin) is expired


def test_is_expired_default_margin_is_zero(clock: types.SimpleNamespace) -> None:
    t = token(expires_at=RECEIVED + timedelta(seconds=1))
    assert t.is_expired() is False
    clock.now += 1
    assert t.is_expired() is True


@pytest.mark.parametrize("refresh", ["refresh-secret", None])
def test_repr_masks_tokens(refresh: str | None) -> None:
    """R10: neither the access nor the refresh token shows in repr."""
    t = Token(
        "ACCESS-abc123",
        None if refresh is None else "REFRESH-xyz789",
        RECEIVED,
        RECEIVED,
        {"session_id": "SESSION-VALUE"},
    )
    text = repr(t)
    assert "ACCESS-abc123" not in text
    assert "REFRESH-xyz789" not in text
    assert "SESSION-VALUE" not in text
    assert "access_token='***'" in text
    assert ("refresh_token='***'" if refresh else "refresh_token=None") in text
    assert RECEIVED.isoformat() in text
    assert "session_id" in text


# --- jwt_claims --------------------------------------------------------------------------


def test_jwt_claims_reads_a_jwt_without_verifying_it() -> None:
    claims = {"token_type": "access", "exp": 1_900_000_000, "iat": 1_899_996_400}
    assert jwt_claims(make_jwt(claims)) == claims
    other_key = jwt.encode(claims, "some-other-key-that-is-32-bytes-long!!", algorithm="HS256")
    assert jwt_claims(other_key) == claims


def test_jwt_claims_ignores_claim_validity() -> None:
    """R7: an expired or not-yet-valid JWT is still read, never rejected."""
    claims = {"exp": 1, "nbf": 4_000_000_000, "aud": "someone-else", "iss": "x"}
    assert jwt_claims(make_jwt(claims)) == claims


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("a-random-opaque-token-0123456789", id="random-string"),
        pytest.param("eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9", id="two-segments"),
        pytest.param("a.b.c", id="bad-base64"),
        pytest.param("!!!.???.***", id="not-base64-at-all"),
        pytest.param(raw_jwt(b"[1, 2, 3]"), id="payload-json-list"),
        pytest.param(raw_jwt(b'"a string"'), id="payload-json-string"),
        pytest.param(raw_jwt(b"null"), id="payload-json-null"),
        pytest.param(raw_jwt(b"not json"), id="payload-not-json"),
        pytest.param(raw_jwt(b"\xff\xfe\xfa"), id="payload-not-utf8"),
        pytest.param(raw_jwt(b"[" * 100_000), id="payload-deeply-nested"),
        pytest.param(f"{b64(b'[1]')}.{b64(b'{}')}.c2ln", id="header-json-list"),
    ],
)
def test_jwt_claims_is_none_for_non_jwts(value: str) -> None:
    assert jwt_claims(value) is None


# --- issue_token: R7's order of trust ----------------------------------------------------


@pytest.mark.parametrize("drift_hours", [0, 5, -5, 24 * 365])
def test_exp_with_iat_is_a_lifetime_from_receive_time(drift_hours: int) -> None:
    """R7: a server clock off by hours does not matter, only `exp - iat` does."""
    server_now = int(RECEIVED_TS) + drift_hours * 3600
    claims = jwt_claims(make_jwt({"iat": server_now, "exp": server_now + 900}))
    assert claims is not None
    t = issue_token("a", "r", received_at=RECEIVED, claims=claims, expires_in=60)
    assert t.expires_at == RECEIVED + timedelta(seconds=900)
    assert t.obtained_at == RECEIVED


def test_exp_without_iat_is_absolute() -> None:
    exp = int(RECEIVED_TS) + 7 * 3600
    t = issue_token("a", None, received_at=RECEIVED, claims={"exp": exp}, expires_in=60)
    assert t.expires_at == datetime.fromtimestamp(exp, timezone.utc)


@pytest.mark.parametrize("iat", ["2030-01-01", None, True, math.nan, [1]])
def test_exp_with_unusable_iat_is_absolute(iat: object) -> None:
    exp = int(RECEIVED_TS) + 1234
    claims = {"exp": exp, "iat": iat}
    t = issue_token("a", None, received_at=RECEIVED, claims=claims, expires_in=60)
    assert t.expires_at == RECEIVED + timedelta(seconds=1234)


def test_expired_jwt_is_still_issued() -> None:
    """R7: never rejected for its claims; it simply is expired already."""
    t = issue_token("a", None, received_at=RECEIVED, claims={"exp": 1_000_000})
    assert t.expires_at == datetime.fromtimestamp(1_000_000, timezone.utc)
    assert t.is_expired()


@pytest.mark.parametrize("expires_in", [120, 120.0, 0.5])
def test_expires_in_when_no_exp(expires_in: float) -> None:
    t = issue_token(
        "a",
        None,
        received_at=RECEIVED,
        claims={"token_type": "access"},
        expires_in=expires_in,
        expires_at=RECEIVED + timedelta(days=3),
    )
    assert t.expires_at == RECEIVED + timedelta(seconds=expires_in)


@pytest.mark.parametrize("expires_in", [None, "120", True, math.nan, math.inf, 1e300, [120]])
def test_unusable_expires_in_falls_through_to_expires_at(expires_in: object) -> None:
    at = RECEIVED + timedelta(days=3)
    t = issue_token("a", None, received_at=RECEIVED, expires_in=expires_in, expires_at=at)
    assert t.expires_at == at


def test_expires_at_when_nothing_better() -> None:
    at = datetime(2030, 1, 2, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    t = issue_token("a", None, received_at=RECEIVED, claims={}, expires_at=at)
    assert t.expires_at == at
    assert t.expires_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("claims", [None, {}, {"exp": "soon"}])
def test_default_lifetime_is_an_hour(claims: dict[str, Any] | None) -> None:
    assert DEFAULT_LIFETIME == 3600
    t = issue_token("a", None, received_at=RECEIVED, claims=claims)
    assert t.expires_at == RECEIVED + timedelta(hours=1)


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"exp": "1900000000"}, id="string"),
        pytest.param({"exp": True}, id="bool"),
        pytest.param({"exp": None}, id="null"),
        pytest.param({"exp": [1]}, id="list"),
        pytest.param({"exp": {"v": 1}}, id="object"),
        pytest.param({"exp": math.nan}, id="nan"),
        pytest.param({"exp": math.inf}, id="inf"),
        pytest.param({"exp": -math.inf}, id="-inf"),
        pytest.param({"exp": 1e300}, id="huge-float"),
        pytest.param({"exp": 10**400}, id="huge-int"),
        pytest.param({"exp": 1e300, "iat": 0}, id="huge-lifetime"),
        pytest.param({"exp": 0, "iat": 1e300}, id="huge-negative-lifetime"),
        pytest.param({"exp": 1e308, "iat": -1e308}, id="lifetime-overflows-to-inf"),
    ],
)
def test_unusable_exp_is_ignored_not_fatal(claims: dict[str, Any]) -> None:
    """R7: claims never cause rejection; a bad `exp` falls through to `expires_in`."""
    t = issue_token("a", None, received_at=RECEIVED, claims=claims, expires_in=90)
    assert t.expires_at == RECEIVED + timedelta(seconds=90)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"exp": ' + b"9" * 400 + b"}", id="400-digit-exp"),
        pytest.param(b'{"exp": 1e400}', id="exp-overflows-to-inf"),
        pytest.param(b'{"exp": NaN}', id="exp-nan"),
        pytest.param(b'{"exp": "tomorrow", "iat": "today"}', id="exp-string"),
    ],
)
def test_hostile_jwt_payloads_end_in_the_default_chain(payload: bytes) -> None:
    """Straight from a JWT's bytes: whatever `exp` holds, a token is issued."""
    claims = jwt_claims(raw_jwt(payload))
    assert claims is not None
    t = issue_token("a", None, received_at=RECEIVED, claims=claims)
    assert t.expires_at == RECEIVED + timedelta(hours=1)


def test_issue_token_carries_tokens_and_extra() -> None:
    t = issue_token("the-access", "the-refresh", received_at=RECEIVED, extra={"session_id": "abc"})
    assert t.access_token == "the-access"
    assert t.refresh_token == "the-refresh"
    assert t.obtained_at == RECEIVED
    assert dict(t.extra) == {"session_id": "abc"}


def test_jwt_exp_beats_every_other_source() -> None:
    exp = int(RECEIVED_TS) + 42
    t = issue_token(
        "a",
        None,
        received_at=RECEIVED,
        claims=json.loads(json.dumps({"exp": exp})),
        expires_in=9999,
        expires_at=RECEIVED + timedelta(days=9),
    )
    assert t.expires_at == RECEIVED + timedelta(seconds=42)
