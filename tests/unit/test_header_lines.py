"""`header_credentials`: the header lines a provider's `apply` writes for a token, written
down once when setting headers is all it does, and nothing when what it does depends on
the request it is given."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from fakes import FakeRequest
from finauth import FincruxJWTAuth, FinHubSessionAuth, FinveraCookieAuth
from finauth._header_lines import header_credentials
from finauth._provider import Provider
from finauth._token import Token
from finauth._wire import Outgoing
from finauth.providers.fincrux import Fincrux

ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmVk-access"
NOW = datetime.now(timezone.utc)
TOKEN = Token(ACCESS, "eyJ.refresh.token", NOW + timedelta(hours=1), NOW, {"session_id": "s-1"})
PROVIDERS: dict[str, Callable[[], Provider]] = {
    "Fincrux": lambda: FincruxJWTAuth("me@example.com", "pw")._flow.provider,
    "FinHub": lambda: (
        FinHubSessionAuth(
            organization_id="org-1",
            user_id="user-1",
            tenant_id="tenant-1",
            username="admin",
            password="admin-password",
            tenant_key="key-1",
            tenant_secret="tenant-secret",
        )._flow.provider
    ),
    "Finvera, cookie": lambda: FinveraCookieAuth("me@example.com", "pw")._flow.provider,
    "Finvera, bearer": lambda: (
        FinveraCookieAuth("me@example.com", "pw", scheme="bearer")._flow.provider
    ),
}
SETS_HEADERS_ONLY = {
    "Fincrux": True,
    "FinHub": True,
    "Finvera, cookie": False,
    "Finvera, bearer": False,
}
"""Finvera's `apply` takes any DT_* cookie out of the caller's Cookie header first, in
either scheme: what it does depends on the request."""


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_the_lines_are_what_apply_writes_into_a_request(name: str) -> None:
    provider = PROVIDERS[name]()
    request = FakeRequest(provider.base.url + "/api/anything")
    provider.apply(request, TOKEN)

    known = header_credentials(provider, TOKEN)

    assert known.token is TOKEN
    if SETS_HEADERS_ONLY[name]:
        assert known.lines is not None
        assert dict(known.lines) == dict(request.headers)
    else:
        assert known.lines is None


def apply_reading(look: Callable[[Outgoing], object]) -> type[Fincrux]:
    """Fincrux's provider, whose `apply` also does `look` to the request."""

    class Looking(Fincrux):
        def apply(self, request: Outgoing, token: Token) -> None:
            look(request)
            super().apply(request, token)

    return Looking


def change_url(request: Outgoing) -> None:
    request.url = "https://api.fincrux.org/?key=k"


def fail(request: Outgoing) -> None:
    raise RuntimeError("a provider's bug")


LOOKS: dict[str, Callable[[Outgoing], object]] = {
    "get": lambda request: request.headers.get("Cookie"),
    "in": lambda request: "Authorization" in request.headers,
    "pop": lambda request: request.headers.pop("Authorization", None),
    "del": lambda request: request.headers.__delitem__("Authorization"),
    "setdefault": lambda request: request.headers.setdefault("Accept", "*/*"),
    "iterate": lambda request: list(request.headers),
    "len": lambda request: len(request.headers),
    "read the url": lambda request: request.url,
    "change the url": change_url,
    "ask if replayable": lambda request: request.replayable,
    "rewind": lambda request: request.rewind(),
    "fail": fail,
}


@pytest.mark.parametrize("look", list(LOOKS))
def test_an_apply_that_depends_on_the_request_is_not_written_down(look: str) -> None:
    provider = apply_reading(LOOKS[look])(
        "me@example.com", "pw", FincruxJWTAuth("me@example.com", "pw")._flow.provider.base
    )

    assert header_credentials(provider, TOKEN).lines is None


def test_setting_headers_by_update_and_reading_the_origin_is_written_down() -> None:
    """The origin is the provider's own, which finauth checked before any `apply`; each
    header keeps the last value set, whatever case its name was set in."""
    base = FincruxJWTAuth("me@example.com", "pw")._flow.provider.base

    class Updating(Fincrux):
        def apply(self, request: Outgoing, token: Token) -> None:
            assert request.origin == base.origin
            request.headers.update({"authorization": "stale", "X-Client": "finauth"})
            request.headers["Authorization"] = f"JWT {token.access_token}"

    known = header_credentials(Updating("me@example.com", "pw", base), TOKEN)

    assert known.lines == (("Authorization", f"JWT {ACCESS}"), ("X-Client", "finauth"))


def test_the_repr_names_the_headers_but_shows_no_token() -> None:
    known = header_credentials(PROVIDERS["FinHub"](), TOKEN)

    shown = repr(known)
    assert "Authorization" in shown
    assert "X-Tenant-ID" in shown
    assert ACCESS not in shown
    assert "eyJ.refresh.token" not in shown
