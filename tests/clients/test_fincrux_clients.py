"""Fincrux's wire format over every client and transport, and FincruxAPIKeyAuth."""

from __future__ import annotations

import pytest
from test_rules import assert_reported, other_origins

from conftest import Rig, make_due
from finauth import FinauthError, FincruxAPIKeyAuth, LoginError, ProviderResponseError
from finauth.providers.fincrux import LOGIN_PATH, REFRESH_PATH
from finauth.testing import FincruxEmulator
from finauth.testing._clients import Fetch


@pytest.fixture
def provider() -> str:
    return "Fincrux"


def api_key(rig: Rig) -> str:
    assert isinstance(rig.emulator, FincruxEmulator)
    return rig.emulator.api_key


def test_the_login_and_the_calls_speak_fincrux(rig: Rig) -> None:
    auth = rig.auth(refresh_margin=60)
    fetch = rig.open(auth)
    fetch("GET", rig.url())
    first = auth.token
    assert first is not None
    make_due(auth)
    fetch("GET", rig.url())  # refreshed

    login, api, refresh, again = rig.emulator.calls
    assert (login.method, login.path) == ("POST", LOGIN_PATH)
    assert login.headers["Content-Type"] == "application/json"
    assert login.json() == rig.emulator.credentials()
    assert api.headers["Authorization"] == f"JWT {first.access_token}"
    assert (refresh.method, refresh.path) == ("POST", REFRESH_PATH)
    assert refresh.json() == {"refresh": first.refresh_token}
    assert again.headers["Authorization"].startswith("JWT ")


FINCRUX_BAD_ANSWERS = [
    pytest.param({"success": "false", "message": "nope"}, LoginError, id="success-false"),
    pytest.param({"email": "someone@example.com"}, LoginError, id="no-success"),
    pytest.param({"success": "true", "refresh": "x"}, ProviderResponseError, id="no-access"),
    pytest.param({"success": "true", "access": None}, ProviderResponseError, id="null-access"),
    pytest.param({"success": "true", "access": 12345}, ProviderResponseError, id="int-access"),
    pytest.param({"success": "true", "access": ""}, ProviderResponseError, id="empty-access"),
]


@pytest.mark.parametrize(("body", "expected"), FINCRUX_BAD_ANSWERS)
def test_a_fincrux_login_answer_without_a_usable_token(
    rig: Rig, fetch: Fetch, body: object, expected: type[FinauthError]
) -> None:
    rig.emulator.fail_next_login(200, body)

    with pytest.raises(FinauthError) as caught:
        fetch("GET", rig.url())

    assert_reported(rig, caught.value, expected)


def test_the_api_key_goes_in_the_query_and_replaces_authorization(rig: Rig) -> None:
    fetch = rig.open(FincruxAPIKeyAuth(api_key(rig), base_url=rig.base_url))

    answer = fetch(
        "GET",
        rig.url(rig.emulator.sample_path + "?exchange=NSE&api_key=stale&q=a%20b"),
        headers={"Authorization": "JWT left-over"},
    )

    assert answer.status_code == 200
    (call,) = rig.emulator.calls
    assert call.query == f"exchange=NSE&q=a%20b&api_key={api_key(rig)}"
    assert "Authorization" not in call.headers
    assert rig.emulator.logins == 0


def test_the_api_key_is_not_sent_to_other_origins(rig: Rig) -> None:
    fetch = rig.open(FincruxAPIKeyAuth(api_key(rig), base_url=rig.base_url))
    for url in other_origins(rig):
        assert fetch("GET", url).status_code == 401
    assert not [call for call in rig.emulator.calls if "api_key" in call.params]
