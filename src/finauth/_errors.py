"""The exceptions finauth raises (SPEC R8).

Every message names the provider and the endpoint and says what to check, and
none carries a secret. Network failures are deliberately *not* wrapped: they stay
the HTTP client's own exceptions, so the handlers a program already has keep
working.
"""

from __future__ import annotations


class FinauthError(Exception):
    """Base of every error finauth raises."""

    def __init__(
        self, message: str, *, provider: str | None = None, endpoint: str | None = None
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.endpoint = endpoint


class ConfigurationError(FinauthError):
    """An empty credential, a missing environment variable or an unusable base_url."""


class InsecureTransportError(ConfigurationError):
    """A base_url that would send credentials in clear text (R11)."""


class LoginError(FinauthError):
    """The provider rejected the credentials."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        endpoint: str | None = None,
        status_code: int | None = None,
        provider_message: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, endpoint=endpoint)
        self.status_code = status_code
        self.provider_message = provider_message


class ProviderResponseError(FinauthError):
    """A login or refresh answer that cannot be used: not JSON, no token, an error page."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        endpoint: str | None = None,
        status_code: int | None = None,
        excerpt: str = "",
    ) -> None:
        super().__init__(message, provider=provider, endpoint=endpoint)
        self.status_code = status_code
        self.excerpt = excerpt


class RateLimitedError(FinauthError):
    """The provider kept answering 429 to a login or refresh after every retry (R9)."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        endpoint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, endpoint=endpoint)
        self.retry_after = retry_after
