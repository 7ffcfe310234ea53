"""finauth: one `auth=` object for the Fincrux, Finvera and FinHub APIs.

It logs in when first needed, attaches the token in the provider's format,
refreshes it before it expires and re-sends a request once after a 401, with
requests and with httpx (sync and async).

Names are imported on first use (PEP 562), so that importing a part of finauth,
such as its pytest plugin, does not import requests and httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._errors import (
        ConfigurationError,
        FinauthError,
        InsecureTransportError,
        LoginError,
        ProviderResponseError,
        RateLimitedError,
    )
    from ._token import Token
    from .providers.fincrux import FincruxAPIKeyAuth, FincruxJWTAuth
    from .providers.finhub import FinHubSessionAuth
    from .providers.finvera import FinveraCookieAuth
    from .stores import FileTokenStore, MemoryTokenStore, RedisTokenStore, TokenStore

_WHERE = {
    "ConfigurationError": "._errors",
    "FinauthError": "._errors",
    "InsecureTransportError": "._errors",
    "LoginError": "._errors",
    "ProviderResponseError": "._errors",
    "RateLimitedError": "._errors",
    "Token": "._token",
    "FincruxAPIKeyAuth": ".providers.fincrux",
    "FincruxJWTAuth": ".providers.fincrux",
    "FinHubSessionAuth": ".providers.finhub",
    "FinveraCookieAuth": ".providers.finvera",
    "FileTokenStore": ".stores",
    "MemoryTokenStore": ".stores",
    "RedisTokenStore": ".stores",
    "TokenStore": ".stores",
}

__all__ = [
    "ConfigurationError",
    "FileTokenStore",
    "FinHubSessionAuth",
    "FinauthError",
    "FincruxAPIKeyAuth",
    "FincruxJWTAuth",
    "FinveraCookieAuth",
    "InsecureTransportError",
    "LoginError",
    "MemoryTokenStore",
    "ProviderResponseError",
    "RateLimitedError",
    "RedisTokenStore",
    "Token",
    "TokenStore",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'finauth' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
