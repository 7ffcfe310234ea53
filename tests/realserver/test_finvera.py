"""FinveraCookieAuth against dj-rest-auth (JWTs in HttpOnly cookies) on a real WSGI server.

dj-rest-auth logs the user in to Django's session too, so its login answer also sets
`sessionid` and `csrftoken`. Those must never ride on later requests (R18): DRF would
then authenticate them by session and refuse a write without a CSRF token. The
scenarios Fincrux shares (refresh near expiry, blacklist, revocation, a refresh that did
not help, a wrong password) are in test_both_services.py.
"""

from __future__ import annotations

import pytest

from .conftest import Live
from .server import EMAIL, RealServer
from .services import FINVERA

FEED = FINVERA.path
BOOKMARKS = "/kms/api/v1/news/bookmarks"
LATEST = "/kms/api/v1/news/latest"
LOGIN = (FINVERA.login, 200)
OK = (FINVERA.api, 200)
ACCESS_COOKIE_ONLY = FINVERA.api_cookies


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
