"""The scenarios Fincrux (SimpleJWT) and Finvera (dj-rest-auth) share, run against each.

Every test runs for each service of services.py with requests, httpx.Client and
httpx.AsyncClient, and asserts what the server saw: each login, refresh and API call,
in order, with its status code. What only one service does is in its own module.
"""

from __future__ import annotations

import time

import pytest

from finauth import LoginError

from .conftest import BRIEF_SECONDS, Live
from .services import SERVICES, Service

PAST_THE_MARGIN = BRIEF_SECONDS / 2 + 0.3
"""Long enough for a brief token to come within its (clamped) margin, not to outlive it."""


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
def service(request: pytest.FixtureRequest) -> Service:
    described: Service = request.param
    return described


def test_a_token_near_expiry_is_refreshed_and_the_rotation_kept(
    brief: Live, service: Service
) -> None:
    login, ok, refresh = (service.login, 200), (service.api, 200), (service.refresh, 200)
    auth = brief.auth(service.auth, refresh_margin=1)
    fetch = brief.open(auth)
    assert fetch("GET", brief.url(service.path)).status_code == 200
    first = auth.token
    assert first is not None

    time.sleep(PAST_THE_MARGIN)
    assert fetch("GET", brief.url(service.path)).status_code == 200

    assert brief.server.seen() == [login, ok, refresh, ok]
    _, _, refreshed, after = brief.server.calls()
    if service.refresh_cookie is not None:
        assert service.refresh_cookie in refreshed.cookies
    if service.api_cookies is not None:
        assert after.cookies == service.api_cookies
    renewed = auth.token
    assert renewed is not None
    assert renewed.access_token != first.access_token
    assert renewed.refresh_token not in (None, first.refresh_token)  # ROTATE_REFRESH_TOKENS


def test_a_blacklisted_refresh_token_gives_way_to_a_fresh_login(
    brief: Live, service: Service
) -> None:
    login, ok = (service.login, 200), (service.api, 200)
    fetch = brief.open(brief.auth(service.auth, refresh_margin=1))
    assert fetch("GET", brief.url(service.path)).status_code == 200
    brief.server.blacklist_refresh_tokens()

    time.sleep(PAST_THE_MARGIN)
    assert fetch("GET", brief.url(service.path)).status_code == 200

    assert brief.server.seen() == [login, ok, (service.refresh, 401), login, ok]


def test_a_revoked_access_token_is_refreshed_and_the_request_sent_once_more(
    live: Live, service: Service
) -> None:
    login, ok, refused = (service.login, 200), (service.api, 200), (service.api, 401)
    fetch = live.open(live.auth(service.auth))
    assert fetch("GET", live.url(service.path)).status_code == 200
    live.server.revoke_access_tokens()

    answer = fetch("GET", live.url(service.path))

    assert (answer.status_code, answer.history[0]) == (200, 401)
    assert live.server.seen() == [login, ok, refused, (service.refresh, 200), ok]


def test_after_a_refresh_that_did_not_help_the_next_request_logs_in(
    live: Live, service: Service
) -> None:
    """R14: SimpleJWT with CHECK_REVOKE_TOKEN (also under dj-rest-auth's refresh view),
    after the password hash changed, still refreshes, but its new access tokens carry
    the old hash and the API refuses them."""
    login, ok, refused = (service.login, 200), (service.api, 200), (service.api, 401)
    fetch = live.open(live.auth(service.auth))
    assert fetch("GET", live.url(service.path)).status_code == 200
    live.server.change_password()  # same password, new hash: every token issued is spent

    stuck = fetch("GET", live.url(service.path))

    assert (stuck.status_code, stuck.history[0]) == (401, 401)  # re-sent once: see seen()
    if service.password_changed_code is not None:
        assert stuck.json()["code"] == service.password_changed_code
    assert live.server.seen() == [login, ok, refused, (service.refresh, 200), refused]

    recovered = fetch("GET", live.url(service.path))

    assert live.server.seen()[5:] == [login, ok]  # a login, not the spent refresh token again
    assert recovered.status_code == 200


def test_a_wrong_password_is_a_login_error_with_the_services_message(
    live: Live, service: Service
) -> None:
    fetch = live.open(live.auth(service.auth, password="not-the-password"))

    with pytest.raises(LoginError) as raised:
        fetch("GET", live.url(service.path))

    assert raised.value.status_code == service.wrong_password_status
    assert raised.value.provider_message == service.wrong_password_message
    assert live.server.seen() == [(service.login, service.wrong_password_status)]
