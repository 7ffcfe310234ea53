"""What the scenarios shared by both services need to know of each: test_both_services.py.

Everything that differs between Fincrux (SimpleJWT) and Finvera (dj-rest-auth) for those
scenarios is here; what only one service does is tested in its own module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from finauth import FincruxJWTAuth, FinveraCookieAuth
from finauth._auth import ProviderAuth


@dataclass(frozen=True)
class Service:
    name: str
    """The test id."""
    auth: Callable[..., ProviderAuth]
    """Builds its auth: `auth(email, password, base_url=..., **options)`."""
    path: str
    """A protected URL path, answering 200 to a valid token and 401 to a refused one."""
    login: str
    refresh: str
    api: str
    """The endpoint names `RealServer.seen()` gives its login, refresh and `path`."""
    wrong_password_status: int
    wrong_password_message: str
    """The status and provider message of its login's answer to a wrong password."""
    password_changed_code: str | None = None
    """The `code` of the API's 401 once the password hash changed; None: not asserted."""
    refresh_cookie: str | None = None
    """A cookie its refresh call must carry; None: not asserted."""
    api_cookies: tuple[str, ...] | None = None
    """Exactly the cookies its API calls carry; None: not asserted."""


FINCRUX = Service(
    name="fincrux",
    auth=FincruxJWTAuth,
    path="/api/search/aapl",
    login="fincrux-login",
    refresh="fincrux-refresh",
    api="fincrux-search",
    wrong_password_status=401,
    wrong_password_message="No active account found with the given credentials",  # SimpleJWT's
    password_changed_code="password_changed",  # SimpleJWT's CHECK_REVOKE_TOKEN
)

FINVERA = Service(
    name="finvera",
    auth=FinveraCookieAuth,
    path="/kms/api/v1/news/feed",
    login="finvera-login",
    refresh="finvera-refresh",
    api="finvera-feed",
    wrong_password_status=400,
    wrong_password_message="Unable to log in with provided credentials.",  # dj-rest-auth's
    refresh_cookie="DT_REFRESH_TOKEN",
    api_cookies=("DT_AUTH_TOKEN",),  # not the sessionid and csrftoken of its login (R18)
)

SERVICES = (FINCRUX, FINVERA)
