"""Where tokens live: the TokenStore protocol and its implementations."""

from .base import TokenStore, token_key
from .memory import MemoryTokenStore

__all__ = ["MemoryTokenStore", "TokenStore", "token_key"]
