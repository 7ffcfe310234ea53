"""Property tests of every provider's response parsing (SPEC R7, R8, R10).

Whatever a login or refresh endpoint answers (any status, any headers, any body),
the step the flow takes with the answer (`Answer.raise_for_status`, then the
provider's `read_login` or `read_refresh`) ends in one of these, and nothing else
escapes:

- outside 2xx the status alone decides, before any parsing: 429 is a
  `RateLimitedError` (the flow has already retried it), 400, 401 and 403 a
  `LoginError`, and every other status (1xx, 3xx, other 4xx, all 5xx) a
  `ProviderResponseError`;
- a 2xx gives a `Token` that keeps Token's invariants, a `ProviderResponseError`
  (no usable token), or a `LoginError` where the body itself says the
  credentials were refused (Fincrux's login `success`, FinHub's envelope `code`
  or `data.success`). Finvera never answers a 2xx with a LoginError.

Every error names the provider and the endpoint, and no error text, excerpt or
Token repr holds a credential, a token the call sent or a token the answer held
(R10): generated tokens carry MARKER and the account's secrets ACCOUNT_MARKER, so that
a leak of one, or of part of one, shows.

Three kinds of answer: any JSON value with any headers; near misses, which build a
provider's real success answer (seeds 000 to 002) and break one thing, working out
alongside what R7 and R8 make of it; and bodies that are no JSON object at all. The
generated answers echo the secrets the call sent (credentials on a login, tokens on a
refresh), anywhere, as a careless server might. The `@example`s pin what these tests
found in src/.

Example counts come from the profiles in tests/conftest.py: 300 per test by
default, 10,000 with `--hypothesis-profile=fuzz` (`nox -s fuzz`).
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from finauth import FinauthError, LoginError, ProviderResponseError, RateLimitedError, Token
from finauth._origin import BaseURL, parse_base_url
from finauth._provider import Provider
from finauth._retry import MAX_ATTEMPTS, RETRY_STATUSES
from finauth._wire import EXCERPT_LENGTH, MAX_ANSWER_BYTES, Answer
from finauth.providers.fincrux import Fincrux
from finauth.providers.finhub import FinHub
from finauth.providers.finvera import Finvera
from finauth.stores.base import dump_token, load_token
from leak_sweep import Sweep

UTC = timezone.utc
RECEIVED = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)
DEFAULT_LIFETIME = 3600.0
MARKER = "MaRkEr"
"""In every token value the strategies generate, so that a leak of one shows."""
ACCOUNT_MARKER = "CrEdEnTiAl"
"""In every credential and stored token, so that a leak of even part of one shows."""
SENT = ("\x00sent0\x00", "\x00sent1\x00", "\x00sent2\x00")
"""Stand, in a generated answer, for the secrets the call sent: `Parser.echo` puts them in."""

Purpose = Literal["login", "refresh"]
Headers = tuple[tuple[str, str], ...]
Outcome = Token | FinauthError


# --- the parsers under test --------------------------------------------------------------


def signed(claims: object, header: object = None, signature: str = f"sig-{MARKER}00") -> str:
    """A JWS in compact form. A client never checks the signature, so any will do: this one
    carries a marker, so that a JWT that leaks shows."""
    parts = [header or {"alg": "HS256", "typ": "JWT"}, claims]
    return ".".join([*(_b64(json.dumps(part).encode()) for part in parts), signature])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _base(url: str, name: str) -> BaseURL:
    return parse_base_url(url, provider=name, allow_insecure=False)


PROVIDERS: dict[str, Provider] = {
    "Fincrux": Fincrux(
        "ada@example.com", "fincrux-CrEdEnTiAl-horse", _base("https://api.fincrux.org", "Fincrux")
    ),
    "Finvera": Finvera(
        "grace@example.com",
        'finvera-CrEdEnTiAl-"Ünï"',
        _base("https://api.finvera.news", "Finvera"),
    ),
    "FinHub": FinHub(
        "f3a4b5c6-d7e8-49f0-1a2b-3c4d5e6f7a8b",
        "e2f3a4b5-c6d7-48e9-0f1a-2b3c4d5e6f7a",
        "tenant_cloudvault",
        "admin@cloudvault.test",
        "finhub-CrEdEnTiAl-Ωmega",
        "cvK-CrEdEnTiAl-tenant-key",
        "tenant-CrEdEnTiAl-secret",
        _base("https://sandbox.finhub.cloud", "FinHub"),
    ),
}
CREDENTIALS = {
    "Fincrux": ("fincrux-CrEdEnTiAl-horse",),
    "Finvera": ('finvera-CrEdEnTiAl-"Ünï"',),
    "FinHub": ("finhub-CrEdEnTiAl-Ωmega", "cvK-CrEdEnTiAl-tenant-key", "tenant-CrEdEnTiAl-secret"),
}
FINHUB_SESSION = "ed8e1ef7-d885-4753-88ad-afc5aedfac7b"
PREVIOUS = {
    "Fincrux": Token(
        signed({"token_type": "access", "exp": 1}, signature=f"{ACCOUNT_MARKER}00"),
        "fincrux-CrEdEnTiAl-old-refresh",
        RECEIVED,
        RECEIVED,
    ),
    "Finvera": Token(
        "finvera-CrEdEnTiAl-old-access", "finvera-CrEdEnTiAl-old-refresh", RECEIVED, RECEIVED
    ),
    "FinHub": Token(
        signed({"sub": "old", "iat": 1, "exp": 2}, signature=f"{ACCOUNT_MARKER}00"),
        "finhub-CrEdEnTiAl-old-refresh",
        RECEIVED,
        RECEIVED,
        {"session_id": FINHUB_SESSION},
    ),
}
"""The token a refresh renews, as a store would hold it."""


class Parser:
    """One provider's reader of one kind of answer, driven as the flow drives it."""

    def __init__(self, name: str, purpose: Purpose) -> None:
        self.name, self.purpose = name, purpose
        self.provider = PROVIDERS[name]
        self.previous = previous = PREVIOUS[name]
        assert previous.refresh_token is not None
        credentials = CREDENTIALS[name]
        if purpose == "login":
            self.call = self.provider.login_call()
            self.check = self.provider.check
            self.sent = credentials
        else:
            call = self.provider.refresh_call(previous)
            assert call is not None
            self.call = call
            self.check = "that the refresh token is valid"
            # FinHub's refresh carries `Authorization: Bearer <access>` too.
            bearer = (previous.access_token,) if name == "FinHub" else ()
            self.sent = (*bearer, previous.refresh_token)
        self.secrets = (*credentials, previous.access_token, previous.refresh_token)
        """What none of the account's errors may show, sent in this call or not."""
        self.may_refuse = name == "FinHub" or (name, purpose) == ("Fincrux", "login")
        """Whether a 2xx body can say the credentials were refused (a LoginError)."""

    def echo(self, value: object) -> Any:
        """`value` with the secrets the call sent where SENT stands for them."""
        if isinstance(value, str):
            for index, placeholder in enumerate(SENT):
                value = value.replace(placeholder, self.sent[index % len(self.sent)])
            return value
        if isinstance(value, list):
            return [self.echo(item) for item in value]
        if isinstance(value, dict):
            return {self.echo(key): self.echo(item) for key, item in value.items()}
        return value

    def answer(
        self, status: int, headers: Headers, body: bytes, received_at: datetime = RECEIVED
    ) -> Answer:
        return Answer(self.call, status, headers, body, received_at)

    def step(self, answer: Answer) -> Outcome:
        """What the flow's `_exchange` and then `_log_in` or `_renew` do with a last answer."""
        attempts = MAX_ATTEMPTS if answer.status_code in RETRY_STATUSES else 1
        try:
            answer.raise_for_status(self.check, attempts)
            if self.purpose == "login":
                return self.provider.read_login(answer)
            return self.provider.read_refresh(answer, self.previous)
        except FinauthError as error:
            return error

    def __repr__(self) -> str:
        return f"{self.name}-{self.purpose}"


@pytest.fixture(autouse=True)
def _sweep_each_example_alone(leak_sweep: Sweep) -> Iterator[None]:
    """R10 here is `check_error`'s and `check_token`'s, which hold every example to its own
    secrets. The suite's leak sweep pools all of a test's examples instead: it takes any
    token one example made for a secret and looks for it in every other example's texts,
    which flags coincidences (hypothesis likes words from the source, and a token may well
    be "access_token", which every Token repr shows) and compares 10,000 by 10,000."""
    yield
    leak_sweep.forget()


PURPOSES: tuple[Purpose, ...] = ("login", "refresh")
PARSERS = [Parser(name, purpose) for name in PROVIDERS for purpose in PURPOSES]
by_parser = pytest.mark.parametrize("parser", PARSERS, ids=repr)


# --- strategies: JSON values ---------------------------------------------------------------

TOKEN_FIELDS = ("access", "refresh", "token", "access_token", "refresh_token", "refreshToken")
FIELDS = (
    *TOKEN_FIELDS,
    *("success", "expires_in", "message", "detail", "error", "error_description"),
    *("code", "data", "sessionId", "expiresAt"),
)
NASTY_STRINGS = ("", " ", "\ud800", "\x00", "null", "true", "200", "eyJ", "a.b.c", "'\"\\")

huge_numbers: st.SearchStrategy[int | float] = st.sampled_from(
    [10**30, -(10**30), 10**400, -(10**400), 2**63, 2**64, 1e18, 1e308, -1e308]
)
"""Numbers JSON carries but no datetime can hold."""
non_numbers: st.SearchStrategy[object] = st.sampled_from(
    [None, True, False, "3600", "", "soon", [], {}, [3600], math.nan, math.inf, -math.inf]
)
"""What R7 must take for no number at all (NaN and infinity too: json.dumps writes them)."""
echoes: st.SearchStrategy[str] = st.builds(
    "{}{}{}".format, st.text(max_size=4), st.sampled_from(SENT), st.text(max_size=4)
)
"""A string holding a secret the call sent, as a careless server might echo it."""
json_strings: st.SearchStrategy[str] = st.text(max_size=20) | st.sampled_from(NASTY_STRINGS)
json_scalars: st.SearchStrategy[object] = st.one_of(
    st.none(), st.booleans(), st.integers(), huge_numbers, st.floats(), json_strings, echoes
)
json_keys: st.SearchStrategy[str] = st.sampled_from(FIELDS) | st.text(max_size=8) | echoes
json_values: st.SearchStrategy[object] = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=6,
)
token_cores: st.SearchStrategy[str] = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=24
)
marked_tokens: st.SearchStrategy[str] = token_cores.map(f"tok-{MARKER}-{{}}".format)
"""Opaque token values, safe in a cookie, each carrying MARKER."""


class _Special:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


DROP, IN_A_LIST, IN_AN_OBJECT = _Special("DROP"), _Special("IN_A_LIST"), _Special("IN_AN_OBJECT")
mutations: st.SearchStrategy[object] = st.one_of(
    st.sampled_from([DROP, IN_A_LIST, IN_AN_OBJECT, None, "", " ", 0, -1, 1.5, -3600, "3600"]),
    huge_numbers,
    non_numbers,
    json_values,
)
"""What a near miss puts in a field instead of its value (DROP leaves the field out)."""


def mutate(body: dict[str, Any], key: str, mutation: object) -> None:
    if mutation is DROP:
        body.pop(key, None)
    elif mutation is IN_A_LIST:
        body[key] = [body.get(key)]
    elif mutation is IN_AN_OBJECT:
        body[key] = {"value": body.get(key)}
    else:
        body[key] = mutation


def _dumps(value: object) -> bytes:
    return json.dumps(value).encode()


# --- strategies: access tokens and what R7 makes of them ------------------------------------


@dataclass(frozen=True)
class Expiry:
    """When R7 says a token expires: `seconds` after it was received, or `at` a moment."""

    seconds: float | None = None
    at: datetime | None = None

    def moment(self, received_at: datetime) -> datetime:
        if self.at is not None:
            return self.at
        assert self.seconds is not None
        return received_at + timedelta(seconds=self.seconds)


Source = str
"""What one source of R7 says: 'fixed', an expiry; 'next', nothing, so that the next source
decides; 'open', a number no datetime holds, which leaves the expiry open."""


def r7_expiry(access: Access, then: Source, expiry: Expiry | None = None) -> Expiry | None:
    """R7's order: the JWT's claims, then the provider's own figure, then an hour.
    None when a source leaves it open: only the invariants apply then."""
    if access.source == "fixed":
        return access.expiry
    if access.source == "open" or then == "open":
        return None
    return expiry if then == "fixed" else Expiry(seconds=DEFAULT_LIFETIME)


@dataclass(frozen=True)
class Access:
    """An access token; `is_jwt` when PyJWT reads it and its payload is a claims object."""

    value: str
    is_jwt: bool
    source: Source
    expiry: Expiry | None = None


claims: st.SearchStrategy[tuple[str, object]] = st.one_of(
    st.tuples(st.just("sane"), st.integers(0, 2**32) | st.floats(0, 2**32)),
    st.tuples(st.just("absent"), st.just(DROP) | non_numbers),
    st.tuples(st.just("huge"), huge_numbers),
)
"""An `exp` or `iat`: a time any datetime holds, no number at all, or a huge one."""


other_claims: st.SearchStrategy[dict[str, object]] = st.dictionaries(
    st.sampled_from(["sub", "nbf", "aud", "jti"]), json_scalars, max_size=2
)
jose_headers: st.SearchStrategy[object] = st.sampled_from(
    [None, {"alg": "none"}, {"alg": "RS256", "kid": "k1"}]
)


@st.composite
def jwt_accesses(draw: st.DrawFn) -> Access:
    """A JWT with any `exp` and `iat` (strings, NaN, huge, iat after exp...) and odd claims."""
    (exp_kind, exp), (iat_kind, iat) = draw(claims), draw(claims)
    payload = draw(other_claims)
    payload |= {name: value for name, value in (("exp", exp), ("iat", iat)) if value is not DROP}
    value = signed(payload, draw(jose_headers))
    if exp_kind == "absent":
        return Access(value, True, "next")
    if "huge" in (exp_kind, iat_kind):
        return Access(value, True, "open")
    assert isinstance(exp, int | float)
    if iat_kind == "sane":
        assert isinstance(iat, int | float)
        return Access(value, True, "fixed", Expiry(seconds=exp - iat))
    return Access(value, True, "fixed", Expiry(at=datetime.fromtimestamp(exp, UTC)))


_HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')
_CLAIMS = _b64(json.dumps({"exp": 1, "jti": MARKER}).encode())
NOT_JWTS = (
    f"{_HEADER}.{_CLAIMS}",  # two segments
    f"{_HEADER}.{_CLAIMS}.sig.{MARKER}",  # four
    f"{_HEADER}.{_b64(json.dumps([1, MARKER]).encode())}.sig",  # claims that are no object
    f"{_HEADER}.{_b64(f'not json {MARKER}'.encode())}.sig",
    f"{_HEADER}.{MARKER}!.sig",  # not base64
    f"a.{MARKER}.c",
)
opaque_accesses: st.SearchStrategy[Access] = (marked_tokens | st.sampled_from(NOT_JWTS)).map(
    lambda value: Access(value, False, "next")
)
accesses: st.SearchStrategy[Access] = jwt_accesses() | opaque_accesses
ODD_JWTS = tuple(
    signed(payload)
    for payload in (
        {"exp": "1700000000", "iat": 1700000000},
        {"exp": 10**30, "iat": 0},
        {"exp": math.nan},
        {"exp": 1700000000, "iat": 4000000000, "nbf": 4000000000},
        {"exp": -(10**12)},
        {},
    )
)
token_values: st.SearchStrategy[str] = marked_tokens | st.sampled_from(ODD_JWTS + NOT_JWTS)
"""Tokens for the generic answers; the near misses draw JWTs with claims of every kind."""


# --- strategies: any JSON body, any headers, any status ------------------------------------

with_tokens: st.SearchStrategy[dict[str, object]] = st.builds(
    lambda fields, tokens: {**fields, **tokens},
    st.dictionaries(json_keys, json_values, max_size=3),
    st.dictionaries(st.sampled_from(TOKEN_FIELDS), token_values, max_size=2),
)
"""An object with tokens (marked) in some of the fields tokens travel in, and anything else."""
refusals: st.SearchStrategy[dict[str, object]] = st.dictionaries(
    st.sampled_from(["message", "detail", "error", "error_description"]),
    echoes | json_strings | json_values,
    min_size=1,
    max_size=2,
)
"""An error body: a message for people, which may quote what the call sent."""
json_bodies: st.SearchStrategy[object] = st.one_of(
    json_values,
    with_tokens,
    refusals,
    refusals.map(lambda refusal: {"code": 401, "data": refusal} | refusal),
    st.fixed_dictionaries(  # FinHub's envelope
        {"code": st.sampled_from([200, "200", 401, "403", 500]) | json_values},
        optional={"message": json_values, "data": with_tokens | json_values},
    ),
)

HUGE_YEAR = "Mon, 01 Jan 99999999999999999999 00:00:00 GMT"
PAST, FUTURE = "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
PAST_NO_ZONE, YEAR_99999 = "Wed, 21 Oct 2015 07:28:00 -0000", "Mon, 01 Jan 99999 00:00:00 GMT"
ODD_DATES = (PAST, FUTURE, PAST_NO_ZONE, HUGE_YEAR, YEAR_99999, "Mon, 99 Foo 2020 25:61 +9999")
content_types: st.SearchStrategy[str] = st.sampled_from(
    [
        *("application/json", "application/json; charset=utf-8", "application/problem+json"),
        *("text/html; charset=iso-8859-1", "text/plain", ""),
    ]
)
retry_afters: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(["0", "120", "-5", "1.5", "nan", "inf", "-inf", "1e400", "", "1_0"]),
    st.sampled_from(ODD_DATES),
    st.integers().map(str),
    st.text(max_size=20),
)
COOKIE_LINES = tuple(
    "; ".join([f"{name}={value}", *attributes])
    for name, value, attributes in itertools.product(
        ["DT_AUTH_TOKEN", "DT_REFRESH_TOKEN", " DT_AUTH_TOKEN ", "dt_auth_token", "theme"],
        [f"tok-{MARKER}-1", "", f'"tok-{MARKER}-2"', "a=b"],
        [
            ["HttpOnly", "Secure", "Path=/", "Max-Age=1800", "SameSite=Lax"],
            ["Max-Age=0"],
            ["max-age=-1"],
            ["Max-Age=abc", f"Expires={PAST}"],
            ["MAX-AGE=" + "9" * 5000],
            ["Max-Age=99999999999999999999999"],
            *([f"Expires={date}"] for date in ODD_DATES),
            ["Partitioned", "Foo=a=b", "", "="],
        ],
    )
)
"""DT_* cookies and their near namesakes, set, emptied and deleted in every way."""
header_pairs: st.SearchStrategy[tuple[str, str]] = st.one_of(
    st.tuples(st.sampled_from(["Content-Type", "content-type"]), content_types),
    st.tuples(st.just("Retry-After"), retry_afters),
    st.tuples(
        st.sampled_from(["Set-Cookie", "set-cookie"]),
        st.sampled_from(COOKIE_LINES) | st.text(max_size=30),
    ),
    st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=30)),
)
any_headers: st.SearchStrategy[Headers] = st.lists(header_pairs, max_size=4).map(tuple)
statuses: st.SearchStrategy[int] = st.one_of(
    st.integers(200, 299),
    st.sampled_from([400, 401, 403, 429, 500, 502, 503, 504, 404, 301, 100]),
    st.integers(100, 599),
)
"""Any status, a third of them 2xx (the only ones that reach the parser)."""
received_ats: st.SearchStrategy[datetime] = st.sampled_from(
    [
        RECEIVED,
        RECEIVED.astimezone(timezone(timedelta(hours=5, minutes=30))),
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2106, 2, 7, 6, 28, 15, 999999, tzinfo=UTC),  # past every sane `exp`
    ]
)
"""When the answer came in: the adapters stamp it in UTC, but another zone must do too."""


# --- strategies: near misses of each provider's real answer ------------------------------


@dataclass(frozen=True)
class NearMiss:
    """A 200 answer with one thing broken, and what R7 and R8 make of it."""

    body: bytes
    headers: Headers
    error: type[FinauthError] | None
    """The error the answer must give; None: a Token, as below."""
    access: str | None = None
    refresh: str | None = None
    expiry: Expiry | None = None
    """None: the answer leaves the expiry open (a huge number); only the invariants apply."""
    extra: dict[str, str] | None = None
    tokens: tuple[str, ...] = ()
    """Every token the answer holds: none may show in an error."""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _fits_header(value: str) -> bool:
    """R16: what a token may hold to go into a header as it is: visible ASCII only."""
    return all("!" <= char <= "~" for char in value)


def _fits_cookie(value: str) -> bool:
    """R16: RFC 6265 cookie-octets, visible ASCII but DQUOTE, comma, semicolon, backslash."""
    return _fits_header(value) and not set(value) & set('",;\\')


fincrux_fields = st.sampled_from([None, "access", "refresh"])
fincrux_login_fields = st.sampled_from([None, "access", "refresh", "success", "full_name"])
successes = st.sampled_from(["true", True, "TRUE"])


@st.composite
def fincrux_near_misses(draw: st.DrawFn, purpose: Purpose) -> NearMiss:
    """Seed 000's login answer (for a refresh: `access`, and `refresh` when rotated), with
    one field changed; `access` is a JWT with any claims, or a token that is no JWT."""
    access, refresh = draw(accesses), draw(marked_tokens)
    body: dict[str, Any] = {"access": access.value, "refresh": refresh}
    fields = fincrux_fields
    if purpose == "login":
        fields = fincrux_login_fields
        body |= {"success": draw(successes), "full_name": "Ada Lovelace", "email": "ada@x.org"}
    if (field := draw(fields)) is not None:
        mutate(body, field, draw(mutations))
    tokens = (access.value, refresh)
    success = body.get("success")
    if purpose == "login" and not (
        success is True or (isinstance(success, str) and success.lower() == "true")
    ):
        return NearMiss(_dumps(body), (), LoginError, tokens=tokens)
    sent = _text(body.get("access"))
    if sent is None or not _fits_header(sent):
        return NearMiss(_dumps(body), (), ProviderResponseError, tokens=tokens)
    if sent != access.value:  # another string in its place: opaque, so an hour
        access = Access(sent, False, "next")
    previous = PREVIOUS["Fincrux"].refresh_token if purpose == "refresh" else None
    return NearMiss(
        _dumps(body),
        (("Content-Type", "application/json"),),
        None,
        access=access.value,
        refresh=_text(body.get("refresh")) or previous,
        expiry=r7_expiry(access, "next"),
        tokens=tokens,
    )


@dataclass(frozen=True)
class Cookie:
    """How a DT_* cookie is set, and what RFC 6265 makes of it."""

    attributes: tuple[str, ...]
    quoted: bool
    expired: bool
    max_age: Source
    """'fixed': a Max-Age that says how long, in `seconds`; 'next': none, or no integer."""
    seconds: int = 0

    def line(self, name: str, value: str) -> str:
        pair = f'{name}="{value}"' if self.quoted else f"{name}={value}"
        return "; ".join([pair, *self.attributes])


max_ages: st.SearchStrategy[tuple[str, object]] = st.one_of(
    st.tuples(st.just("fixed"), st.integers(1, 10**7)),
    st.tuples(st.just("deletes"), st.integers(-(10**7), 0)),
    st.tuples(st.just("next"), st.sampled_from([None, "", "abc", "1e3", "9" * 5000])),
    st.tuples(st.just("open"), st.integers(10**12, 10**30)),
)
"""A Max-Age: how long, one that deletes, none (or no integer), or one no datetime holds."""
expires_attributes: st.SearchStrategy[tuple[bool, str | None]] = st.sampled_from(
    [
        *((True, date) for date in (PAST, PAST_NO_ZONE)),
        *((False, date) for date in (FUTURE, "never", HUGE_YEAR, YEAR_99999, None)),
    ]
)
"""An Expires, and whether it has passed."""
max_age_names = st.sampled_from(["Max-Age", "max-age"])
expires_names = st.sampled_from(["Expires", "expires"])


@st.composite
def _cookies(draw: st.DrawFn) -> Cookie:
    """Finvera's attributes, with a Max-Age or an Expires that may delete the cookie."""
    (kind, age), (past, expires) = draw(max_ages), draw(expires_attributes)
    attributes = ["HttpOnly", "Secure", "Path=/", "SameSite=Lax", "Partitioned"]
    if age is not None:
        attributes.append(f"{draw(max_age_names)}={age}")
    if expires is not None:
        attributes.append(f"{draw(expires_names)}={expires}")
    turn = draw(st.integers(0, 6))
    attributes = attributes[turn:] + attributes[:turn]
    # Max-Age, when it is an integer, outranks Expires (RFC 6265 §5.3).
    expired = kind == "deletes" or (kind == "next" and past)
    max_age = {"fixed": "fixed", "open": "open"}.get(kind, "next")
    seconds = age if isinstance(age, int) else 0
    return Cookie(tuple(attributes), draw(st.booleans()), expired, max_age, seconds)


EMPTY_COOKIE = Cookie(("Path=/",), False, False, "next")
access_cookies = st.none() | _cookies() | st.just(EMPTY_COOKIE)
refresh_cookies = st.none() | _cookies()
other_cookies = st.lists(st.sampled_from([f"dt_auth_token=x{MARKER}", "theme=dark; Path=/"]))
lifetimes: st.SearchStrategy[tuple[str, object]] = st.one_of(
    st.tuples(st.just("fixed"), st.integers(1, 10**6) | st.floats(1, 10**6)),
    st.tuples(st.just("next"), st.sampled_from([DROP, None, "3600", [], {}])),
    st.tuples(st.just("open"), huge_numbers | st.sampled_from([True, math.nan])),
)
"""An `expires_in`: how long, no number (or none), or a number no datetime holds."""
body_token_fields = st.lists(
    st.sampled_from(["token", "access_token", "refresh_token"]), unique=True
)
not_json = st.sampled_from([b"<html>Bad Gateway</html>", b"", b"[]"])


@st.composite
def finvera_near_misses(draw: st.DrawFn, purpose: Purpose) -> NearMiss:
    """Seed 001's answer, `{"message", "expires_in"}` with the DT_AUTH_TOKEN and
    DT_REFRESH_TOKEN cookies; a cookie missing, empty, deleting or beside others, tokens in
    the body too or instead, `expires_in` of any type, or a body that is no JSON at all."""
    access, refresh = draw(accesses), draw(marked_tokens)
    body_access, body_refresh = draw(marked_tokens), draw(marked_tokens)
    access_cookie, refresh_cookie = draw(access_cookies), draw(refresh_cookies)
    lines = draw(other_cookies)
    if access_cookie is not None:
        value = "" if access_cookie is EMPTY_COOKIE else access.value
        if draw(st.booleans()):  # a stale line first, which the fresh one replaces
            lines.append(f"DT_AUTH_TOKEN=stale{MARKER}; Max-Age=0")
        lines.append(access_cookie.line("DT_AUTH_TOKEN", value))
    if refresh_cookie is not None:
        lines.append(refresh_cookie.line("DT_REFRESH_TOKEN", refresh))
    headers = tuple(("Set-Cookie", line) for line in lines)

    kind, lifetime = draw(lifetimes)
    body: dict[str, Any] = {"message": "Authentication successful"}
    mutate(body, "expires_in", lifetime)
    for field in draw(body_token_fields):
        body[field] = body_refresh if field == "refresh_token" else body_access
    raw = _dumps(body)
    if access_cookie is not None and draw(st.booleans()):  # the cookies alone count
        raw, body = draw(not_json), {}
    tokens = (access.value, refresh, body_access, body_refresh)

    def outcome(error: type[FinauthError] | None, **fields: Any) -> NearMiss:
        return NearMiss(raw, headers, error, tokens=tokens, **fields)

    if access_cookie is not None and access_cookie.expired:
        return outcome(ProviderResponseError)
    in_cookie = access_cookie is not None and access_cookie is not EMPTY_COOKIE
    token = access.value if in_cookie else _text(body.get("token"))
    token = token or _text(body.get("access_token"))
    if token is None:
        return outcome(ProviderResponseError)
    if refresh_cookie is not None:
        expected_refresh = None if refresh_cookie.expired else refresh
    else:
        previous = PREVIOUS["Finvera"].refresh_token if purpose == "refresh" else None
        expected_refresh = _text(body.get("refresh_token")) or previous
    if not _fits_cookie(token) or not _fits_cookie(expected_refresh or ""):
        return outcome(ProviderResponseError)
    # `expires_in` when it is a number, else the access cookie's Max-Age, else an hour.
    if "expires_in" not in body or kind == "next":
        kind, lifetime = "next", None
        if access_cookie is not None:
            kind, lifetime = access_cookie.max_age, access_cookie.seconds
    lasts = Expiry(seconds=lifetime) if isinstance(lifetime, int | float) else None
    used = access if token == access.value else Access(token, False, "next")
    expiry = r7_expiry(used, kind, lasts)
    return outcome(None, access=token, refresh=expected_refresh, expiry=expiry)


BAD_EXPIRES_AT = (
    *("", "soon", "2026-13-01T00:00:00", "2026-02-30T00:00:00", "2026-01-13T25:00:00"),
    *("2026-01-13T22:21:48+24:00", "2026-01-13T22:21:48+99:99", "0000-01-01T00:00:00"),
    *("9999-12-31T23:59:59.9999999-23:59", "0001-01-01T00:00:00+01:00"),
    *("2026-01-13T22:21:48.9745432 and more", 1768342908),
)
"""Not a moment, or one no datetime holds: R7 then falls back to an hour."""
bad_expires_ats = st.sampled_from(BAD_EXPIRES_AT) | non_numbers | huge_numbers
expiry_moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1))
zones = st.sampled_from(
    [("", 0), ("Z", 0), ("z", 0), ("+00:00", 0), ("+05:30", 330), ("-0800", -480)]
)
"""A zone as `expiresAt` may end, and its offset in minutes."""
clock_formats = st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


@st.composite
def _expires_ats(draw: st.DrawFn) -> tuple[Source, object, datetime | None]:
    """`expiresAt` as seed 002 writes it (seven fractional digits, no zone) and variants of
    it, with the moment they mean; or something that means no moment."""
    if draw(st.booleans()):
        return "next", draw(bad_expires_ats), None
    moment, (zone, offset) = draw(expiry_moments), draw(zones)
    digits, more = draw(st.integers(0, 9)), draw(st.integers(0, 999))
    fraction = f"{moment.microsecond:06d}{more:03d}"[:digits]
    text = moment.strftime(draw(clock_formats)) + (f".{fraction}" if digits else "")
    meant = moment.replace(
        microsecond=int(fraction[:6].ljust(6, "0")), tzinfo=timezone(timedelta(minutes=offset))
    )
    return "fixed", text + zone, meant.astimezone(UTC)


expires_ats = _expires_ats()
FINHUB_DATA = ("sessionId", "userId", "token", "refreshToken", "expiresAt", "success", "message")
finhub_fields = st.sampled_from([None, ("code",), ("message",), ("data",)]) | st.sampled_from(
    FINHUB_DATA
).map(lambda key: ("data", key))
"""What a FinHub near miss changes: nothing, a field of the envelope, or one of `data`."""
envelope_mutations = mutations | st.sampled_from(["200", 200.0, 400, 401, 403, "401", 500, "OK"])
data_mutations = mutations | st.sampled_from([False, "false"])


@st.composite
def finhub_near_misses(draw: st.DrawFn, purpose: Purpose) -> NearMiss:
    """Seed 002's envelope `{"code", "message", "data": {...}}`, one field of the envelope or
    of `data` changed; `expiresAt` in any form; `token` a JWT with any claims, or opaque."""
    access, refresh, session = draw(accesses), draw(marked_tokens), draw(token_cores)
    expires_kind, expires_at, expires_moment = draw(expires_ats)
    data: dict[str, Any] = {
        "sessionId": session,
        "userId": "e2f3a4b5-c6d7-48e9-0f1a-2b3c4d5e6f7a",
        "token": access.value,
        "refreshToken": refresh,
        "expiresAt": expires_at,
        "success": True,
        "message": "Session created successfully",
    }
    envelope: dict[str, Any] = {"code": 200, "message": "Success", "data": data}
    where = draw(finhub_fields)
    if where is not None and len(where) == 1:
        mutate(envelope, where[0], draw(envelope_mutations))
    elif where is not None:
        mutate(data, where[1], draw(data_mutations))
    tokens = (access.value, refresh)

    def outcome(error: type[FinauthError] | None, **fields: Any) -> NearMiss:
        return NearMiss(_dumps(envelope), (), error, tokens=tokens, **fields)

    code, got = envelope.get("code"), envelope.get("data")
    if code in (400, 401, 403, "400", "401", "403"):
        return outcome(LoginError)
    if code not in (200, "200") or not isinstance(got, dict):
        return outcome(ProviderResponseError)
    if got.get("success") is False:
        return outcome(LoginError)
    token = _text(got.get("token"))
    if token is None:
        return outcome(ProviderResponseError)
    previous = PREVIOUS["FinHub"] if purpose == "refresh" else None
    session_id = _text(got.get("sessionId")) or (previous and FINHUB_SESSION)
    if not _fits_header(token) or session_id in (".", "..") or not _fits_header(session_id or ""):
        return outcome(ProviderResponseError)
    if where == ("data", "expiresAt"):
        expires_kind, expires_moment = "next", None
    used = access if token == access.value else Access(token, False, "next")
    return outcome(
        None,
        access=token,
        refresh=_text(got.get("refreshToken")) or (previous and previous.refresh_token),
        expiry=r7_expiry(used, expires_kind, Expiry(at=expires_moment)),
        extra={"session_id": session_id} if session_id else {},
    )


NEAR_MISSES = {
    (name, purpose): near_misses(purpose)
    for name, near_misses in (
        ("Fincrux", fincrux_near_misses),
        ("Finvera", finvera_near_misses),
        ("FinHub", finhub_near_misses),
    )
    for purpose in PURPOSES
}


# --- strategies: bodies that are no JSON object -----------------------------------------

SENT_BYTES = SENT[0].encode()
not_json_objects: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=50).map(lambda noise: noise + b"\xff\xfe\x80\xc3"),  # invalid UTF-8
    st.binary(max_size=20).map(
        lambda noise: b"<html><h1>502 Bad Gateway</h1><p>" + SENT_BYTES + b"</p>" + noise
    ),
    st.integers(0, 1000).map(lambda indent: b"<pre>" + b" " * indent + SENT_BYTES),
    st.integers(0, 60).map(  # a login answer cut short, the call's secret echoed in it
        lambda cut: (b'{"password": "' + SENT_BYTES + b'", "success": "true", "access"')[:cut]
    ),
    st.just(b'{"expires_in": ' + b"9" * 5000 + b"}"),  # more digits than int() takes
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from([b"", b"null", b"[]", b'"access"', b"1", b"true", b"NaN", b"{", b"}{"]),
    json_values.filter(lambda value: not isinstance(value, dict)).map(_dumps),
)


def _is_json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


# --- what every outcome must satisfy ---------------------------------------------------------


def status_verdict(status: int) -> type[FinauthError] | None:
    """The error `raise_for_status` gives on the status alone; None for a 2xx."""
    if status == 429:
        return RateLimitedError
    if status in (400, 401, 403):
        return LoginError
    if not 200 <= status < 300:
        return ProviderResponseError
    return None


def check_outcome(
    parser: Parser, answer: Answer, outcome: Outcome, tokens: tuple[str, ...] = ()
) -> None:
    """The invariants of any outcome; `tokens` are those the answer held."""
    verdict = status_verdict(answer.status_code)
    if verdict is not None:
        assert type(outcome) is verdict, outcome
    elif parser.may_refuse:
        assert isinstance(outcome, Token | ProviderResponseError | LoginError), outcome
    else:
        assert isinstance(outcome, Token | ProviderResponseError), outcome
    if isinstance(outcome, Token):
        check_token(outcome, answer)
    else:
        check_error(parser, answer, outcome, tokens)


def check_token(token: Token, answer: Answer) -> None:
    assert isinstance(token.access_token, str)
    assert token.access_token
    assert token.refresh_token is None or isinstance(token.refresh_token, str)
    assert token.refresh_token != ""
    assert token.expires_at.utcoffset() == timedelta(0)
    assert token.obtained_at == answer.received_at
    assert math.isfinite(token.expires_in)
    # The repr is the same whatever the tokens are: it shows neither.
    blank = replace(token, access_token="A", refresh_token=token.refresh_token and "R")
    assert repr(token) == repr(blank)
    assert load_token(dump_token(token)) == token  # the flow stores it right away


def check_error(
    parser: Parser, answer: Answer, error: FinauthError, tokens: tuple[str, ...]
) -> None:
    assert error.provider == parser.name
    assert error.endpoint == answer.call.endpoint
    message = str(error)
    assert parser.name in message
    assert answer.call.endpoint in message
    texts = [message, repr(error)]
    if isinstance(error, ProviderResponseError):
        assert error.status_code == answer.status_code
        assert len(error.excerpt) <= EXCERPT_LENGTH + len("...")
        texts.append(error.excerpt)
    if isinstance(error, LoginError):
        assert error.status_code == answer.status_code
        assert error.provider_message is None or len(error.provider_message) <= EXCERPT_LENGTH
        texts.append(error.provider_message or "")
    if isinstance(error, RateLimitedError):
        retry_after = error.retry_after
        assert retry_after is None or (math.isfinite(retry_after) and retry_after >= 0)
    secrets = (*parser.secrets, *tokens, MARKER, ACCOUNT_MARKER)
    leaked = {secret for secret in secrets for text in texts if secret in text}
    assert not leaked, f"{sorted(leaked)} in {message!r}"


# --- 1. any JSON body, any headers, any status ---------------------------------------------


@by_parser
@given(body=json_bodies, status=statuses, headers=any_headers, received_at=received_ats)
# A refusal that quotes what the call sent.
@example(body={"detail": f"no user {SENT[0]}"}, status=401, headers=(), received_at=RECEIVED)
# Found by this test, pinned here: FinHub's "code" quoted unmasked in the message,
@example(body={"code": {SENT[0]: None}}, status=200, headers=(), received_at=RECEIVED)
# a Retry-After date whose year no C long holds (OverflowError),
@example(body={}, status=429, headers=(("Retry-After", HUGE_YEAR),), received_at=RECEIVED)
# and the same date in a Set-Cookie Expires (OverflowError from Finvera's cookie reader).
@example(
    body={"message": "Authentication successful", "expires_in": 3600},
    status=200,
    headers=(("Set-Cookie", f"DT_AUTH_TOKEN=tok-{MARKER}; Expires={HUGE_YEAR}"),),
    received_at=RECEIVED,
)
def test_any_json_answer_gives_a_token_or_an_r8_error(
    parser: Parser, body: object, status: int, headers: Headers, received_at: datetime
) -> None:
    answer = parser.answer(status, headers, _dumps(parser.echo(body)), received_at)
    check_outcome(parser, answer, parser.step(answer))


# --- 2. near misses of each provider's real answer -------------------------------------------


@by_parser
@given(data=st.data(), received_at=received_ats)
def test_near_miss_gives_what_r7_and_r8_prescribe(
    parser: Parser, data: st.DataObject, received_at: datetime
) -> None:
    near_miss = data.draw(NEAR_MISSES[parser.name, parser.purpose], label="answer")
    answer = parser.answer(200, near_miss.headers, near_miss.body, received_at)
    outcome = parser.step(answer)
    check_outcome(parser, answer, outcome, near_miss.tokens)
    if near_miss.error is not None:
        assert type(outcome) is near_miss.error, outcome
        return
    assert isinstance(outcome, Token), outcome
    assert outcome.access_token == near_miss.access
    assert outcome.refresh_token == near_miss.refresh
    if near_miss.expiry is not None:
        expected = near_miss.expiry.moment(received_at)
        assert abs(outcome.expires_at - expected) < timedelta(milliseconds=1)
    if near_miss.extra is not None:
        assert dict(outcome.extra) == near_miss.extra


# --- 3. bodies that are no JSON object ---------------------------------------------------------


@by_parser
@given(body=not_json_objects, status=statuses, content_type=content_types)
# Found by this test, pinned here: the excerpt is cut before it is masked, so the start of a
# secret that straddles the cut shows.
@example(body=b" " * 620 + SENT_BYTES, status=502, content_type="text/plain")
def test_a_body_that_is_no_json_object_gives_a_provider_response_error(
    parser: Parser, body: bytes, status: int, content_type: str
) -> None:
    """Finvera too: it reads its tokens from cookies, and there are none here."""
    assume(not _is_json_object(body))
    body = body.replace(SENT_BYTES, parser.sent[0].encode())
    answer = parser.answer(status, (("Content-Type", content_type),), body)
    outcome = parser.step(answer)
    check_outcome(parser, answer, outcome)
    assert type(outcome) is (status_verdict(status) or ProviderResponseError), outcome


# --- 4. hostile sizes and shapes: bounded work (R15) ------------------------------------------

FLOOD_UNITS = (
    *(b"eyJ", b"eyJa.b", b"eyJ.", b"eyJ.. ", b".", b"eyJa\r\n.b", b"eyJ\r\n", b"tok\r\nen"),
    *(b"\\u00e9", b'\\"', b"%C3%A9", b"[", b'"a", ', SENT_BYTES),
)
"""What a flood is made of: JWT look-alikes, dots, CR LF inside tokens, escapes, echoes."""


def _masking_time(answer: Answer) -> float:
    """The best of three: every error text an answer can give (the step's own outcome may
    differ between a flood and plain text, a body of "a"s being a token, say)."""
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        answer.unusable("a flood")
        answer.rejected("the flood")
        best = min(best, time.perf_counter() - start)
    return best


@given(
    parser=st.sampled_from(PARSERS),
    unit=st.sampled_from(FLOOD_UNITS),
    size=st.integers(0, MAX_ANSWER_BYTES - 32) | st.sampled_from([60_000, 120_000]),
    wrap=st.sampled_from([None, "detail", "non_field_errors", "access"]),
    status=st.sampled_from([200, 401, 502]),
)
def test_a_flood_costs_what_plain_text_of_its_size_does(
    parser: Parser, unit: bytes, size: int, wrap: str | None, status: int
) -> None:
    """Linear and bounded (R15), and still an R8 error with no secret in it (R10). Timed
    against a body of "a"s of the same size and shape, not against a clock."""

    def body(fill: bytes) -> bytes:
        text = fill * (size // len(fill))  # whole units: a secret cut short is none
        if wrap == "non_field_errors":
            return b'{"non_field_errors": ["' + text + b'"]}'
        return b'{"' + wrap.encode() + b'": "' + text + b'"}' if wrap else text

    hostile = parser.answer(status, (), body(unit.replace(SENT_BYTES, parser.sent[0].encode())))
    check_outcome(parser, hostile, parser.step(hostile))
    # As JSON and as text: a flood may break the JSON it is wrapped in.
    plain = (parser.answer(status, (), raw) for raw in (body(b"a"), b"a" * len(hostile.body)))
    assert _masking_time(hostile) < 20 * max(map(_masking_time, plain))
