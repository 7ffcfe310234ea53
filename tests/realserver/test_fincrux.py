"""FincruxJWTAuth against SimpleJWT (djangorestframework-simplejwt) on a real WSGI server.

Every test runs with requests, httpx.Client and httpx.AsyncClient, and asserts what the
server saw: each login, refresh and API call, in order, with its status code. The
scenarios Finvera shares (refresh near expiry, blacklist, revocation, a refresh that did
not help, a wrong password) are in test_both_services.py.
"""

from __future__ import annotations

from .conftest import Live
from .services import FINCRUX

SEARCH = FINCRUX.path
LOGIN = (FINCRUX.login, 200)
OK = (FINCRUX.api, 200)
REFUSED = (FINCRUX.api, 401)


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


def test_a_401_after_a_blacklisted_refresh_is_recovered_by_a_login(live: Live) -> None:
    fetch = live.open(live.fincrux())
    assert fetch("GET", live.url(SEARCH)).status_code == 200
    live.server.revoke_access_tokens()
    live.server.blacklist_refresh_tokens()

    answer = fetch("GET", live.url(SEARCH))

    assert (answer.status_code, answer.history[0]) == (200, 401)
    assert live.server.seen() == [LOGIN, OK, REFUSED, (FINCRUX.refresh, 401), LOGIN, OK]
