"""The neutral values that pass between a provider, the flow and the client adapters.

A provider describes a login or refresh as an `AuthCall` and reads the `Answer`;
it touches the user's request only through `Outgoing`. None of these know which
HTTP client is in use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from ._errors import LoginError, ProviderResponseError, RateLimitedError
from ._origin import Origin
from ._retry import retry_after_seconds

EXCERPT_LENGTH = 160
_SECRET_FIELD = re.compile(r"token|access|refresh|secret|password|key|session|cookie", re.I)
_JWT_LIKE = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")


@dataclass(frozen=True, repr=False)
class AuthCall:
    """A login or refresh request, as the provider wants it sent."""

    provider: str
    purpose: str
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def post_json(
        cls,
        provider: str,
        purpose: str,
        url: str,
        payload: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
    ) -> AuthCall:
        """A POST with a JSON body, the shape every provider's auth endpoints take."""
        return cls(
            provider,
            purpose,
            "POST",
            url,
            {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})},
            json.dumps(payload).encode(),
        )

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.url}"

    def secrets(self) -> Iterator[str]:
        """What this call carries that must never be echoed: credentials, tokens."""
        if self.body:
            with suppress(ValueError):
                yield from _strings(parse_json(self.body))
        if authorization := self.headers.get("Authorization"):
            yield authorization.partition(" ")[2] or authorization
        for pair in self.headers.get("Cookie", "").split(";"):
            if value := pair.partition("=")[2].strip():
                yield value

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

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or a ProviderResponseError saying why not."""
        try:
            data = parse_json(self.body)
        except ValueError:
            raise self.unusable("the body is not JSON") from None
        if not isinstance(data, dict):
            raise self.unusable("the body is JSON but not an object")
        return data

    def raise_for_status(self, check: str, attempts: int = 1) -> None:
        """Insist on a 2xx answer; `check` says what to check if the provider refused.

        429 is a rate limit (after `attempts` tries), 400/401/403 a refusal, and
        anything else that is not 2xx an answer no token can come from.
        """
        if self.status_code == 429:
            raise self.rate_limited(attempts)
        if self.status_code in (400, 401, 403):
            raise self.rejected(check)
        if not 200 <= self.status_code < 300:
            raise self.unusable("expected a 2xx answer")

    def unusable(self, reason: str) -> ProviderResponseError:
        """The error for an answer no token can be read from."""
        call = self.call
        return ProviderResponseError(
            f"{call.provider} {call.purpose} at {call.endpoint} gave an unusable answer "
            f"(HTTP {self.status_code}): {reason}. Check that base_url points at the "
            f"{call.provider} API. The answer began: {self.excerpt()!r}",
            provider=call.provider,
            endpoint=call.endpoint,
            status_code=self.status_code,
            excerpt=self.excerpt(),
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
        """The human message a provider put in its error body, secrets masked."""
        try:
            data = parse_json(self.body)
        except ValueError:
            return None
        for body in (data, data.get("data") if isinstance(data, dict) else None):
            if not isinstance(body, dict):
                continue
            for key in ("message", "detail", "error_description", "error"):
                if isinstance(body.get(key), str) and body[key]:
                    return self._masked(body[key])[:EXCERPT_LENGTH]
        return None

    def excerpt(self) -> str:
        """The start of the body, with every credential and token masked (R10)."""
        try:
            text = self._masked_json(parse_json(self.body))
        except ValueError:
            # Masked whole, then cut: cut first, a secret across the cut would keep its start.
            text = self._masked(self.body.decode("utf-8", "replace"))
        return _shortened(text, EXCERPT_LENGTH)

    def quoted(self, value: object, length: int = 40) -> str:
        """`value`, read from the body, as JSON for a message: secrets masked (R10), short."""
        try:
            return _shortened(self._masked_json(value), length)
        except ValueError:
            return "(nested too deeply to show)"

    def _masked_json(self, value: object) -> str:
        """`value` as JSON, secrets masked; ValueError when it is nested too deeply."""
        try:
            # Masked while parsed: once encoded, a password with a quote or an accent
            # would no longer match itself.
            text = json.dumps(_masked_fields(value, self._masked), ensure_ascii=False)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        return self._masked(text)

    def _masked(self, text: str) -> str:
        for secret in self.call.secrets():
            text = text.replace(secret, "***")
        return _JWT_LIKE.sub("***", text)

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


def text(value: object) -> str | None:
    """A non-empty string field of an answer; None for anything else."""
    return value if isinstance(value, str) and value else None


def parse_json(body: bytes) -> Any:
    """`json.loads` that fails only with ValueError, also on absurdly deep nesting."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _shortened(text: str, length: int) -> str:
    """`text` on one line, cut to `length` characters."""
    text = " ".join(text.split())
    return text if len(text) <= length else text[:length] + "..."


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


def _masked_fields(data: object, mask: Callable[[str], str]) -> object:
    """`data` with secret-looking fields blanked and `mask` applied to every string."""
    if isinstance(data, dict):
        return {
            mask(key): "***" if _SECRET_FIELD.search(key) and value else _masked_fields(value, mask)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_masked_fields(value, mask) for value in data]
    return mask(data) if isinstance(data, str) else data
