"""The leak sweep (R10), run around every test of the suite by an autouse fixture.

While a test runs, the sweep keeps every log record of every logger at DEBUG,
every FinauthError raised or made, and every auth object and Token created.
Afterwards it fails the test if any secret shows in a record's message or
traceback, an error's `str` or `repr`, or an auth's or token's `repr`. The
secrets are those the test itself made: each auth's provider's `secrets` (password,
tenant key and secret, client secret), each API key, every token an emulator issued, and
every token finauth held.

With OpenTelemetry's SDK installed (`otel_sdk`), it also searches every span that
ended and every metric point finauth recorded: names, attributes, events and status
descriptions, for the secrets and also for the account's e-mail or username (SPEC §8).

Two exemptions, both documented in the README, both in the HTTP clients' own
DEBUG logging, which finauth does not control: the Fincrux API key travels in the
URL, where Fincrux wants it, so urllib3 and httpx (and their kin: urllib3-future under
niquests, httpx2, aiohttp) print it in the URLs they log; and httpcore (httpcore2) logs
the response headers of every call through an httpx (httpx2) client, Finvera's login
and refresh included, whose `Set-Cookie` headers carry tokens. The first holds for the
spans of the clients' own instrumentations too, which record URLs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from finauth import FinauthError, Token
from finauth._auth import ProviderAuth
from finauth.providers.fincrux import FincruxAPIKeyAuth
from finauth.testing import Emulator
from otel_sdk import SDK

ACCOUNT_FIELDS = ("email", "username")
"""Who logs in: kept out of telemetry (SPEC §8), not out of logs. FinHub's organization,
user and tenant ids are not: its URLs carry them, which the clients' spans record."""
CLIENT_LOGGERS = (
    "urllib3",
    "urllib3_future",
    "niquests",
    "httpx",
    "httpcore",
    "httpx2",
    "httpcore2",
    "aiohttp",
)
SHORTEST = 8
"""Shorter values (tests' "a", "tok") are too common to be told from a leak."""


class Sweep(logging.Handler):
    """What one test logged, raised and created, and the secrets it made."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[tuple[str, str]] = []
        """(where, text): every text that must hold no secret."""
        self._client_texts: set[int] = set()
        """Indexes in `texts` of the HTTP clients' own log records (URLs)."""
        self._header_texts: set[int] = set()
        """Indexes in `texts` of httpcore's records of response headers."""
        self.secrets: dict[str, str] = {}
        """secret -> what it is, for a failure message that does not repeat it."""
        self.api_keys: set[str] = set()
        self.identities: dict[str, str] = {}
        """e-mail or username -> what it is: kept out of telemetry only."""
        self._telemetry_texts: set[int] = set()
        self._made: list[object] = []

    def emit(self, record: logging.LogRecord) -> None:
        where = f"a log record of {record.name!r}"
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if record.name.partition(".")[0] in CLIENT_LOGGERS:
            self._client_texts.add(len(self.texts))
            if text.startswith("receive_response_headers.complete"):
                self._header_texts.add(len(self.texts))
        self.texts.append((where, text))

    def made(self, thing: object) -> None:
        """An auth, a Token or a FinauthError: its repr (and str) are checked at the end."""
        self._made.append(thing)

    def forget(self) -> None:
        """Drop what was seen so far: for the sweep's own tests, which leak on purpose."""
        self.texts.clear()
        self._made.clear()
        self._client_texts.clear()
        self._header_texts.clear()
        self._telemetry_texts.clear()

    def secret(self, value: object, what: str) -> None:
        if isinstance(value, str) and len(value) >= SHORTEST:
            self.secrets.setdefault(value, what)

    def telemetry(self, where: str, texts: Iterator[str], *, clients: bool) -> None:
        """Texts of a span or metric point; `clients`: a client instrumentation's span."""
        for text in texts:
            self._telemetry_texts.add(len(self.texts))
            if clients:
                self._client_texts.add(len(self.texts))
            self.texts.append((where, text))

    def leaks(self) -> list[str]:
        """Where each secret showed, named by kind, never by value."""
        for thing in self._made:
            self._collect(thing)
        found = set()
        for index, (where, text) in enumerate(self.texts):
            for secret, what in self.secrets.items():
                exempt = (secret in self.api_keys and index in self._client_texts) or (
                    "token" in what and index in self._header_texts
                )
                if secret in text and not exempt:
                    found.add(f"{what} in {where}")
            if index in self._telemetry_texts:
                found.update(
                    f"{what} in {where}" for name, what in self.identities.items() if name in text
                )
        return sorted(found)

    def _collect(self, thing: object) -> None:
        kind = type(thing).__name__
        if isinstance(thing, Token):
            self.secret(thing.access_token, "an access token")
            self.secret(thing.refresh_token, "a refresh token")
        elif isinstance(thing, ProviderAuth):
            provider = thing._flow.provider
            fields = {
                field.name: getattr(provider, field.name)
                for field in dataclasses.fields(provider)  # type: ignore[arg-type]
            }
            named = {value: name for name, value in fields.items()}
            for value in provider.secrets:
                self.secret(value, f"the {named.get(value, 'secret')} of a {kind}")
            for name, value in fields.items():
                if name in ACCOUNT_FIELDS and value and len(value) >= SHORTEST:
                    self.identities.setdefault(value, f"the {name} of a {kind}")
        elif isinstance(thing, FincruxAPIKeyAuth):
            self.api_keys.add(thing._api_key)
            self.secret(thing._api_key, f"the api_key of a {kind}")
        if isinstance(thing, BaseException):
            self.texts.append((f"the str of a {kind}", str(thing)))
        self.texts.append((f"the repr of a {kind}", repr(thing)))


def recording(original: Callable[..., Any], sweep: Sweep) -> Callable[..., Any]:
    """`original`, an __init__ or __post_init__, also handing its object to `sweep`."""

    def record(self: object, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        sweep.made(self)
        return result

    return record


@pytest.fixture(autouse=True)
def leak_sweep(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sweep]:
    sweep = Sweep()
    for cls, method in [
        (Token, "__post_init__"),
        (FinauthError, "__init__"),
        (ProviderAuth, "__init__"),
        (FincruxAPIKeyAuth, "__init__"),
    ]:
        monkeypatch.setattr(cls, method, recording(getattr(cls, method), sweep))
    issue = Emulator.issue

    def issue_and_record(emulator: Emulator, kind: str, **claims: Any) -> str:
        token = issue(emulator, kind, **claims)
        sweep.secret(token, f"a{'n' if kind == 'access' else ''} {kind} token an emulator issued")
        return token

    monkeypatch.setattr(Emulator, "issue", issue_and_record)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(sweep)
    if SDK is not None:
        SDK.reset()
    try:
        yield sweep
    finally:
        root.removeHandler(sweep)
        root.setLevel(level)
    if SDK is not None:
        sweep_telemetry(sweep)
    leaks = sweep.leaks()
    if leaks:
        pytest.fail("R10: secrets leaked: " + "; ".join(leaks), pytrace=False)


def sweep_telemetry(sweep: Sweep) -> None:
    """Hand `sweep` the texts of every span that ended and every point finauth measured."""
    assert SDK is not None
    for span in SDK.spans():
        scope = span.instrumentation_scope.name if span.instrumentation_scope else "?"
        where = f"a span {span.name!r} of {scope!r}"
        texts = [span.name, *_texts(span.attributes)]
        texts += [text for event in span.events for text in [event.name, *_texts(event.attributes)]]
        texts += [text for link in span.links for text in _texts(link.attributes)]
        texts.append(span.status.description or "")
        sweep.telemetry(where, iter(texts), clients=scope != "finauth")
    for point in SDK.points():
        where = f"a point of the metric {point.metric!r}"
        sweep.telemetry(where, _texts(point.attributes), clients=False)


def _texts(attributes: Any) -> Iterator[str]:
    for name, value in (attributes or {}).items():
        yield f"{name}={value}"
