"""FincruxJWTAuth against SimpleJWT (djangorestframework-simplejwt) on a real WSGI server.

Every test runs with requests, httpx.Client and httpx.AsyncClient, and asserts what the
server saw: each login, refresh and API call, in order, with its status code.
"""

from __future__ import annotations

import time

import pytest

from finauth import LoginError

from .conftest import BRIEF_SECONDS, Live

SEARCH = "/api/search/aapl"
LOGIN = ("fincrux-login", 200)
REFRESH = ("fincrux-refresh", 200)
OK = ("fincrux-search", 200)
REFUSED = ("fincrux-search", 401)
PAST_THE_MARGIN = BRIEF_SECONDS / 2 + 0.3
"""Long enough for a brief token to come within its (clamped) margin, not to outlive it."""


def test_the_first_request_logs_in_and_carries_a_jwt_header(live: Live) -> None:
    fetch = live.open(live.fincrux())

    first = fetch("GET", live.url(SEARCH))
    second = fetch("GET", live.url(SEARCH))

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["results"][0]["symbol"] == "AAPL"
    assert live.server.seen() == [LOGIN, OK, OK]
    assert [call.scheme for call in live.server.calls()] == [None, "JWT", "JWT"]


def test_a_token_that_lives_less_than_the_margin_is_not_renewed_on_every_request(
    brief: Live,
) -> None:
    fetch = brief.open(brief.fincrux())  # refresh_margin 60 s, tokens living 2 s (R14)

    for _ in range(3):
        assert fetch("GET", brief.url(SEARCH)).status_code == 200

    assert brief.server.seen() == [LOGIN, OK, OK, OK]


def test_a_token_near_expiry_is_refreshed_by_simplejwt_and_the_rotation_kept(
    brief: Live,
) -> None:
    auth = brief.fincrux(refresh_margin=1)
    fetch = brief.open(auth)
    assert fetch("GET", brief.url(SEARCH)).status_code == 200
    first = auth.token
    assert first is not None

    time.sleep(PAST_THE_MARGIN)
    assert fetch("GET", brief.url(SEARCH)).status_code == 200

    assert brief.server.seen() == [LOGIN, OK, REFRESH, OK]
    renewed = auth.token
    assert renewed is not None
    assert renewed.access_token != first.access_token
    assert renewed.refresh_token not in (None, first.refresh_token)  # ROTATE_REFRESH_TOKENS


def test_a_blacklisted_refresh_token_gives_way_to_a_fresh_login(brief: Live) -> None:
    fetch = brief.open(brief.fincrux(refresh_margin=1))
    assert fetch("GET", brief.url(SEARCH)).status_code == 200
    brief.server.blacklist_refresh_tokens()

    time.sleep(PAST_THE_MARGIN)
    assert fetch("GET", brief.url(SEARCH)).status_code == 200

    assert brief.server.seen() == [LOGIN, OK, ("fincrux-refresh", 401), LOGIN, OK]


def test_a_revoked_access_token_is_refreshed_and_the_request_sent_once_more(live: Live) -> None:
    fetch = live.open(live.fincrux())
    assert fetch("GET", live.url(SEARCH)).status_code == 200
    live.server.revoke_access_tokens()

    answer = fetch("GET", live.url(SEARCH))

    assert (answer.status_code, answer.history[0]) == (200, 401)
    assert live.server.seen() == [LOGIN, OK, REFUSED, REFRESH, OK]


def test_a_401_after_a_blacklisted_refresh_is_recovered_by_a_login(live: Live) -> None:
    fetch = live.open(live.fincrux())
    assert fetch("GET", live.url(SEARCH)).status_code == 200
    live.server.revoke_access_tokens()
    live.server.blacklist_refresh_tokens()

    answer = fetch("GET", live.url(SEARCH))

    assert (answer.status_code, answer.history[0]) == (200, 401)
    assert live.server.seen() == [LOGIN, OK, REFUSED, ("fincrux-refresh", 401), LOGIN, OK]


def test_after_a_refresh_that_did_not_help_the_next_request_logs_in(live: Live) -> None:
    """R14: SimpleJWT with CHECK_REVOKE_TOKEN, after the password hash changed, still
    refreshes, but its new access tokens carry the old hash and the API refuses them."""
    fetch = live.open(live.fincrux())
    assert fetch("GET", live.url(SEARCH)).status_code == 200
    live.server.change_password()  # same password, new hash: every token issued is spent

    stuck = fetch("GET", live.url(SEARCH))

    assert (stuck.status_code, stuck.history[0]) == (401, 401)  # re-sent once: see seen()
    assert stuck.json()["code"] == "password_changed"
    assert live.server.seen() == [LOGIN, OK, REFUSED, REFRESH, REFUSED]

    recovered = fetch("GET", live.url(SEARCH))

    assert live.server.seen()[5:] == [LOGIN, OK]  # a login, not the spent refresh token again
    assert recovered.status_code == 200


def test_a_wrong_password_is_a_login_error_with_simplejwts_message(live: Live) -> None:
    fetch = live.open(live.fincrux(password="not-the-password"))

    with pytest.raises(LoginError) as raised:
        fetch("GET", live.url(SEARCH))

    assert raised.value.status_code == 401
    assert raised.value.provider_message == "No active account found with the given credentials"
    assert live.server.seen() == [("fincrux-login", 401)]
