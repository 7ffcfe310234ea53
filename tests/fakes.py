"""Test doubles shared by the provider tests."""

from __future__ import annotations

from requests.structures import CaseInsensitiveDict

from finauth._origin import Origin, origin_of


class FakeRequest:
    """The smallest `Outgoing`: what a provider touches of the user's request."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self._headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})

    @property
    def headers(self) -> CaseInsensitiveDict[str]:
        return self._headers

    @property
    def origin(self) -> Origin | None:
        return origin_of(self.url)

    @property
    def replayable(self) -> bool:
        return True

    def rewind(self) -> None:
        pass
