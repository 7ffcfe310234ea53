"""Where credentials may go: base_url checks (R8, R11) and origin scoping (R1)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from ._errors import ConfigurationError, InsecureTransportError

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """(scheme, lower-case host, effective port): `:443` equals no port for https."""

    scheme: str
    host: str
    port: int


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class BaseURL:
    """A provider's base URL: its origin, and a path that prefixes the auth endpoints."""

    url: str
    origin: Origin

    def join(self, path: str) -> str:
        """The absolute URL of an endpoint `path` (which starts with a slash)."""
        return self.url + path


def parse_base_url(base_url: str, *, provider: str, allow_insecure: bool) -> BaseURL:
    """Check `base_url` once, at construction, before any I/O."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigurationError(
            f"{provider}: base_url is empty; pass the API's address, e.g. https://...",
            provider=provider,
        )
    try:
        parts = urlsplit(base_url.strip())
    except ValueError:
        raise ConfigurationError(
            f"{provider}: base_url is not a valid URL; check its brackets and host",
            provider=provider,
        ) from None
    if parts.username is not None or parts.password is not None:
        # Such a URL is itself a secret: never repeat it.
        raise ConfigurationError(
            f"{provider}: base_url must not carry a user name or password; "
            "pass credentials as arguments instead",
            provider=provider,
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(
            f"{provider}: base_url {base_url!r} has an invalid port; check its host:port part",
            provider=provider,
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ConfigurationError(
            f"{provider}: base_url {base_url!r} must be an http(s) URL with a host, "
            "e.g. https://api.example.com",
            provider=provider,
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{provider}: base_url {base_url!r} must not have a query or fragment",
            provider=provider,
        )
    host = parts.hostname.lower()
    if scheme != "https" and not allow_insecure and not is_loopback(host):
        raise InsecureTransportError(
            f"{provider}: base_url {base_url!r} is not https, so credentials would travel "
            "in clear text; use https, a loopback host, or allow_insecure=True",
            provider=provider,
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return BaseURL(
        f"{scheme}://{netloc}{path}", Origin(scheme, host, port or DEFAULT_PORTS[scheme])
    )


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (R11)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
