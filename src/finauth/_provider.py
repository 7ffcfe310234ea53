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
from ._wire import Answer, AuthCall, Outgoing


class Provider(Protocol):
    @property
    def name(self) -> str:
        """As users know it: "Fincrux"."""

    @property
    def base(self) -> BaseURL: ...

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

    def login_call(self) -> AuthCall: ...

    def refresh_call(self, token: Token) -> AuthCall | None:
        """How to renew `token` without the password; None when it cannot be."""

    def read_login(self, answer: Answer) -> Token:
        """The token in a 2xx login answer, or an R8 error."""

    def read_refresh(self, answer: Answer, previous: Token) -> Token:
        """The token in a 2xx refresh answer, or an R8 error."""

    def carries(self, token: Token) -> bool:
        """Whether every part of `token` this provider writes into a request (header, cookie,
        path) is safe to write (R16). `read_login` and `read_refresh` never return a token
        that is not; a token from a store may be, if someone tampered with it."""

    def apply(self, request: Outgoing, token: Token) -> None:
        """Attach `token` to a request bound for the provider's origin."""

    def withdraw(self, request: Outgoing) -> None:
        """Take back what `apply` attached, before the request follows a redirect elsewhere."""


@dataclass(frozen=True, repr=False)
class EmailLogin:
    """What providers that log in by POSTing `{"email", "password"}` as JSON share."""

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
