"""The leak sweep itself: it finds a secret wherever the suite promises to look."""

from __future__ import annotations

import logging

import pytest

from finauth import ConfigurationError, FincruxAPIKeyAuth, FincruxJWTAuth, LoginError
from leak_sweep import Sweep

PASSWORD = "a-password-to-leak"
API_KEY = "an-api-key-to-leak"


def test_a_password_in_any_logger_is_found(leak_sweep: Sweep) -> None:
    FincruxJWTAuth("analyst@example.com", PASSWORD)
    logging.getLogger("somebody.else").debug("signing in with %s", PASSWORD)

    assert leak_sweep.leaks() == [
        "the password of a FincruxJWTAuth in a log record of 'somebody.else'"
    ]
    leak_sweep.forget()  # leave the test itself clean


def test_a_secret_in_an_error_is_found(leak_sweep: Sweep) -> None:
    FincruxJWTAuth("analyst@example.com", PASSWORD)
    LoginError(f"refused {PASSWORD}")

    assert leak_sweep.leaks() == [
        "the password of a FincruxJWTAuth in the repr of a LoginError",
        "the password of a FincruxJWTAuth in the str of a LoginError",
    ]
    leak_sweep.forget()


def test_the_api_key_is_exempt_only_in_the_clients_url_logs(leak_sweep: Sweep) -> None:
    FincruxAPIKeyAuth(API_KEY)
    logging.getLogger("urllib3.connectionpool").debug("GET /search?api_key=%s", API_KEY)
    assert leak_sweep.leaks() == []

    logging.getLogger("finauth").debug("sent %s", API_KEY)
    assert leak_sweep.leaks() == ["the api_key of a FincruxAPIKeyAuth in a log record of 'finauth'"]
    leak_sweep.forget()


def test_short_values_are_not_secrets(leak_sweep: Sweep) -> None:
    with pytest.raises(ConfigurationError, match="password is empty"):
        FincruxJWTAuth("analyst@example.com", "")
    leak_sweep.secret("abc", "a short token")
    logging.getLogger("finauth").debug("abc")

    assert leak_sweep.leaks() == []
