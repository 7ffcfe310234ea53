"""Checking what users configure, at construction and before any I/O (R8)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from ._errors import ConfigurationError
from ._origin import is_loopback
from ._wire import fits_field_value

_SCHEMELESS = re.compile(
    r"(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:/[\w./~-]*)?"
)


def credential(provider: str, name: str, value: object) -> str:
    """`value`, insisting it is a non-empty string; the error names only `name`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{provider}: {name} is empty; pass the {name} your {provider} account uses",
            provider=provider,
        )
    return value


def header_value(provider: str, name: str, value: object, header: str) -> str:
    """A `credential` that can be sent in `header` as it is (R16): visible ASCII, and
    spaces between."""
    if not fits_field_value(value := credential(provider, name, value)):
        raise ConfigurationError(
            f"{provider}: {name} cannot be sent in the {header} header: it may hold only "
            f"visible ASCII characters and spaces between them, no line breaks or other "
            f"control characters; pass the {name} your {provider} account uses",
            provider=provider,
        )
    return value


def printable(provider: str, name: str, value: object) -> str:
    """A `credential` with no control character (CR, LF, NUL...): one pasted with such a
    character would break the request that carries it, or be a forgery (R16)."""
    if not (value := credential(provider, name, value)).isprintable():
        raise ConfigurationError(
            f"{provider}: {name} holds a line break or another control character; "
            f"pass the {name} exactly as {provider} issued it",
            provider=provider,
        )
    return value


def path_segment(provider: str, name: str, value: object) -> str:
    """A `credential` that is neither "." nor "..": URL-quoted, those stay as they are, and
    clients and servers resolve them away, so the request would go to another path (R16)."""
    if (value := credential(provider, name, value)) in (".", ".."):
        raise ConfigurationError(
            f"{provider}: {name} cannot be '.' or '..', which a URL path resolves away; "
            f"pass the {name} your {provider} account uses",
            provider=provider,
        )
    return value


def seconds(provider: str, name: str, value: float, *, allow_zero: bool) -> float:
    """A non-negative (or positive) finite number of seconds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        wanted = "zero or more" if allow_zero else "more than zero"
        raise ConfigurationError(
            f"{provider}: {name} must be a number of seconds, {wanted}; got {value!r}",
            provider=provider,
        )
    return float(value)


def from_environ(environ: Mapping[str, str], provider: str, *names: str) -> list[str]:
    """The values of the environment variables `names`, in order.

    Every missing variable is named at once; values are never repeated.
    """
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise ConfigurationError(
            f"{provider}: environment variable(s) {', '.join(missing)} not set; "
            "export them, or pass the credentials as arguments",
            provider=provider,
        )
    return [environ[name] for name in names]


def with_likely_scheme(base_url: str) -> str | None:
    """`base_url` with the scheme it was typed without, or None if it is not such a URL.

    `127.0.0.1:8400` (what a reader copies from a server's log) becomes
    `http://127.0.0.1:8400`, loopback being where plain http is allowed and the
    sandbox serves; any other host gets `https://`. Only a host, a port and a path
    qualify, so a message may repeat the value: it holds no password or key.
    """
    typed = base_url.strip()
    schemeless = _SCHEMELESS.fullmatch(typed)
    if schemeless is None:
        return None
    host = schemeless["host"].strip("[]").lower()
    return ("http://" if is_loopback(host) else "https://") + typed
