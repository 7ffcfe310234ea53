"""The TokenStore protocol and the keys tokens are stored under."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .._token import Token


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between requests; auths that share a store share tokens.

    A store holds tokens only, never passwords or secrets.
    """

    def get(self, key: str) -> Token | None:
        """The token stored under `key`, or None."""

    def set(self, key: str, token: Token) -> None:
        """Store `token` under `key`, replacing what was there."""

    def delete(self, key: str) -> None:
        """Forget the token under `key`, if any."""


def token_key(provider: str, base_url: str, identity: Iterable[str]) -> str:
    """The key of one account's token: hashed, so no e-mail address shows in it."""
    material = "\0".join((provider, base_url, *identity))
    return hashlib.sha256(material.encode()).hexdigest()
