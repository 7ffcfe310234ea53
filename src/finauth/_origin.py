"""Where credentials may go: base_url checks (R8, R11, R17) and origin scoping (R1)."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from ._errors import ConfigurationError, InsecureTransportError

DEFAULT_PORTS = {"http": 80, "https": 443}


class Origin(NamedTuple):
    """(scheme, lower-case ASCII host, effective port): `:443` equals no port for https."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        """`scheme://host[:port]`, the port only when it is not the scheme's default."""
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        if self.port != DEFAULT_PORTS[self.scheme]:
            netloc += f":{self.port}"
        return f"{self.scheme}://{netloc}"


_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@]*(?=[/?#]|$)")
"""A URL's scheme and authority, all its origin depends on: few distinct ones per program.
Not with a user or password in it (`@`), which is parsed each time, never kept."""

_HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
"""A host name as both clients send it: ASCII letters, digits, `-` and `_`, in labels
that are not empty. requests and httpx pass anything else on as typed, or each its own way."""

_NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
"""A label the system resolver reads as a number: `127.1` and `0x7f.1` are 127.0.0.1 to it."""

_UNSEEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
"""Whitespace and control characters: urlsplit drops tabs and newlines, clients do not."""

_MAX_NAME = 253
"""The longest DNS name. A longer non-ASCII host cannot be encoded, so it is refused before
the IDNA codec sees it: work on a host a server sent stays bounded (R15)."""


_last: tuple[str, Origin | None] = ("\0", None)
"""The scheme and authority of the last URL whose authority a slash ended, with that slash,
and their origin. A URL that starts with them has them as its own: the authority ends at
the first slash. Most requests go where the last one went, so this spares them the match;
a tuple is read and replaced whole, by any number of threads."""


def origin_of(url: str) -> Origin | None:
    """The origin of an absolute http(s) URL; None for anything else, and for a host that
    requests and httpx would not both send as `parse_base_url` stores it (R17)."""
    global _last
    prefix, origin = _last
    if url.startswith(prefix):
        return origin
    authority = _AUTHORITY.match(url)
    if authority is None:
        return _parsed_origin(url)
    origin = _cached_origin(authority.group())
    if url.startswith("/", authority.end()):
        _last = (url[: authority.end() + 1], origin)
    return origin


@functools.lru_cache(maxsize=256)
def _cached_origin(authority: str) -> Origin | None:
    """`_parsed_origin` of a URL's scheme and authority: parsed once, not per request."""
    return _parsed_origin(authority)


def _parsed_origin(url: str) -> Origin | None:
    try:
        parts = urlsplit(url)
        port = parts.port
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        host = wire_host(parts)
    except ValueError:
        return None
    return Origin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])


def wire_host(parts: SplitResult) -> str:
    """The host of `parts` as requests and httpx both put it on the wire (R17): lower-case
    ASCII, non-ASCII names in IDNA 2008 punycode, IPv6 without brackets.

    Raises ValueError, saying what is wrong without repeating the host, for a host that
    either client would read differently from `urlsplit`, encode differently from the
    other, or refuse: a backslash (requests ends the host there, httpx keeps it), an empty
    label, a character no host name has, a number that is no IPv4 address.
    """
    if "\\" in parts.netloc:
        raise ValueError("authority has a backslash (\\), where requests and httpx disagree")
    authority = parts.netloc.rpartition("@")[2]
    if authority.startswith("["):
        return _ipv6(parts.hostname or "", after=authority.partition("]")[2])
    host = authority.rpartition(":")[0] if ":" in authority else authority
    name = host.lower() if host.isascii() else _idna_encoded(host)
    if not _HOST_NAME.fullmatch(name):
        if "" in name.split("."):
            raise ValueError(
                "host has an empty label (two dots in a row, or a leading or trailing dot)"
            )
        raise ValueError("host has a character other than letters, digits, '-', '_' and '.'")
    if _NUMBER.fullmatch(name.rpartition(".")[2]):
        _ipv4(name)
    if "xn--" in name:
        _check_a_labels(name)
    return name


def _ipv6(host: str, *, after: str) -> str:
    """`host` from brackets, followed in the URL by `after`: nothing or a port, since
    urlsplit drops anything else there, where the clients refuse it."""
    try:
        valid = ipaddress.IPv6Address(host).scope_id is None and after[:1] in ("", ":")
    except ValueError:
        valid = False
    if not valid:
        raise ValueError("host in brackets is not an IPv6 address (without a %zone)")
    return host


def _ipv4(name: str) -> None:
    """A name that ends in a number is an IPv4 address to the resolver: only the dotted
    quad that every client and `is_loopback` read alike may be one."""
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        raise ValueError(
            "host ends in a number but is not an IPv4 address a.b.c.d "
            "(four numbers from 0 to 255, without leading zeros)"
        ) from None


_NOT_IDNA = (
    "host is not a domain name that requests and httpx encode alike under IDNA 2008 "
    "(UTS 46); check its spelling, in lower case"
)


def _idna_encoded(host: str) -> str:
    """A non-ASCII host, as typed, in punycode, as UTS 46 (requests' own fallback, and
    browsers), urllib3 (under requests: each label lower-cased, then encoded strictly) and
    httpx (the whole host lower-cased, then encoded) each encode it.

    They differ where UTS 46 maps a character the others refuse (full-width letters, soft
    hyphens), where only httpx splits at an ideographic full stop, or where Python's
    lower-casing of a whole host makes a final sigma that label by label it does not; such
    a host is refused. `ß` stays `ß` under IDNA 2008 (`xn--zca`); IDNA 2003 made it `ss`.
    """
    import idna  # needed for non-ASCII hosts only; requests and httpx depend on it

    if len(host) > _MAX_NAME:
        raise ValueError(_NOT_IDNA)
    try:
        forms = {
            idna.encode(host, uts46=True),
            b".".join(
                idna.encode(label.lower(), strict=True, std3_rules=True)
                if not label.isascii()
                else label.lower().encode()
                for label in host.split(".")
            ),
            idna.encode(host.lower()),
        }
    except UnicodeError:
        raise ValueError(_NOT_IDNA) from None
    if len(forms) != 1:
        raise ValueError(_NOT_IDNA)
    return forms.pop().decode("ascii")


def _check_a_labels(name: str) -> None:
    """Each `xn--` label must be the punycode of an IDNA 2008 name, as httpx decodes it."""
    import idna

    for label in name.split("."):
        if not label.startswith("xn--"):
            continue
        try:
            valid = idna.encode(idna.decode(label)) == label.encode()
        except UnicodeError:
            valid = False
        if not valid:
            raise ValueError("host has an xn-- label that is not valid IDNA 2008 punycode")


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
    unseen = _UNSEEN.search(base_url.strip())
    if unseen is not None:
        raise invalid(
            f"has whitespace or a control character at position {unseen.start() + 1}; remove it"
        )
    if "\\" in base_url:
        raise invalid("has a backslash (\\), which requests and httpx read differently; use /")
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
        host = wire_host(parts)
    except ValueError as error:
        raise invalid(str(error)) from None
    origin = Origin(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])
    if scheme != "https" and not allow_insecure and not is_loopback(host):
        raise InsecureTransportError(
            f"{provider}: base_url {origin.url} is not https, so credentials would "
            "travel in clear text; use https, a loopback host, or allow_insecure=True",
            provider=provider,
        )
    return BaseURL(origin.url + parts.path.rstrip("/"), origin)


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (R11)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
