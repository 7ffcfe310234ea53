"""Where credentials may go: base_url checks (R8, R11) and origin scoping (R1)."""

from __future__ import annotations

import functools
import ipaddress
import re
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


_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*(?=[/?#]|$)")
"""A URL's scheme and authority, all its origin depends on: few distinct ones per program.
Not with a user or password in it (`@`), which is parsed each time, never kept."""


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL; None for anything else."""
    authority = _AUTHORITY.match(url)
    return _parsed_origin(url) if authority is None else _cached_origin(authority.group())


@functools.lru_cache(maxsize=256)
def _cached_origin(authority: str) -> Origin | None:
    """`_parsed_origin` of a URL's scheme and authority: parsed once, not per request."""
    return _parsed_origin(authority)


def _parsed_origin(url: str) -> Origin | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return Origin(
        scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]
    )


@dataclass(frozen=True)
class BaseURL:
    """A provider's base URL: its origin, and a path that prefixes the auth endpoints."""

    url: str
    origin: Origin

    def join(self, path: str) -> str:
        """The absolute URL of an endpoint `path` (which starts with a slash)."""
        return self.url + path


def parse_base_url(base_url: str, *, provider: str, allow_insecure: bool) -> BaseURL:
    """Check `base_url` once, at construction, before any I/O.

    Messages never repeat the URL whole: a URL pasted by mistake may carry a
    password or an API key. They name the part that is wrong instead.
    """

    def invalid(problem: str) -> ConfigurationError:
        return ConfigurationError(f"{provider}: base_url {problem}", provider=provider)

    if not isinstance(base_url, str) or not base_url.strip():
        raise invalid("is empty; pass the API's address, e.g. https://api.example.com")
    try:
        parts = urlsplit(base_url.strip())
    except ValueError:
        raise invalid("is not a valid URL; check its host") from None
    if parts.username is not None or parts.password is not None:
        raise invalid("must not carry a user name or password; pass credentials as arguments")
    try:
        port = parts.port
    except ValueError:
        raise invalid("has an invalid port; use a number from 1 to 65535") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise invalid(f"must start with https:// (or http://), not {scheme or 'nothing'!r}")
    if not parts.hostname:
        raise invalid("has no host; e.g. https://api.example.com")
    if parts.query or parts.fragment:
        raise invalid("must not have a query or fragment (the part after ? or #)")
    if port == 0:
        raise invalid("has port 0; use the API's port, or none")
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise invalid("has a host name that cannot be encoded (IDNA)") from None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    if scheme != "https" and not allow_insecure and not is_loopback(host):
        raise InsecureTransportError(
            f"{provider}: base_url {scheme}://{netloc} is not https, so credentials would "
            "travel in clear text; use https, a loopback host, or allow_insecure=True",
            provider=provider,
        )
    origin = Origin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])
    return BaseURL(f"{scheme}://{netloc}{parts.path.rstrip('/')}", origin)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (R11)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
