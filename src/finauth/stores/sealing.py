"""Encryption at rest for shared stores: tokens sealed with Fernet before they are written.

A store given `encryption_key=` keeps no token in plain text: not in a file, not in a
Redis value. The key is a Fernet key (`cryptography.fernet.Fernet.generate_key()`), or a
sequence of them: the first seals, every one of them opens, so keys rotate without a
fleet-wide logout. `cryptography` comes with the extra `finauth[crypto]`, and is
imported only by a store that is given a key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

EncryptionKey = str | bytes
"""A Fernet key: 32 url-safe base64-encoded bytes."""


class Sealer:
    """Seals and opens a store's entries with one or more Fernet keys."""

    def __init__(self, fernet: MultiFernet) -> None:
        self._fernet = fernet

    def seal(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def open(self, sealed: bytes) -> bytes:
        """The plain text; ValueError when no key opens it (another key, or tampered)."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise ValueError("sealed with another key, or tampered with") from None

    def __repr__(self) -> str:
        return "Sealer(...)"  # never a key


def sealer_for(
    store: str, encryption_key: EncryptionKey | Sequence[EncryptionKey] | None
) -> Sealer | None:
    """The Sealer for a store's `encryption_key`, checked at construction (a
    ConfigurationError); None for a store without one. Messages name the argument, never
    a key."""
    if encryption_key is None:
        return None
    keys = [encryption_key] if isinstance(encryption_key, str | bytes) else list(encryption_key)
    if not keys:
        raise ConfigurationError(f"{store}: encryption_key is an empty sequence; pass a key")
    try:
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError:
        raise ConfigurationError(
            f"{store}: encryption_key needs the cryptography package; pip install 'finauth[crypto]'"
        ) from None
    try:
        return Sealer(MultiFernet([Fernet(key) for key in keys]))
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{store}: encryption_key must be Fernet keys (32 url-safe base64-encoded bytes), "
            "as cryptography.fernet.Fernet.generate_key() makes them"
        ) from None
