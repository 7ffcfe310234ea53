"""A token's credentials as header lines, read once from the provider's `apply`.

Every request sent with the cached token gets the same credentials, and most providers
put them in headers alone (`Authorization`, `X-Tenant-ID`). `apply` is pure (see
`Provider`), so what it writes into a blank request is what it writes into any: written
down once per token, those headers can be set by an adapter itself, with no view made of
each request for `apply` to write into. Where `apply` reads the request, removes
something from it or changes its URL (Finvera's merges its cookie into the caller's
Cookie header), what it does depends on the request, and nothing is written down.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, NamedTuple

from ._token import Token

if TYPE_CHECKING:
    from ._origin import Origin
    from ._provider import Provider

HeaderLines = tuple[tuple[str, str], ...]


class HeaderCredentials(NamedTuple):
    """`token`, and the header lines its provider sends it in; None if its `apply` does
    more than set headers."""

    token: Token
    lines: HeaderLines | None

    def __repr__(self) -> str:
        """The header names only: their values carry the token (R10)."""
        names = None if self.lines is None else tuple(name for name, _ in self.lines)
        return f"HeaderCredentials(token={self.token!r}, names={names!r})"


def header_credentials(provider: Provider, token: Token) -> HeaderCredentials:
    """`token` and the headers `provider.apply` sets for it, if that is all it does.

    Anything else `apply` does, or any error it raises, writes nothing down: the adapter
    then gives each request to `apply`, as it would without this.
    """
    blank = _BlankRequest(provider.base.origin)
    try:
        provider.apply(blank, token)
    except Exception:  # an `apply` that fails here runs, and fails, as it would have
        return HeaderCredentials(token, None)
    return HeaderCredentials(token, tuple(blank.headers.lines.values()))


class _RequestRead(Exception):
    """`apply` looked at the request it was given, or took something from it."""


class _WrittenHeaders(MutableMapping[str, str]):
    """Headers that can only be set: any other use, such as `get`, `pop` or `in`, which
    `MutableMapping` builds on these methods, raises `_RequestRead`."""

    def __init__(self) -> None:
        self.lines: dict[str, tuple[str, str]] = {}
        """The last value set for each name, as case-insensitive as every client's headers."""

    def __setitem__(self, name: str, value: str) -> None:
        self.lines[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        raise _RequestRead

    def __delitem__(self, name: str) -> None:
        raise _RequestRead

    def __iter__(self) -> Iterator[str]:
        raise _RequestRead

    def __len__(self) -> int:
        raise _RequestRead


class _BlankRequest:
    """An `Outgoing` bound for the provider's origin, whose headers `apply` may only set."""

    def __init__(self, origin: Origin) -> None:
        self.headers = _WrittenHeaders()
        self.origin = origin

    @property
    def url(self) -> str:
        raise _RequestRead

    @url.setter
    def url(self, value: str) -> None:
        raise _RequestRead

    @property
    def replayable(self) -> bool:
        raise _RequestRead

    def rewind(self) -> None:
        raise _RequestRead
