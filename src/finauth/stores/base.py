"""The TokenStore protocol, the keys tokens are stored under, and their stored form."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, runtime_checkable

from .._token import Token
from .sealing import Sealer


class StoreLock(Protocol):
    """One key's lock, shared by every process that uses the store: one of them renews the
    token while the others wait for it."""

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


SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
"""scrypt's work factor for store keys: 16 MiB of memory and some 40 ms of one core.

These are scrypt's parameters for interactive logins (Percival, 2009; RFC 7914 §2):
one derivation costs a guesser about as much as one login attempt is worth, and the
memory makes GPUs and ASICs little faster than a CPU. OpenSSL's default `maxmem`
(32 MiB) admits them. A derivation is made once per process for the same credentials,
so a client pays it once, on the first request of its first auth.
"""

_REMEMBERED_KEYS = 1024
"""How many credentials' keys a process remembers, so auths built in a loop derive once."""

_MEMO_KEY = os.urandom(32)
_remembered: OrderedDict[bytes, str] = OrderedDict()
"""Keys already derived, found by an HMAC of the credentials under this process's own
`_MEMO_KEY`, never by the credentials: the cache outlives the auths that filled it, and
would otherwise keep their passwords alive in memory (and in heap dumps) until evicted.
"""
_remembered_guard = threading.Lock()


def token_key(provider: str, base_url: str, identity: Iterable[str], secrets: Iterable[str]) -> str:
    """The key of one account's token, bound to the secrets that log in to it (SPEC §4).

    An auth with the right identity but a wrong password has another key, so it logs
    in (and fails) instead of taking the token. The key is a hash of a salted scrypt
    derivation: reading a store's keys reveals no e-mail, and testing a guess of e-mail
    and password against them costs a derivation, no less than a login attempt.
    Always 64 lowercase hex digits, safe as a file name or a Redis key.
    """
    account = json.dumps([provider, base_url, *identity])
    proof = json.dumps([*secrets])
    memo = hmac.digest(_MEMO_KEY, f"{account}\n{proof}".encode(), "sha256")
    return _recalled(memo) or _remembering(memo, _derived_key(account, proof))


def _recalled(memo: bytes) -> str | None:
    """The key remembered under `memo`, now the most recently used; None if none is."""
    with _remembered_guard:
        key = _remembered.get(memo)
        if key is not None:
            _remembered.move_to_end(memo)
        return key


def _remembering(memo: bytes, key: str) -> str:
    """`key`, remembered under `memo`, forgetting the least recently used beyond the bound.

    Two threads deriving the same key at once both derive it: the same key, so no harm.
    """
    with _remembered_guard:
        _remembered[memo] = key
        if len(_remembered) > _REMEMBERED_KEYS:
            _remembered.popitem(last=False)
    return key


def _derived_key(account: str, proof: str) -> str:
    """The slow part of `token_key`, as JSON in (so no two field lists encode alike).

    The salt comes from the account, so every process sharing a store derives the same
    key, while a table precomputed for one account is useless for the next. The final
    hash gives the key its fixed shape and keeps scrypt's own output out of the store.
    """
    salt = hashlib.sha256(b"finauth store key salt\0" + account.encode()).digest()
    stretched = hashlib.scrypt(
        proof.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return hashlib.sha256(b"finauth store key\0" + stretched).hexdigest()


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
