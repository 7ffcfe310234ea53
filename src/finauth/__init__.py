"""finauth: one `auth=` object for the Fincrux, Finvera and FinHub APIs.

It logs in when first needed, attaches the token in the provider's format,
refreshes it before it expires and re-sends a request once after a 401, with
requests and with httpx (sync and async).
"""

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
from .stores import MemoryTokenStore, TokenStore

__all__ = [
    "ConfigurationError",
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
    "Token",
    "TokenStore",
]
