"""What users configure, checked at construction (R8)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable

import httpx
import pytest
import requests

from finauth import ConfigurationError, FincruxJWTAuth
from finauth._config import (
    credential,
    from_environ,
    header_value,
    path_segment,
    printable,
    seconds,
)

# --- credential --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["s3cret", " padded ", "x"])
def test_credential_returns_the_value_untouched(value: str) -> None:
    assert credential("Acme", "password", value) == value


@pytest.mark.parametrize("value", ["", " ", "\t\n", None, 123, b"bytes", ["pw"]])
def test_credential_rejects_empty_or_non_strings(value: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        credential("Acme", "tenant_secret", value)
    assert caught.value.provider == "Acme"
    message = str(caught.value)
    assert message.startswith("Acme: ")
    assert "tenant_secret" in message


def test_credential_error_never_repeats_the_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        credential("Acme", "password", b"bytes-are-not-a-password")
    assert "bytes-are-not-a-password" not in str(caught.value)


# --- what goes into a request as it is (R16) ----------------------------------------------


@pytest.mark.parametrize("value", ["tenant_01-x.y", "your tenant id", "a\tb"])
def test_header_value_takes_visible_ascii_and_spaces_between(value: str) -> None:
    """RFC 9110 allows spaces inside a header's value (the quickstarts' "your tenant id")."""
    assert header_value("Acme", "tenant_id", value, "X-Tenant-ID") == value


@pytest.mark.parametrize(
    "value", ["t\r\nX-Evil: 1", "t\n", "t\x00", " t-1", "t-1 ", "tenänt", "", None]
)
def test_header_value_rejects_anything_else_naming_only_the_argument(value: object) -> None:
    with pytest.raises(ConfigurationError, match="Acme: tenant_id") as caught:
        header_value("Acme", "tenant_id", value, "X-Tenant-ID")
    if isinstance(value, str) and value.strip():
        assert "X-Tenant-ID header" in str(caught.value)
        assert value not in str(caught.value)


@pytest.mark.parametrize("value", ["key-1", "a key with spaces", "ключ"])
def test_printable_takes_any_printable_text(value: str) -> None:
    assert printable("Acme", "api_key", value) == value


@pytest.mark.parametrize("value", ["k\r\n", "k\x00", "k\x7f", "k\u2028", "k\t", "", None])
def test_printable_rejects_control_characters(value: object) -> None:
    with pytest.raises(ConfigurationError, match="Acme: api_key") as caught:
        printable("Acme", "api_key", value)
    if isinstance(value, str) and value.strip():
        assert value not in str(caught.value)


@pytest.mark.parametrize("value", ["org", "...", ".a", "a/..", "%2e%2e"])
def test_path_segment_takes_all_but_dot_segments(value: str) -> None:
    assert path_segment("Acme", "user_id", value) == value


@pytest.mark.parametrize("value", [".", "..", "", None])
def test_path_segment_rejects_dot_segments(value: object) -> None:
    with pytest.raises(ConfigurationError, match="Acme: user_id"):
        path_segment("Acme", "user_id", value)


# --- seconds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "allow_zero", "expected"),
    [(60, False, 60.0), (0.5, False, 0.5), (0, True, 0.0), (0.0, True, 0.0), (300, True, 300.0)],
)
def test_seconds_accepts_finite_non_negative_numbers(
    value: float, allow_zero: bool, expected: float
) -> None:
    result = seconds("Acme", "timeout", value, allow_zero=allow_zero)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    ("value", "allow_zero"),
    [
        (-1, True),
        (-0.001, True),
        (0, False),
        (0.0, False),
        (math.nan, True),
        (math.inf, True),
        (-math.inf, True),
        (True, True),
        (False, True),
        ("30", True),
        (None, True),
    ],
)
def test_seconds_rejects_the_rest(value: object, allow_zero: bool) -> None:
    with pytest.raises(ConfigurationError) as caught:
        seconds("Acme", "refresh_margin", value, allow_zero=allow_zero)  # type: ignore[arg-type]
    assert caught.value.provider == "Acme"
    message = str(caught.value)
    assert "Acme" in message
    assert "refresh_margin" in message
    assert ("zero or more" if allow_zero else "more than zero") in message


# --- from_environ ------------------------------------------------------------------------


def test_from_environ_returns_values_in_order() -> None:
    environ = {"B_VAR": "b-value", "A_VAR": "a-value", "OTHER": "x"}
    assert from_environ(environ, "Acme", "A_VAR", "B_VAR") == ["a-value", "b-value"]


@pytest.mark.parametrize(
    ("environ", "missing", "present"),
    [
        ({}, ["ACME_EMAIL", "ACME_PASSWORD", "ACME_TOKEN"], []),
        ({"ACME_EMAIL": "me@example.com"}, ["ACME_PASSWORD", "ACME_TOKEN"], ["ACME_EMAIL"]),
        (
            {"ACME_EMAIL": "me@example.com", "ACME_PASSWORD": "", "ACME_TOKEN": "tok-SECRET"},
            ["ACME_PASSWORD"],
            ["ACME_EMAIL", "ACME_TOKEN"],
        ),
    ],
)
def test_from_environ_names_every_missing_variable_and_no_value(
    environ: dict[str, str], missing: list[str], present: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        from_environ(environ, "Acme", "ACME_EMAIL", "ACME_PASSWORD", "ACME_TOKEN")
    assert caught.value.provider == "Acme"
    message = str(caught.value)
    assert message.startswith("Acme: ")
    for name in missing:
        assert name in message
    for name in present:
        assert name not in message
    for value in environ.values():
        if value:
            assert value not in message


# --- bind ----------------------------------------------------------------------------------


HTTPX2 = pytest.mark.optional_client


@pytest.mark.parametrize(
    "client",
    [
        httpx.Client,
        pytest.param(lambda: importlib.import_module("httpx2").Client(), marks=HTTPX2),
        requests.Session,
        lambda: "a client",
    ],
)
def test_bind_takes_only_an_httpx_async_client(client: Callable[[], object]) -> None:
    auth = FincruxJWTAuth("me@example.org", "s3cret")
    with pytest.raises(
        ConfigurationError, match=r"^Fincrux: bind\(\) takes an httpx or httpx2 AsyncClient"
    ):
        auth.bind(client())  # type: ignore[arg-type]


@pytest.mark.parametrize("package", ["httpx", pytest.param("httpx2", marks=HTTPX2)])
def test_bind_sets_the_clients_auth_and_returns_the_client(package: str) -> None:
    library = importlib.import_module(package)
    auth = FincruxJWTAuth("me@example.org", "s3cret")
    client = library.AsyncClient()
    assert auth.bind(client) is client
    assert isinstance(client.auth, library.Auth)
    assert client.auth is not auth
    assert repr(client.auth) == f"{auth!r}.bind(...)"
