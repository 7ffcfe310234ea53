"""HTTPie auth plugins: `http -A fincrux|finvera|finhub -a USER:PASSWORD URL`.

Registered under the `httpie.plugins.auth.v1` entry point (the `finauth[httpie]`
extra). HTTPie imports every installed plugin on each run, and `import finauth`
never imports this module, so only HTTPie pays for it; the providers themselves
are imported when a plugin is actually chosen.

`-a` carries the e-mail (FinHub: the user name) and password; without `-a` the
provider's `from_env()` supplies everything. FinHub's other fields always come
from the `FINHUB_*` environment variables. HTTPie's `--timeout` bounds the login
and refresh calls too (finauth's 30 s when it is not given).

HTTPie builds the auth before it knows which request it will authenticate, so the
auth is made on the first request, for one origin (R1): `<PROVIDER>_BASE_URL` when
set; else the URL's own origin when its host is loopback, which makes `http -A
fincrux -a e:p http://127.0.0.1:8400/...` reach a sandbox without sending anything
off the machine; else the provider's production URL. A URL at any other origin is
refused before anything is sent (see `DeferredAuth.base_url_for`). Errors raised
then (a refused URL, a rejected login, a missing variable) reach HTTPie's own
handler, which prints `http: error: LoginError: ...` and exits 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, ClassVar

import requests
from httpie.plugins import AuthPlugin

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from ._auth import ProviderAuth
    from .providers.fincrux import FincruxJWTAuth
    from .providers.finhub import FinHubSessionAuth
    from .providers.finvera import FinveraCookieAuth

__all__ = ["FinHubAuthPlugin", "FincruxAuthPlugin", "FinveraAuthPlugin"]

Factory = Callable[[str], "ProviderAuth"]
"""Makes the provider's auth for a `base_url`."""


class DeferredAuth(requests.auth.AuthBase):
    """The provider's auth, made on the first request, when its origin is known."""

    def __init__(self, provider: str, factory: Factory, environ: Mapping[str, str]) -> None:
        self._provider = provider
        self._factory = factory
        self._environ = environ
        self._auth: ProviderAuth | None = None

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._auth is None:
            self._auth = self._factory(self.base_url_for(r.url or ""))
        result: requests.PreparedRequest = self._auth(r)
        return result

    def base_url_for(self, url: str) -> str:
        """The base URL for a run whose request goes to `url`; a ConfigurationError when
        `url` is at another origin than that base URL's.

        `<PROVIDER>_BASE_URL` when set, else `url`'s origin when it is loopback (a
        sandbox), else the production URL. Never any other origin that `url` names:
        with the credentials exported, `http -A fincrux https://elsewhere/` would
        otherwise send the password to whichever host was typed.

        A URL elsewhere is refused rather than sent without credentials, as R1 would
        have it for a library call: a user who typed `-A fincrux` asked for that login,
        and an unauthenticated request would come back as that server's 401 (or, worse,
        its public page), looking like a wrong password or a working auth, while the
        fix, `<PROVIDER>_BASE_URL`, stays out of sight. The refusal comes before any
        connection, so nothing at all goes to that host. A redirect elsewhere is no
        such request: it is followed without credentials (R1, R10).
        """
        from ._config import with_likely_scheme
        from ._origin import is_loopback, origin_of

        variable = f"{self._provider.upper()}_BASE_URL"
        configured = self._environ.get(variable)
        target = origin_of(url)
        if not configured and target is not None and is_loopback(target.host):
            return target.url
        if configured and (fixed := with_likely_scheme(configured)) is not None:
            raise ConfigurationError(
                f"{self._provider}: {variable} {configured.strip()} has no http:// or "
                f"https://; did you mean {variable}={fixed}?",
                provider=self._provider,
            )
        base_url = configured or _default_base_url(self._provider)
        served = origin_of(base_url)
        if served is None or served == target:
            return base_url  # an unusable base URL is reported by from_env
        raise ConfigurationError(
            f"{self._provider}: -A {self._provider.lower()} logs in at {served.url} only, "
            f"not at {target.url if target else 'that URL'}; to use another server, "
            f"set {variable} to its address",
            provider=self._provider,
        )

    def __repr__(self) -> str:
        return f"DeferredAuth({self._auth!r})" if self._auth else f"DeferredAuth({self._provider})"


class FinauthPlugin(AuthPlugin):  # type: ignore[misc]  # httpie is untyped
    """What the three plugins share: `-a` optional, its password prompted for if left out.

    `-a` stands in for two of the variables `from_env()` reads, the account and the
    password, so one path serves with or without it.
    """

    provider: ClassVar[str]
    account_variable: ClassVar[str] = "EMAIL"
    """The variable `-a`'s user part stands in for, without the provider's prefix."""
    auth_require = False  # without -a, the provider's from_env() supplies the credentials
    auth_parse = True
    prompt_password = True
    netrc_parse = False  # a .netrc entry would silently beat the environment

    def get_auth(self, username: str | None = None, password: str | None = None) -> DeferredAuth:
        """An auth HTTPie can prepare requests with; no I/O and no check until the first one."""
        prefix = self.provider.upper()
        environ = dict(os.environ)
        if username is not None or password is not None:
            environ[f"{prefix}_{self.account_variable}"] = username or ""
            environ[f"{prefix}_PASSWORD"] = password or ""
        timeout = _httpie_timeout()
        options = {} if timeout is None else {"timeout": timeout}

        def make(base_url: str) -> ProviderAuth:
            variables = {**environ, f"{prefix}_BASE_URL": base_url}
            return self._auth_class().from_env(variables, **options)

        return DeferredAuth(self.provider, make, environ)

    def _auth_class(self) -> type[FincruxJWTAuth | FinveraCookieAuth | FinHubSessionAuth]:
        raise NotImplementedError


def _httpie_timeout() -> float | None:
    """The `--timeout` of the HTTPie run asking for an auth; None when it set none.

    HTTPie hands that timeout to requests' `send` only, after the auth has prepared
    the request, and the auth logs in while preparing it: too late to learn it from
    the request. HTTPie's plugin API gives `get_auth()` the credentials alone, but
    calls it from its argument parser, which holds every parsed option by then;
    the plugin reads it there. Should a later HTTPie keep it elsewhere, the login
    keeps finauth's own bound (30 s) rather than failing.
    """
    from httpie.cli.definition import parser

    timeout = getattr(getattr(parser, "args", None), "timeout", None)
    if isinstance(timeout, int | float) and timeout > 0:  # 0, HTTPie's default: no limit
        return float(timeout)
    return None


class FincruxAuthPlugin(FinauthPlugin):
    """`-A fincrux -a email:password`: Fincrux JWTs, `Authorization: JWT <access>`."""

    name = "Fincrux JWT auth"
    auth_type = "fincrux"
    description = "Log in to Fincrux with -a email:password (or FINCRUX_EMAIL/FINCRUX_PASSWORD)."
    provider = "Fincrux"

    def _auth_class(self) -> type[FincruxJWTAuth]:
        from .providers.fincrux import FincruxJWTAuth

        return FincruxJWTAuth


class FinveraAuthPlugin(FinauthPlugin):
    """`-A finvera -a email:password`: Finvera's `DT_AUTH_TOKEN` cookie."""

    name = "Finvera cookie auth"
    auth_type = "finvera"
    description = "Log in to Finvera with -a email:password (or FINVERA_EMAIL/FINVERA_PASSWORD)."
    provider = "Finvera"

    def _auth_class(self) -> type[FinveraCookieAuth]:
        from .providers.finvera import FinveraCookieAuth

        return FinveraCookieAuth


class FinHubAuthPlugin(FinauthPlugin):
    """`-A finhub -a username:password`, the tenant and account ids and keys from FINHUB_*."""

    name = "FinHub session auth"
    auth_type = "finhub"
    description = (
        "Log in to FinHub with -a username:password; FINHUB_ORGANIZATION_ID, FINHUB_USER_ID, "
        "FINHUB_TENANT_ID, FINHUB_TENANT_KEY and FINHUB_TENANT_SECRET from the environment."
    )
    provider = "FinHub"
    account_variable = "USERNAME"

    def _auth_class(self) -> type[FinHubSessionAuth]:
        from .providers.finhub import FinHubSessionAuth

        return FinHubSessionAuth


def _default_base_url(provider: str) -> str:
    """The provider's production URL, its module imported only now (see the module doc)."""
    module = import_module(f".providers.{provider.lower()}", __package__)
    default: str = module.DEFAULT_BASE_URL
    return default
