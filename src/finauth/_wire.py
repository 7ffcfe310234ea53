"""The neutral values that pass between a provider, the flow and the client adapters.

A provider describes a login or refresh as an `AuthCall` and reads the `Answer`;
it touches the user's request only through `Outgoing`. None of these know which
HTTP client is in use.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus, urlencode

from ._errors import LoginError, ProviderResponseError, RateLimitedError
from ._origin import Origin
from ._retry import retry_after_seconds

if TYPE_CHECKING:
    from opentelemetry.trace import Span

EXCERPT_LENGTH = 160
MAX_ANSWER_BYTES = 1 << 20
"""The most of a login or refresh answer finauth reads (R15): tokens take kilobytes."""
MASKED_LENGTH = 4096
"""How much of an answer masking looks at (R15): far more than any message shows of it."""
MAX_DIGITS = 4300
"""The longest integer read from an answer: Python 3.11's `int()` limit, on 3.10 too (R15)."""

_SECRET_FIELD = re.compile(r"token|access|refresh|secret|password|key|session|cookie", re.I)
_RUN = re.compile(r"[\w.-]+")
"""A run of the characters a JWT is made of."""
_JWT_RUN = re.compile(r"(?<![\w.-])(?=[\w.-]*?eyJ)[\w-]*\.[\w-]*\.[\w.-]*")
"""A whole run that holds "eyJ" and two dots, in linear time (R15): tried only where a run
starts, and no part of it can match a dot, so a failed try costs one pass over the run.
The pattern this replaces, "eyJ" then segments and dots, was tried from every "eyJ" and
took quadratic time on "eyJeyJeyJ..." (120 KB: 13 s)."""
_HEADER_VALUE = re.compile(r"[!-~]+")
_FIELD_VALUE = re.compile(r"[!-~]+(?:[ \t]+[!-~]+)*")
_COOKIE_VALUE = re.compile(r"[!#-+\--:<-\[\]-~]+")
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, repr=False)
class AuthCall:
    """A login or refresh request, as the provider wants it sent."""

    provider: str
    purpose: str
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    span: Span | None = field(default=None, compare=False)
    """The login's or refresh's span, if it is traced: made current while this is sent."""

    @classmethod
    def post_json(
        cls,
        provider: str,
        purpose: str,
        url: str,
        payload: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> AuthCall:
        """A POST with a JSON body, the shape most providers' auth endpoints take."""
        body = json.dumps(payload).encode()
        return cls._post(provider, purpose, url, "application/json", body, headers)

    @classmethod
    def post_form(
        cls,
        provider: str,
        purpose: str,
        url: str,
        fields: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> AuthCall:
        """A POST with a form body, the shape of OAuth 2.0 token endpoints (RFC 6749)."""
        body = urlencode(fields).encode()
        return cls._post(provider, purpose, url, FORM, body, headers)

    @classmethod
    def _post(
        cls,
        provider: str,
        purpose: str,
        url: str,
        content_type: str,
        body: bytes,
        headers: Mapping[str, str] | None,
    ) -> AuthCall:
        """A POST of `body`, answered in JSON; `headers` added, or replacing these."""
        sent = {"Content-Type": content_type, "Accept": "application/json", **(headers or {})}
        return cls(provider, purpose, "POST", url, sent, body)

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.url}"

    def secrets(self) -> Iterator[str]:
        """What this call carries that must never be echoed (credentials, tokens), in every
        form a server may echo it: as sent, JSON-escaped and URL-encoded (R18)."""
        for secret in self._sent():
            yield from _forms(secret)

    def _sent(self) -> Iterator[str]:
        """The secrets as this call sends them: strings of its body, header credentials.

        Of a form body, every value but `grant_type`'s, which names an OAuth grant
        ("password", "refresh_token"): masked, it would blank those words out of messages.
        """
        if self.body and self.headers.get("Content-Type") == FORM:
            fields = parse_qsl(self.body.decode("latin-1"), keep_blank_values=True)
            yield from (value for name, value in fields if value and name != "grant_type")
        elif self.body:
            with suppress(ValueError):
                yield from _strings(parse_json(self.body))
        if authorization := self.headers.get("Authorization"):
            scheme, _, credentials = authorization.partition(" ")
            yield credentials or authorization
            if scheme.lower() == "basic":
                yield from _basic_password(credentials)
        for pair in self.headers.get("Cookie", "").split(";"):
            if value := pair.partition("=")[2].strip():
                yield value

    def too_large(self, status_code: int) -> ProviderResponseError:
        """The error for an answer longer than MAX_ANSWER_BYTES, of which no more is read (R15).

        No excerpt: nothing that large comes from a provider's auth endpoints.
        """
        return ProviderResponseError(
            f"{self.provider} {self.purpose} at {self.endpoint} sent an answer larger than "
            f"1 MiB (HTTP {status_code}); finauth read no further. Check that base_url "
            f"points at the {self.provider} API.",
            provider=self.provider,
            endpoint=self.endpoint,
            status_code=status_code,
            excerpt="",
        )

    def redirected(self) -> ProviderResponseError:
        """The error for a redirect that a client followed, about to send this call again,
        credentials and all, to where it points (R18)."""
        return ProviderResponseError(
            f"{self.provider} {self.purpose} at {self.endpoint} was answered with a redirect, "
            f"and finauth never sends a {self.purpose} on to where a redirect points. Check "
            f"that base_url is the {self.provider} API's own address.",
            provider=self.provider,
            endpoint=self.endpoint,
        )

    def __repr__(self) -> str:
        return f"<AuthCall {self.provider} {self.purpose}: {self.endpoint}>"


@dataclass(frozen=True, repr=False)
class Answer:
    """The provider's answer to an AuthCall, read in full."""

    call: AuthCall
    status_code: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    received_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def header(self, name: str) -> str | None:
        """The first value of header `name`, case-insensitively."""
        return next(iter(self.header_values(name)), None)

    def header_values(self, name: str) -> list[str]:
        """Every value of header `name`, in order (Set-Cookie comes many times)."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def cookies_set(self) -> tuple[tuple[str, str], ...]:
        """The name and value of each cookie the answer sets, attributes aside."""
        pairs = []
        for line in self.header_values("Set-Cookie"):
            name, has_value, value = line.partition(";")[0].partition("=")
            if has_value and name.strip():
                pairs.append((name.strip(), value.strip().strip('"')))
        return tuple(pairs)

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or a ProviderResponseError saying why not."""
        data = self._json
        if data is _NOT_JSON:
            raise self.unusable("the body is not JSON")
        if not isinstance(data, dict):
            raise self.unusable("the body is JSON but not an object")
        return data

    def raise_for_status(self, check: str, attempts: int = 1) -> None:
        """Insist on a 2xx answer of a sane size; `check` says what to check if the provider
        refused.

        A body over MAX_ANSWER_BYTES is refused first: the adapters stop reading there, so
        one only gets here if some other way of building answers did not (R15). Then 429
        is a rate limit (after `attempts` tries), 400/401/403 a refusal, and anything else
        that is not 2xx an answer no token can come from.
        """
        if len(self.body) > MAX_ANSWER_BYTES:
            raise self.call.too_large(self.status_code)
        if self.status_code == 429:
            raise self.rate_limited(attempts)
        if self.status_code in (400, 401, 403):
            raise self.rejected(check)
        if 300 <= self.status_code < 400:
            raise self.unusable(self._redirect())
        if not 200 <= self.status_code < 300:
            raise self.unusable("expected a 2xx answer")

    def _redirect(self) -> str:
        """What a redirect answering an auth call says: where it pointed (R18)."""
        location = _shortened(self._masked(self.header("Location") or ""), EXCERPT_LENGTH)
        return (
            f"it redirected to {location or 'nowhere'!r}, and finauth never sends a "
            f"{self.call.purpose} on to where a redirect points"
        )

    def unusable(self, reason: str) -> ProviderResponseError:
        """The error for an answer no token can be read from."""
        call = self.call
        excerpt = self.excerpt()
        return ProviderResponseError(
            f"{call.provider} {call.purpose} at {call.endpoint} gave an unusable answer "
            f"(HTTP {self.status_code}): {reason}. Check that base_url points at the "
            f"{call.provider} API. The answer began: {excerpt!r}",
            provider=call.provider,
            endpoint=call.endpoint,
            status_code=self.status_code,
            excerpt=excerpt,
        )

    def rejected(self, check: str) -> LoginError:
        """The error for credentials the provider turned down; `check` says what to check."""
        call = self.call
        message = self.provider_message()
        said = f": {message}" if message else ""
        return LoginError(
            f"{call.provider} rejected the {call.purpose} at {call.endpoint} "
            f"(HTTP {self.status_code}{said}). Check {check}.",
            provider=call.provider,
            endpoint=call.endpoint,
            status_code=self.status_code,
            provider_message=message,
        )

    def rate_limited(self, attempts: int) -> RateLimitedError:
        """The error for a 429 that outlasted every retry (R9)."""
        call = self.call
        retry_after = retry_after_seconds(self.header("Retry-After"))
        wait = f"wait {retry_after:.0f} s" if retry_after is not None else "wait a while"
        return RateLimitedError(
            f"{call.provider} {call.purpose} at {call.endpoint} answered 429 Too Many Requests "
            f"on all {attempts} attempts; {wait} before trying again.",
            provider=call.provider,
            endpoint=call.endpoint,
            retry_after=retry_after,
        )

    def provider_message(self) -> str | None:
        """The human message a provider put in its error body, secrets masked (R18).

        Read from the common shapes, at the top or in FinHub's `data`: `message`,
        `detail`, `error_description`, `error`, Django REST framework's
        `non_field_errors`, and else the first error of a field, as "email: Enter a
        valid email address.".
        """
        data = self._json
        for body in (data, data.get("data") if isinstance(data, dict) else None):
            if isinstance(body, dict) and (message := _message_in(body)):
                return self._masked(message)[:EXCERPT_LENGTH]
        return None

    def excerpt(self) -> str:
        """The start of the body, with every credential and token masked (R10)."""
        if self._json is _NOT_JSON:
            # Decoded from a prefix: a character cut in two at its end does no harm.
            text = self.body[: 4 * self._masked_length].decode("utf-8", "replace")
            return _shortened(self._masked(text), EXCERPT_LENGTH)
        return _shortened(self._masked_json(self._json), EXCERPT_LENGTH)

    def quoted(self, value: object, length: int = 40) -> str:
        """`value`, read from the body, as JSON for a message: secrets masked (R10), short."""
        return _shortened(self._masked_json(value), length)

    @cached_property
    def _json(self) -> Any:
        """The body as JSON, parsed once; _NOT_JSON when it is none."""
        try:
            return parse_json(self.body)
        except ValueError:
            return _NOT_JSON

    @cached_property
    def _secrets(self) -> tuple[str, ...]:
        """Every form of every secret of the call, longest first: a secret inside another
        is then masked within it, not left to cut the other in pieces."""
        return tuple(sorted(set(self.call.secrets()), key=len, reverse=True))

    @cached_property
    def _masked_length(self) -> int:
        """How much of a text `_masked` looks at: MASKED_LENGTH, and room to mask the longest
        secret that starts within it even where masking has shrunk what came before."""
        return MASKED_LENGTH + 3 * max(map(len, self._secrets), default=0)

    def _masked_json(self, value: object) -> str:
        """The start of `value` as JSON, secret-looking fields blanked and secrets masked:
        in each string as parsed too, since a string holding JSON escapes an echo again."""
        return self._masked(_json_start(value, self._masked_length, self._masked))

    def _masked(self, text: str) -> str:
        """The start of `text`, every secret and JWT in it masked (R10), in bounded time (R15).

        Masked first and cut after: a secret cut first would keep its start. So only the
        first `_masked_length` characters are masked, and what masking leaves of them is
        cut back by three times the longest secret, the most that a secret the first cut
        went through can take up once the secrets before it are masked (each "***"
        replaces at least one character).
        """
        length = self._masked_length
        cut = len(text) > length
        text = text[:length]
        for secret in self._secrets:
            text = text.replace(secret, "***")
        if cut:
            text = text[: max(0, len(text) - (length - MASKED_LENGTH))]
        return _masked_jwts(text, cut)

    def __repr__(self) -> str:
        return f"<Answer HTTP {self.status_code} to {self.call!r}>"


class Outgoing(Protocol):
    """The flow's view of the user's own request, whichever client sends it."""

    url: str
    """Absolute URL; assigning it changes the request (API keys travel in the query)."""

    @property
    def headers(self) -> MutableMapping[str, str]:
        """Case-insensitive and mutable: providers set their credentials here."""

    @property
    def origin(self) -> Origin | None: ...

    @property
    def replayable(self) -> bool:
        """Whether the body can be sent again (R5)."""

    def rewind(self) -> None:
        """Make the request ready to be sent once more."""


def drop_cookies(request: Outgoing, unwanted: Callable[[str, str], bool]) -> None:
    """Take the cookies `unwanted(name, value)` picks out of the request's Cookie header;
    the others stay, in their order."""
    header = request.headers.get("Cookie")
    if not header:
        return
    kept = []
    for pair in header.split(";"):
        name, _, value = pair.strip().partition("=")
        if name and not unwanted(name.strip(), value.strip().strip('"')):
            kept.append(pair.strip())
    if kept:
        request.headers["Cookie"] = "; ".join(kept)
    else:
        request.headers.pop("Cookie", None)


def string_field(value: object) -> str | None:
    """A non-empty string field of an answer; None for anything else."""
    return value if isinstance(value, str) and value else None


def parse_json(body: bytes) -> Any:
    """`json.loads` that fails only with ValueError, also on absurdly deep nesting."""
    try:
        return json.loads(body, parse_int=_integer)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _shortened(text: str, length: int) -> str:
    """`text` on one line, cut to `length` characters."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length] + "..."


def fits_header_value(value: str) -> bool:
    """Whether `value` can be written into a header as it is (R16): visible ASCII, nothing else.

    Stricter than RFC 9110, which allows inner spaces and obs-text: the tokens finauth
    sends are token68-like, and a CR, LF or NUL would split or break the request.
    """
    return _HEADER_VALUE.fullmatch(value) is not None


def fits_field_value(value: str) -> bool:
    """Whether `value` can be a header's whole value, as RFC 9110 allows it in ASCII:
    visible characters, with spaces or tabs between them only (R16). For identifiers,
    such as a tenant id; tokens must `fits_header_value`."""
    return _FIELD_VALUE.fullmatch(value) is not None


def fits_cookie_value(value: str) -> bool:
    """Whether `value` can be a cookie's value as it is: RFC 6265 cookie-octets, so no
    control character, whitespace, DQUOTE, comma, semicolon or backslash (R16)."""
    return _COOKIE_VALUE.fullmatch(value) is not None


_NOT_JSON: Any = object()
"""What `Answer._json` holds for a body that is no JSON."""
_NO_VALUE = object()
"""In `_members`: a piece of JSON text with no value after it."""


def _forms(secret: str) -> set[str]:
    """`secret` as typed, JSON-escaped (ASCII-only or not, once or twice: a JSON string
    inside a JSON string) and URL-encoded: each way a server may echo what it was sent."""
    escaped = {json.dumps(secret, ensure_ascii=ascii)[1:-1] for ascii in (True, False)}
    twice = {
        json.dumps(form, ensure_ascii=ascii)[1:-1] for form in escaped for ascii in (True, False)
    }
    encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret, safe="")}
    return {secret, *escaped, *twice, *encoded}


def _basic_password(credentials: str) -> Iterator[str]:
    """The password in Basic credentials, as sent (RFC 6749 form-encodes a client's secret
    in them) and decoded; nothing when they are not base64 of "user:password"."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return
    if password := decoded.partition(":")[2]:
        yield from {password, unquote_plus(password)}


def _masked_jwts(text: str, cut: bool) -> str:
    """`text` with every run of JWT characters that holds "eyJ" and two dots masked whole;
    when `text` was `cut`, the run the cut went through masked if it holds "eyJ", since a
    JWT cut short no longer has its dots."""
    if cut and (tail := _RUN.match(text[::-1])) and "eyJ" in text[len(text) - tail.end() :]:
        text = text[: len(text) - tail.end()] + "***"
    return _JWT_RUN.sub("***", text)


def _message_in(body: dict[str, Any]) -> str | None:
    """The message in one error object: the first of the usual fields, else the first error
    of a field that is no secret (a field named like one may list the secret itself)."""
    for key in ("message", "detail", "error_description", "error", "non_field_errors"):
        if message := _first_text(body.get(key)):
            return message
    for key, value in body.items():
        message = _first_text(value) if isinstance(value, list) else None
        if message and not _SECRET_FIELD.search(key):
            return f"{key}: {message}"
    return None


def _first_text(value: object) -> str | None:
    """A non-empty string, or the first item of a list when that is one."""
    if isinstance(value, list) and value:
        value = value[0]
    return string_field(value)


def _json_start(value: object, length: int, mask: Callable[[str], str]) -> str:
    """The start of `value` as `json.dumps(value, ensure_ascii=False)` writes it, `mask`
    applied to every key and string, secret-looking fields blanked: at least `length`
    characters, when the whole is as long.

    Written piece by piece with a stack, not recursion, so that neither a huge answer nor a
    deeply nested one costs more than the part that is shown (R15).
    """
    pieces: list[str] = []
    size = 0
    stack: list[Iterator[tuple[str, object]]] = [iter([("", value)])]
    while stack and size < length:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        piece, item = entry
        if isinstance(item, dict | list):
            stack.append(_members(item, mask))
        elif item is not _NO_VALUE:
            # `mask` cuts a long string, which then closes too early: but only past `length`.
            shown = mask(item) if isinstance(item, str) else item
            piece += json.dumps(shown, ensure_ascii=False)
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def _members(
    container: dict[str, Any] | list[Any], mask: Callable[[str], str]
) -> Iterator[tuple[str, object]]:
    """An object's or array's JSON text in pieces, each the text before a member and the
    member: keys masked, and the values of secret-looking fields blanked."""
    if isinstance(container, list):
        yield "[", _NO_VALUE
        for index, item in enumerate(container):
            yield ", " if index else "", item
        yield "]", _NO_VALUE
        return
    yield "{", _NO_VALUE
    for index, (key, item) in enumerate(container.items()):
        blanked = "***" if item and _SECRET_FIELD.search(key, 0, MASKED_LENGTH) else item
        yield f"{', ' if index else ''}{json.dumps(mask(key), ensure_ascii=False)}: ", blanked
    yield "}", _NO_VALUE


def _integer(digits: str) -> int:
    """An integer of an answer; more than MAX_DIGITS digits is no JSON finauth reads, since
    Python 3.10 converts them in quadratic time."""
    if len(digits) > MAX_DIGITS:
        raise ValueError(f"an integer of more than {MAX_DIGITS} digits")
    return int(digits)


def _strings(data: object) -> Iterator[str]:
    if isinstance(data, str):
        if data:
            yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)
