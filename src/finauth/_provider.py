"""What a provider is: a pure description of its wire format.

A provider says where and how to log in and refresh, how to read a token out of
the answer, and how a request carries the token. It does no I/O, holds no lock
and knows no HTTP client: the flow decides *when*, the adapters decide *how*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from ._origin import BaseURL
from ._token import Token
from ._wire import Answer, AuthCall, Outgoing, fits_header_value


class Provider(Protocol):
    """One API's login dance, described; `ProviderAuth` runs it.

    Every method is pure and quick: none may do I/O, sleep, take a lock or keep state
    between calls, since finauth calls them from any thread or event loop, in the middle
    of a flight others wait for. Whatever a method raises for a bad answer must be an
    R8 error, made with `Answer.unusable` or `Answer.rejected`.
    """

    @property
    def name(self) -> str:
        """As users know the API: "Fincrux". Every message and span names it."""

    @property
    def base(self) -> BaseURL:
        """The API's base URL (`parse_base_url`): credentials go to its origin only (R1)."""

    @property
    def identity(self) -> tuple[str, ...]:
        """Who logs in (never a secret): with `name`, `base` and `secrets`, its store key."""

    @property
    def secrets(self) -> tuple[str, ...]:
        """What proves the identity (a password, ...): bound into the store key, so that
        other secrets never get its token. Never logged, never in a repr."""

    @property
    def check(self) -> str:
        """What to check when the provider rejects the login, e.g. "the email and password"."""

    def login_call(self) -> AuthCall:
        """The login request, credentials and all (`AuthCall.post_json`, `post_form`)."""

    def refresh_call(self, token: Token) -> AuthCall | None:
        """How to renew `token` without the password; None when it cannot be (no refresh
        token, or an API with no refresh call): finauth then logs in again."""

    def read_login(self, answer: Answer) -> Token:
        """The token in a 2xx login answer, or an R8 error.

        finauth has dealt with every other status already (R8, R9): this reads a
        success only. A token this returns must be one `carries` accepts.
        """

    def read_refresh(self, answer: Answer, previous: Token) -> Token:
        """The token in a 2xx refresh answer, or an R8 error; keep what the answer does not
        renew (a refresh token that was not rotated) from `previous`. Any error here makes
        finauth fall back to a login (R3)."""

    def carries(self, token: Token) -> bool:
        """Whether every part of `token` this provider writes into a request (header, cookie,
        path) is safe to write (R16): `fits_header_value`, `fits_cookie_value`.
        `read_login` and `read_refresh` never return a token that is not; a token from a
        store may be, if someone tampered with it, and is then not used."""

    def apply(self, request: Outgoing, token: Token) -> None:
        """Attach `token` to a request bound for the provider's origin; finauth has checked
        the origin and `carries` already.

        An `apply` that only sets headers is asked once per token: finauth sets the same
        headers on each request sent with it (`header_credentials`). One that reads the
        request, removes something from it or changes its URL is given every request.
        """

    def withdraw(self, request: Outgoing) -> None:
        """Take back everything `apply` attached, before the request follows a redirect
        to another origin (R10)."""


@dataclass(frozen=True, repr=False)
class EmailLogin:
    """What providers that log in by POSTing `{"email", "password"}` as JSON share.

    A subclass, a frozen dataclass, sets `name` and `login_path` and adds the refresh,
    the reading of answers and how requests carry the token.
    """

    email: str
    password: str
    base: BaseURL

    name: ClassVar[str]
    login_path: ClassVar[str]
    check: ClassVar[str] = "the email and password"

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.email,)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password,)

    def login_call(self) -> AuthCall:
        payload = {"email": self.email, "password": self.password}
        return AuthCall.post_json(self.name, "login", self.base.join(self.login_path), payload)

    def __repr__(self) -> str:
        return f"email={self.email!r}, base_url={self.base.url!r}"


class BearerHeader:
    """How most APIs take a token, `Authorization: Bearer <access token>` (RFC 6750): a
    provider's `carries`, `apply` and `withdraw`, for a provider class to inherit."""

    def carries(self, token: Token) -> bool:
        return fits_header_value(token.access_token)

    def apply(self, request: Outgoing, token: Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.access_token}"

    def withdraw(self, request: Outgoing) -> None:
        request.headers.pop("Authorization", None)
