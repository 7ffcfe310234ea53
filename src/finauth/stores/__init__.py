"""Where tokens live: the TokenStore protocol and its implementations."""

from .base import StoreLock, TokenStore, token_key
from .file import FileTokenStore
from .memory import MemoryTokenStore
from .redis import RedisTokenStore

__all__ = [
    "FileTokenStore",
    "MemoryTokenStore",
    "RedisTokenStore",
    "StoreLock",
    "TokenStore",
    "token_key",
]
