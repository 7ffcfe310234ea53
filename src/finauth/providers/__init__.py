"""Your own provider: what the built-in ones are made of, under names that stay.

A provider is a pure description of an API's login dance: the login and refresh calls
(`AuthCall`), how to read a token out of their answers (`Answer` -> `Token`), and how a
request carries it (`Outgoing`). It does no I/O and takes no lock. `ProviderAuth` runs
it with every rule finauth keeps (lazy login, refresh with fallback, one re-send after a
401, single flight, backoff, secrets masked) on every client finauth works with:

    auth = ProviderAuth(MyProvider(...), store=RedisTokenStore(...))

`BearerHeader` carries a token the way most APIs take it, and `EmailLogin` logs in the
way Fincrux and Finvera do. The rest are the helpers the built-in providers use: checks of
constructor arguments (`credential`, `printable`, `header_value`, `parse_base_url`,
`from_environ`), of what goes into a header or cookie (`fits_header_value`, ...), and of
what comes out of an answer (`string_field`, `jwt_claims`, `issue_token`).
docs/custom-provider.md builds an OAuth 2.0 provider with them, step by step. The
modules behind these names are private and may change; these names do not.
"""

from __future__ import annotations

from .._auth import ProviderAuth
from .._config import credential, from_environ, header_value, printable
from .._errors import ConfigurationError
from .._origin import BaseURL, parse_base_url
from .._provider import BearerHeader, EmailLogin, Provider
from .._token import Token, issue_token, jwt_claims
from .._wire import (
    Answer,
    AuthCall,
    Outgoing,
    fits_cookie_value,
    fits_field_value,
    fits_header_value,
    string_field,
)

__all__ = [
    "Answer",
    "AuthCall",
    "BaseURL",
    "BearerHeader",
    "ConfigurationError",
    "EmailLogin",
    "Outgoing",
    "Provider",
    "ProviderAuth",
    "Token",
    "credential",
    "fits_cookie_value",
    "fits_field_value",
    "fits_header_value",
    "from_environ",
    "header_value",
    "issue_token",
    "jwt_claims",
    "parse_base_url",
    "printable",
    "string_field",
]
