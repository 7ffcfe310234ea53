"""The TokenStore protocol, the keys tokens are stored under, and their stored form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._token import Token
from .sealing import Sealer


class StoreLock(Protocol):
    """One key's lock, shared by every process that uses the store (R6)."""

    def acquire(self) -> bool:
        """Wait for the lock, at most the store's lock timeout; False when the wait ran out."""

    def release(self) -> None:
        """Free the lock, if it is still ours; any thread may call it."""


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between requests; auths that share a store share tokens.

    A store holds tokens only, never passwords or secrets. Its methods may block
    (on a disk or a network): async clients call them from a worker thread.
    """

    def get(self, key: str) -> Token | None:
        """The token stored under `key`, or None."""

    def set(self, key: str, token: Token) -> None:
        """Store `token` under `key`, replacing what was there."""

    def delete(self, key: str) -> None:
        """Forget the token under `key`, if any."""

    def lock(self, key: str) -> StoreLock | None:
        """A new lock on `key` for every process sharing the store.

        None from a store that lives in one process: the process's own single
        flight is all the exclusion it needs.
        """


def token_key(provider: str, base_url: str, identity: Iterable[str]) -> str:
    """The key of one account's token: hashed, so no e-mail address shows in it."""
    material = "\0".join((provider, base_url, *identity))
    return hashlib.sha256(material.encode()).hexdigest()


def dump_token(token: Token, sealer: Sealer | None = None) -> bytes:
    """`token` as a shared store keeps it: JSON, sealed when the store has a key."""
    text = _json_of(token).encode()
    return sealer.seal(text) if sealer is not None else text


def load_token(data: bytes | str, sealer: Sealer | None = None) -> Token:
    """The token `dump_token` wrote; ValueError for anything else (a torn or foreign
    entry, one sealed with another key, or a plain one where a key is expected)."""
    raw = data.encode() if isinstance(data, str) else data  # a client decoding responses
    return _token_of(sealer.open(raw) if sealer is not None else raw)


def _json_of(token: Token) -> str:
    return json.dumps(
        {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at.isoformat(),
            "obtained_at": token.obtained_at.isoformat(),
            "extra": dict(token.extra),
        }
    )


def _token_of(data: bytes) -> Token:
    """The token in `dump_token`'s JSON; ValueError for anything else."""
    try:
        fields = json.loads(data)
        refresh = fields["refresh_token"]
        extra = fields["extra"]
        if (
            not isinstance(fields["access_token"], str)
            or not (refresh is None or isinstance(refresh, str))
            or not isinstance(extra, dict)
        ):
            raise TypeError
        return Token(
            fields["access_token"],
            refresh,
            datetime.fromisoformat(fields["expires_at"]),
            datetime.fromisoformat(fields["obtained_at"]),
            extra,
        )
    except (KeyError, TypeError, ValueError, OverflowError, RecursionError) as error:
        raise ValueError("not a stored finauth token") from error
