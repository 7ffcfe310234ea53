"""`AuthCall` and `Answer`: the neutral wire values, and the R8 errors read off them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, quote_plus

import jwt
import pytest

from finauth import LoginError, ProviderResponseError, RateLimitedError
from finauth._wire import (
    EXCERPT_LENGTH,
    MASKED_LENGTH,
    MAX_ANSWER_BYTES,
    Answer,
    AuthCall,
    fits_cookie_value,
    fits_header_value,
)

URL = "https://api.example.com/api/auth/login"
ENDPOINT = f"POST {URL}"
PASSWORD = "Sup3r-Secret-Pa55"
JWT = jwt.encode(
    {"token_type": "access", "exp": 1_900_000_000},
    "a-test-signing-key-of-32-bytes-or-more!!",
    algorithm="HS256",
)


def login_call(password: str = PASSWORD, **headers: str) -> AuthCall:
    return AuthCall.post_json(
        "Acme", "login", URL, {"email": "me@example.com", "password": password}, headers
    )


def answer(
    body: bytes | str | dict[str, Any] | list[Any],
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = (),
    call: AuthCall | None = None,
) -> Answer:
    if isinstance(body, dict | list):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    return Answer(call or login_call(), status, headers, body)


# --- AuthCall ----------------------------------------------------------------------------


def test_post_json_is_an_exact_json_post() -> None:
    call = AuthCall.post_json("Acme", "login", URL, {"email": "me@example.com", "password": "pw"})
    assert call.provider == "Acme"
    assert call.purpose == "login"
    assert call.method == "POST"
    assert call.url == URL
    assert call.endpoint == ENDPOINT
    assert call.body == b'{"email": "me@example.com", "password": "pw"}'
    assert dict(call.headers) == {
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def test_post_json_adds_and_overrides_headers() -> None:
    call = AuthCall.post_json(
        "Acme", "refresh", URL, {"refresh": "r"}, {"X-Tenant-ID": "t-1", "Accept": "*/*"}
    )
    assert dict(call.headers) == {
        "Content-Type": "application/json",
        "Accept": "*/*",
        "X-Tenant-ID": "t-1",
    }


def test_post_json_body_round_trips_any_text() -> None:
    payload = {"email": "émile@example.com", "password": 'p"w\\d ü 🔑'}
    call = AuthCall.post_json("Acme", "login", URL, payload)
    assert json.loads(call.body) == payload
    call.body.decode("ascii")  # escaped, so any server's JSON parser reads it


def test_auth_call_repr_has_no_body() -> None:
    text = repr(login_call())
    assert PASSWORD not in text
    assert "Acme" in text
    assert URL in text


def test_secrets_lists_body_strings_and_header_credentials() -> None:
    call = AuthCall(
        "Acme",
        "refresh",
        "POST",
        URL,
        {"Authorization": "Bearer the-access", "Cookie": "DT_REFRESH_TOKEN=the-refresh; b=2"},
        json.dumps({"refreshToken": "rt", "nested": {"list": ["in-list", ""]}, "n": 3}).encode(),
    )
    assert set(call.secrets()) == {"rt", "in-list", "the-access", "the-refresh", "2"}


def test_secrets_come_in_every_form_a_server_may_echo() -> None:
    """R18: as typed, JSON-escaped (ASCII-only or not, once or twice) and URL-encoded."""
    secret = 'pä"s s/\\'
    secrets = set(login_call(secret).secrets())
    escaped = json.dumps(secret)[1:-1]
    for form in (
        secret,
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(escaped)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    ):
        assert form in secrets


def test_secrets_takes_a_bare_authorization_header_whole() -> None:
    call = AuthCall("Acme", "refresh", "POST", URL, {"Authorization": "opaque-key"})
    assert list(call.secrets()) == ["opaque-key"]


@pytest.mark.parametrize("body", [b"", b"not json", b"[" * 100_000, b"\xff\xfe"])
def test_secrets_tolerates_any_body(body: bytes) -> None:
    call = AuthCall("Acme", "login", "POST", URL, {}, body)
    assert list(call.secrets()) == []


# --- Answer headers ----------------------------------------------------------------------


HEADERS = (
    ("Content-Type", "application/json"),
    ("Set-Cookie", "DT_AUTH_TOKEN=a; HttpOnly"),
    ("X-Other", "x"),
    ("set-cookie", "DT_REFRESH_TOKEN=r; HttpOnly"),
    ("SET-COOKIE", "third=3"),
)


@pytest.mark.parametrize("name", ["content-type", "Content-Type", "CONTENT-TYPE"])
def test_header_is_case_insensitive(name: str) -> None:
    assert answer(b"{}", headers=HEADERS).header(name) == "application/json"


def test_header_values_keeps_every_repeat_in_order() -> None:
    a = answer(b"{}", headers=HEADERS)
    expected = ["DT_AUTH_TOKEN=a; HttpOnly", "DT_REFRESH_TOKEN=r; HttpOnly", "third=3"]
    assert a.header_values("Set-Cookie") == expected
    assert a.header_values("set-cookie") == expected
    assert a.header("Set-Cookie") == "DT_AUTH_TOKEN=a; HttpOnly"


def test_missing_header() -> None:
    a = answer(b"{}", headers=HEADERS)
    assert a.header("Retry-After") is None
    assert a.header_values("Retry-After") == []


def test_received_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(timezone.utc)
    a = answer(b"{}")
    assert before <= a.received_at <= datetime.now(timezone.utc)
    assert a.received_at.utcoffset() == timedelta(0)


# --- json_object -------------------------------------------------------------------------


def test_json_object_returns_the_object() -> None:
    assert answer({"success": "true", "n": [1, 2]}).json_object() == {
        "success": "true",
        "n": [1, 2],
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"<html><body>502 Bad Gateway</body></html>", "not JSON", id="html"),
        pytest.param(b'{"access": "abc", "refr', "not JSON", id="truncated"),
        pytest.param(b"", "not JSON", id="empty"),
        pytest.param(b"\xff\xfe\xfa garbage", "not JSON", id="not-utf8"),
        pytest.param(b"[" * 100_000, "not JSON", id="deeply-nested"),
        pytest.param(b'{"a":' * 100_000, "not JSON", id="deeply-nested-objects"),
        pytest.param(b"[1, 2, 3]", "not an object", id="list"),
        pytest.param(b'"a string"', "not an object", id="string"),
        pytest.param(b"null", "not an object", id="null"),
        pytest.param(b"1" * 5000, "not JSON", id="huge-int"),
    ],
)
def test_json_object_rejects_everything_else(body: bytes, reason: str) -> None:
    """R8: an unusable answer is a ProviderResponseError, never JSONDecodeError etc."""
    with pytest.raises(ProviderResponseError) as caught:
        answer(body, status=502).json_object()
    error = caught.value
    assert reason in str(error)
    assert error.status_code == 502
    assert error.provider == "Acme"
    assert error.endpoint == ENDPOINT
    assert len(error.excerpt) <= EXCERPT_LENGTH + 3


# --- the errors --------------------------------------------------------------------------


def test_too_large_names_the_call_and_what_to_check() -> None:
    error = login_call().too_large(200)
    assert isinstance(error, ProviderResponseError)
    assert (error.provider, error.endpoint, error.status_code) == ("Acme", ENDPOINT, 200)
    assert error.excerpt == ""
    message = str(error)
    for part in ("Acme login at " + ENDPOINT, "larger than 1 MiB", "read no further", "base_url"):
        assert part in message


@pytest.mark.parametrize("status", [200, 401, 429, 502])
def test_an_answer_over_the_cap_is_too_large_whatever_its_status(status: int) -> None:
    """R15, defence in depth: the adapters stop reading at the cap; an Answer built some
    other way is refused all the same, before its status or body is looked at."""
    with pytest.raises(ProviderResponseError, match="larger than 1 MiB"):
        answer(b"x" * (MAX_ANSWER_BYTES + 1), status=status).raise_for_status("the password")
    answer(b"{}" + b" " * (MAX_ANSWER_BYTES - 2)).raise_for_status("the password")


def test_unusable_carries_what_to_check() -> None:
    error = answer(b"<h1>Gateway Timeout</h1>", status=504).unusable("it has no token")
    assert isinstance(error, ProviderResponseError)
    assert error.provider == "Acme"
    assert error.endpoint == ENDPOINT
    assert error.status_code == 504
    assert error.excerpt == "<h1>Gateway Timeout</h1>"
    message = str(error)
    for part in ("Acme", "login", ENDPOINT, "HTTP 504", "it has no token", "base_url"):
        assert part in message
    assert "<h1>Gateway Timeout</h1>" in message


@pytest.mark.parametrize(
    ("body", "provider_message"),
    [
        ({"message": "Invalid credentials"}, "Invalid credentials"),
        ({"detail": "No active account found"}, "No active account found"),
        ({"error_description": "bad user", "error": "invalid_grant"}, "bad user"),
        ({"error": "invalid_grant"}, "invalid_grant"),
        ({"code": 401, "data": {"message": "Session refused"}}, "Session refused"),
        ({"message": "", "detail": "fallback"}, "fallback"),
        (
            {"non_field_errors": ["Unable to log in with provided credentials."]},
            "Unable to log in with provided credentials.",
        ),
        ({"detail": ["Token is blacklisted", "x"]}, "Token is blacklisted"),
        ({"email": ["Enter a valid email address."]}, "email: Enter a valid email address."),
        (
            {"email": [], "tenant": ["Unknown tenant."], "other": ["Second."]},
            "tenant: Unknown tenant.",
        ),
        ({"data": {"non_field_errors": ["Refused in data."]}}, "Refused in data."),
        ({"code": 401, "data": {"username": ["No such user."]}}, "username: No such user."),
        ({"password": ["opaque-VALUE-42"], "refresh": ["opaque-VALUE-43"]}, None),
        ({"message": 42}, None),
        ({"success": "false"}, None),
        ([1, 2], None),
        ("<html>Unauthorized</html>", None),
    ],
)
def test_rejected_is_a_login_error(body: Any, provider_message: str | None) -> None:
    error = answer(body, status=401).rejected("the email and password")
    assert isinstance(error, LoginError)
    assert error.provider == "Acme"
    assert error.endpoint == ENDPOINT
    assert error.status_code == 401
    assert error.provider_message == provider_message
    message = str(error)
    for part in ("Acme", ENDPOINT, "HTTP 401", "Check the email and password"):
        assert part in message
    if provider_message:
        assert provider_message in message


def test_provider_message_is_masked_and_short() -> None:
    body = {"detail": f"password {PASSWORD} is wrong for token {JWT}" + " more" * 100}
    message = answer(body, status=401).provider_message()
    assert message is not None
    assert PASSWORD not in message
    assert JWT not in message
    assert "password *** is wrong for token ***" in message
    assert len(message) <= EXCERPT_LENGTH


def _json_twice(secret: str) -> str:
    """`secret` in a JSON string, that string in another."""
    return json.dumps(json.dumps(secret))[1:-1]


ECHOES: dict[str, Callable[[str], str]] = {
    "json-ascii": lambda p: json.dumps(p)[1:-1],
    "json": lambda p: json.dumps(p, ensure_ascii=False)[1:-1],
    "json-in-json": _json_twice,
    "quote": lambda p: quote(p, safe=""),
    "quote-plus": quote_plus,
}
SHAPES = ("text", "json-message", "json-in-a-string")


@pytest.mark.parametrize(
    ("echo", "shape"),
    [
        pytest.param(echo, shape, id=f"{name}-{shape}")
        for name, echo in ECHOES.items()
        for shape in SHAPES
        # Two levels of JSON are masked, not three: an echo escaped twice, in a string
        # that holds JSON, is no form finauth sent.
        if (name, shape) != ("json-in-json", "json-in-a-string")
    ],
)
def test_an_echoed_secret_is_masked_in_every_form_it_was_sent(
    echo: Callable[[str], str], shape: str
) -> None:
    """R18: a server echoes what it parsed, re-encoded: JSON-escaped or URL-encoded."""
    password = 'pä"ss \\wörd/+é'
    said = f"bad password {echo(password)}!"
    body: Any = {
        "text": f"<p>{said}</p>",
        "json-message": {"detail": said},
        "json-in-a-string": {"detail": json.dumps({"echo": said})},
    }[shape]
    reply = answer(body, status=401, call=login_call(password))
    assert "***" in reply.excerpt()
    texts = [reply.excerpt(), str(reply.rejected("the password")), reply.provider_message() or ""]
    for text in texts:
        for form in (password, echo(password), "p\\u00e4", "p%C3%A4", "ss \\"):
            assert form not in text


@pytest.mark.parametrize(
    ("retry_after", "seconds", "says"),
    [("7", 7.0, "wait 7 s"), (None, None, "wait a while"), ("soon", None, "wait a while")],
)
def test_rate_limited_carries_retry_after(
    retry_after: str | None, seconds: float | None, says: str
) -> None:
    headers = () if retry_after is None else (("Retry-After", retry_after),)
    error = answer({"detail": "slow down"}, status=429, headers=headers).rate_limited(3)
    assert isinstance(error, RateLimitedError)
    assert error.provider == "Acme"
    assert error.endpoint == ENDPOINT
    assert error.retry_after == seconds
    message = str(error)
    for part in ("Acme", ENDPOINT, "429", "3 attempts", says):
        assert part in message


def test_rate_limited_reads_an_http_date() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=60), usegmt=True)
    error = answer(b"", status=429, headers=(("retry-after", when),)).rate_limited(3)
    assert error.retry_after is not None
    assert 58 <= error.retry_after <= 60


# --- excerpt: short and secret-free (R10) ------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"<html>login failed for password {PASSWORD}</html>", id="html"),
        pytest.param({"detail": f"wrong password: {PASSWORD}"}, id="json-message"),
        pytest.param({"echo": {"pw": [PASSWORD]}}, id="json-nested"),
        pytest.param(f'{{"broken": "{PASSWORD}', id="truncated-json"),
    ],
)
def test_excerpt_masks_the_password_sent(body: Any) -> None:
    excerpt = answer(body, status=400).excerpt()
    assert PASSWORD not in excerpt
    assert "***" in excerpt


@pytest.mark.parametrize(
    "password",
    [
        pytest.param('quote"in-it', id="double-quote"),
        pytest.param("back\\slash", id="backslash"),
        pytest.param("pässwörd-ünïcode", id="non-ascii"),
        pytest.param("tab\tinside", id="control-char"),
    ],
)
def test_excerpt_masks_passwords_json_would_escape(password: str) -> None:
    """R10: a password echoed in a JSON body must not survive as its JSON-escaped form."""
    body = {"detail": f"bad password {password}"}
    excerpt = answer(body, status=400, call=login_call(password)).excerpt()
    escaped = json.dumps(password)[1:-1]
    assert password not in excerpt
    assert escaped not in excerpt
    assert "bad password ***" in excerpt


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"<p>token={JWT}</p>", id="html"),
        pytest.param({"detail": f"expired: {JWT}"}, id="json-message"),
        pytest.param({"items": [JWT]}, id="json-list"),
    ],
)
def test_excerpt_masks_jwt_looking_strings(body: Any) -> None:
    excerpt = answer(body, status=401).excerpt()
    assert "eyJ" not in excerpt
    assert JWT.split(".")[1] not in excerpt
    assert "***" in excerpt


@pytest.mark.parametrize(
    "key",
    [
        "access",
        "refresh",
        "token",
        "refreshToken",
        "access_token",
        "api_key",
        "apiKey",
        "tenantSecret",
        "tenantKey",
        "sessionId",
        "password",
        "Set-Cookie",
    ],
)
def test_excerpt_masks_secret_ish_json_keys(key: str) -> None:
    body = {"success": "true", "data": {key: "opaque-VALUE-42"}, "full_name": "Ada"}
    excerpt = answer(body).excerpt()
    assert "opaque-VALUE-42" not in excerpt
    assert f'"{key}": "***"' in excerpt
    assert '"full_name": "Ada"' in excerpt
    assert '"success": "true"' in excerpt


def test_excerpt_masks_header_credentials_of_the_call() -> None:
    call = AuthCall(
        "Acme", "refresh", "POST", URL, {"Authorization": "Bearer live-access-ABC"}, b""
    )
    excerpt = answer("<p>token live-access-ABC refused</p>", status=401, call=call).excerpt()
    assert "live-access-ABC" not in excerpt
    assert excerpt == "<p>token *** refused</p>"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x" * 10_000, id="long-text"),
        pytest.param({"items": list(range(5_000))}, id="long-json"),
        pytest.param(" \n\t" * 2_000 + "tail", id="whitespace"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
    ],
)
def test_excerpt_is_short(body: Any) -> None:
    excerpt = answer(body, status=500).excerpt()
    assert len(excerpt) <= EXCERPT_LENGTH + len("...")
    assert "\n" not in excerpt
    assert "\t" not in excerpt


def test_excerpt_masks_a_password_far_into_a_body_that_is_no_json() -> None:
    """R10: masked before the cut, so the start of a secret never survives it."""
    excerpt = answer(b" " * 630 + PASSWORD.encode(), status=502).excerpt()
    assert excerpt == "***"


@pytest.mark.parametrize("value", [f"tenant {PASSWORD}", {"pw": [PASSWORD]}, PASSWORD * 3])
def test_quoted_masks_and_bounds_a_value_from_the_body(value: object) -> None:
    quoted = answer({}).quoted(value)
    assert PASSWORD not in quoted
    assert PASSWORD[:8] not in quoted
    assert len(quoted) <= 40 + len("...")


def test_quoted_shows_a_plain_value_as_json() -> None:
    assert answer({}).quoted(500) == "500"
    assert answer({}).quoted("x" * 50) == '"' + "x" * 39 + "..."


def test_quoted_shows_the_start_of_a_value_nested_however_deeply() -> None:
    """R15: written with a stack, not recursion, and no further than is shown."""
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    assert answer({}).quoted(nested) == "[" * 40 + "..."


def test_excerpt_of_a_short_body_is_the_body() -> None:
    assert answer("Service  Unavailable\n", status=503).excerpt() == "Service Unavailable"
    assert answer({"a": 1}).excerpt() == '{"a": 1}'


# --- bounded work (R15) --------------------------------------------------------------------


def _masking_time(body: bytes) -> float:
    """The best of three: excerpt, provider message and an unusable answer's error."""
    best = float("inf")
    for _ in range(3):
        reply = answer(body, status=401)
        start = time.perf_counter()
        reply.excerpt()
        reply.provider_message()
        reply.unusable("a test")
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize(
    "unit",
    [b"eyJ", b"eyJa.b", b"eyJ.", b"eyJ ", b"eyJ\r\n", PASSWORD.encode(), b"\\u00e9"],
)
@pytest.mark.parametrize("wrap", [False, True], ids=["text", "json"])
def test_masking_a_flood_costs_what_masking_plain_text_does(unit: bytes, wrap: bool) -> None:
    """R15: "eyJeyJ..." once took quadratic time (120 KB: 13 s). A ratio to a plain body of
    the same size and shape, not a wall-clock bound, so that a slow machine does not fail."""

    def body(fill: bytes) -> bytes:
        text = fill * (120_000 // len(fill))
        return b'{"detail": "' + text + b'"}' if wrap else text

    hostile, plain = _masking_time(body(unit)), _masking_time(body(b"a"))
    assert hostile < 20 * max(plain, 1e-4)


def test_masking_looks_at_a_bounded_prefix() -> None:
    """R15: what is shown of 1 MiB costs no more than what is shown of 100 KB."""
    small = _masking_time(b"a." * 50_000)
    large = _masking_time(b"a." * (MAX_ANSWER_BYTES // 2))
    assert large < 5 * max(small, 1e-4)


@pytest.mark.parametrize("wrap", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("secret", [PASSWORD, JWT])
def test_a_secret_that_the_masked_prefix_ends_in_never_shows_its_start(
    secret: str, wrap: bool
) -> None:
    """Masked first, cut after (R10 with R15): at every offset around the end of the prefix
    masking looks at, whitespace before it (which the excerpt collapses) and after it."""
    for offset in range(MASKED_LENGTH - 20, MASKED_LENGTH + 3 * 150, 7):
        text = " " * offset + secret + " and more" * 100
        excerpt = answer({"detail": text} if wrap else text, status=502).excerpt()
        assert secret[:4] not in excerpt


@pytest.mark.parametrize("wrap", [False, True], ids=["text", "json"])
def test_secrets_masked_before_the_end_of_the_prefix_do_not_pull_a_cut_one_in(
    wrap: bool,
) -> None:
    """Masking shrinks the text: a secret the prefix ends in must not move into view."""
    text = PASSWORD * 1000
    excerpt = answer({"detail": text} if wrap else text, status=502).excerpt()
    assert excerpt.strip('{}"*.: detail') == ""
    assert PASSWORD[:2] not in excerpt


# --- what a header or a cookie holds (R16) -------------------------------------------------


@pytest.mark.parametrize("value", [JWT, "opaque-Tok_en.1~+/=", "a!#$%&'*^`|", '"q";,\\'])
def test_a_header_value_is_visible_ascii(value: str) -> None:
    assert fits_header_value(value)


@pytest.mark.parametrize(
    "value", ["", "a b", "a\tb", "tok\r\nX-Evil: 1", "tok\n", "\x00", "tok\x7f", "tök", "a\u2028"]
)
def test_a_header_value_holds_nothing_else(value: str) -> None:
    assert not fits_header_value(value)


@pytest.mark.parametrize("value", [JWT, "opaque-Tok_en.1~+/=", "a!#$%&'()*+-./:<=>?@[]^_`{|}~"])
def test_a_cookie_value_is_cookie_octets(value: str) -> None:
    assert fits_cookie_value(value)


@pytest.mark.parametrize(
    "value", ["", "a b", 'a"b', "a,b", "a;b", "a\\b", "tok\r\n", "\x00", "tök", "a\tb"]
)
def test_a_cookie_value_holds_nothing_else(value: str) -> None:
    assert not fits_cookie_value(value)


def test_answer_repr_has_no_body() -> None:
    text = repr(answer({"access": JWT}))
    assert JWT not in text
    assert "HTTP 200" in text
