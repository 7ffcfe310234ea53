"""FinveraCookieAuth against dj-rest-auth (JWTs in HttpOnly cookies) on a real WSGI server.

dj-rest-auth logs the user in to Django's session too, so its login answer also sets
`sessionid` and `csrftoken`. Those must never ride on later requests (R18): DRF would
then authenticate them by session and refuse a write without a CSRF token.
"""

from __future__ import annotations

import time

import pytest

from finauth import LoginError

from .conftest import BRIEF_SECONDS, Live
from .server import EMAIL, RealServer

FEED = "/kms/api/v1/news/feed"
BOOKMARKS = "/kms/api/v1/news/bookmarks"
LATEST = "/kms/api/v1/news/latest"
LOGIN = ("finvera-login", 200)
REFRESH = ("finvera-refresh", 200)
OK = ("finvera-feed", 200)
REFUSED = ("finvera-feed", 401)
ACCESS_COOKIE_ONLY = ("DT_AUTH_TOKEN",)
PAST_THE_MARGIN = BRIEF_SECONDS / 2 + 0.3


def test_requests_carry_the_access_cookie_and_no_other_cookie_of_the_login(live: Live) -> None:
    fetch = live.open(live.finvera())

    assert fetch("GET", live.url(FEED)).status_code == 200
    assert fetch("GET", live.url(FEED)).status_code == 200

    assert live.server.seen() == [LOGIN, OK, OK]
    assert [call.cookies for call in live.server.calls("finvera-feed")] == [
        ACCESS_COOKIE_ONLY,
        ACCESS_COOKIE_ONLY,
    ]


def test_a_write_after_login_is_not_refused_by_session_authentication(live: Live) -> None:
    """The bookmarks view lists SessionAuthentication before JWTCookieAuthentication, as
    many real APIs do: a request carrying `sessionid` would meet 403, CSRF token missing."""
    fetch = live.open(live.finvera())
    assert fetch("GET", live.url(LATEST)).status_code == 200  # logs in

    answer = fetch("POST", live.url(BOOKMARKS), json={"id": 2})

    assert (answer.status_code, answer.json()) == (201, {"bookmarked": 2})
    assert live.server.seen() == [LOGIN, ("finvera-latest", 200), ("finvera-bookmarks", 201)]
    assert [call.cookies for call in live.server.calls("finvera-")[1:]] == [
        ACCESS_COOKIE_ONLY,
        ACCESS_COOKIE_ONLY,
    ]


def test_a_token_near_expiry_is_refreshed_with_the_refresh_cookie(brief: Live) -> None:
    auth = brief.finvera(refresh_margin=1)
    fetch = brief.open(auth)
    assert fetch("GET", brief.url(FEED)).status_code == 200
    first = auth.token
    assert first is not None

    time.sleep(PAST_THE_MARGIN)
    assert fetch("GET", brief.url(FEED)).status_code == 200

    assert brief.server.seen() == [LOGIN, OK, REFRESH, OK]
    _, _, refresh, after = brief.server.calls()
    assert "DT_REFRESH_TOKEN" in refresh.cookies
    assert after.cookies == ACCESS_COOKIE_ONLY
    renewed = auth.token
    assert renewed is not None
    assert renewed.access_token != first.access_token
    assert renewed.refresh_token not in (None, first.refresh_token)  # rotated by SimpleJWT


def test_a_blacklisted_refresh_token_gives_way_to_a_fresh_login(brief: Live) -> None:
    fetch = brief.open(brief.finvera(refresh_margin=1))
    assert fetch("GET", brief.url(FEED)).status_code == 200
    brief.server.blacklist_refresh_tokens()

    time.sleep(PAST_THE_MARGIN)
    assert fetch("GET", brief.url(FEED)).status_code == 200

    assert brief.server.seen() == [LOGIN, OK, ("finvera-refresh", 401), LOGIN, OK]


def test_a_revoked_access_token_is_refreshed_and_the_request_sent_once_more(live: Live) -> None:
    fetch = live.open(live.finvera())
    assert fetch("GET", live.url(FEED)).status_code == 200
    live.server.revoke_access_tokens()

    answer = fetch("GET", live.url(FEED))

    assert (answer.status_code, answer.history[0]) == (200, 401)
    assert live.server.seen() == [LOGIN, OK, REFUSED, REFRESH, OK]


def test_after_a_refresh_that_did_not_help_the_next_request_logs_in(live: Live) -> None:
    """R14, through dj-rest-auth's refresh view, which is SimpleJWT's underneath."""
    fetch = live.open(live.finvera())
    assert fetch("GET", live.url(FEED)).status_code == 200
    live.server.change_password()

    stuck = fetch("GET", live.url(FEED))

    assert (stuck.status_code, stuck.history[0]) == (401, 401)
    assert live.server.seen() == [LOGIN, OK, REFUSED, REFRESH, REFUSED]

    recovered = fetch("GET", live.url(FEED))

    assert live.server.seen()[5:] == [LOGIN, OK]
    assert recovered.status_code == 200


def test_a_wrong_password_is_a_login_error_with_dj_rest_auths_message(live: Live) -> None:
    fetch = live.open(live.finvera(password="not-the-password"))

    with pytest.raises(LoginError) as raised:
        fetch("GET", live.url(FEED))

    assert raised.value.status_code == 400
    assert raised.value.provider_message == "Unable to log in with provided credentials."
    assert live.server.seen() == [("finvera-login", 400)]


@pytest.mark.parametrize("client", ["requests"])  # validate() is a sync call of its own
def test_validate_reads_the_account_with_a_bearer_token(live: Live) -> None:
    auth = live.finvera()

    account = auth.validate()

    assert account["email"] == EMAIL
    assert set(account) == {"user_id", "email", "username", "licensing_tier_id"}
    assert live.server.seen() == [LOGIN, ("finvera-validate", 200)]
    assert live.server.calls("finvera-validate")[0].scheme == "Bearer"


def test_the_server_itself_refuses_a_session_write_without_csrf(server: RealServer) -> None:
    """The failure R18 prevents, shown with a plain requests.Session keeping every cookie."""
    import requests

    from .server import PASSWORD

    with requests.Session() as browser:
        login = browser.post(
            f"{server.base_url}/kms/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD}
        )
        assert login.status_code == 200
        assert {"DT_AUTH_TOKEN", "DT_REFRESH_TOKEN", "sessionid", "csrftoken"} <= set(
            browser.cookies.keys()
        )
        write = browser.post(f"{server.base_url}{BOOKMARKS}", json={"id": 2})

    assert write.status_code == 403
    assert "CSRF" in write.json()["detail"]
