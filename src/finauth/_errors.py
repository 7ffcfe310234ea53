"""The exceptions finauth raises.

Every message names the provider and the endpoint and says what to check, and
none carries a secret. Network failures are deliberately *not* wrapped: they stay
the HTTP client's own exceptions, so the handlers a program already has keep
working.
"""

from __future__ import annotations


class FinauthError(Exception):
    """Base of every error finauth raises.

    `provider` names the provider ("Fincrux", "Finvera", "FinHub"), or is None for a
    store's own error; `endpoint` is the URL of the login or refresh call, or None when
    no call was made.
    """

    def __init__(
        self, message: str, *, provider: str | None = None, endpoint: str | None = None
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.endpoint = endpoint


class ConfigurationError(FinauthError):
    """An empty credential, a missing environment variable or an unusable base_url."""


class InsecureTransportError(ConfigurationError):
    """A base_url that would send credentials in clear text: `http://` to a host that is
    not loopback, without `allow_insecure=True`."""


class LoginError(FinauthError):
    """The provider rejected the credentials.

    `status_code` is the HTTP status of the refusal; `provider_message` the provider's
    own message, secrets masked, or None.
    """

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
    """A login or refresh answer that cannot be used: not JSON, no token, an error page.

    `status_code` is the answer's HTTP status; `excerpt` the start of its body, every
    credential and token masked.
    """

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
    """The provider kept answering 429 to a login or refresh, on all three attempts.

    `retry_after` is the wait its last `Retry-After` header asked for, in seconds, or
    None.
    """

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
