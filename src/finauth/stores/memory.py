"""MemoryTokenStore: tokens in this process's memory."""

from __future__ import annotations

from .._token import Token
from .base import StoreLock


class MemoryTokenStore:
    """The default store. Share one instance between auth objects to share tokens in a process."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    def get(self, key: str) -> Token | None:
        return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    def delete(self, key: str) -> None:
        self._tokens.pop(key, None)

    def lock(self, key: str) -> StoreLock | None:
        """None: the process's own single flight is the only lock a memory store needs."""
        return None

    def __repr__(self) -> str:
        return f"<MemoryTokenStore: {len(self._tokens)} token(s)>"
