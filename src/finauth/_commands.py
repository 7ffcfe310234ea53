"""`finauth login PROVIDER` and `finauth get PROVIDER PATH`: a provider's API from the shell.

Credentials come from the variables each auth's `from_env` reads, or, for a
variable that is not set, from a prompt when stdin is a terminal. Every expected
failure is one line on stderr and a documented exit status, never a traceback,
and no secret is ever printed: tokens are masked, passwords are never echoed.

The calls go through `requests`: `ProviderAuth.login()` already logs in over the
auth's requests session, so with requests for the GET as well, one exception
family (`requests.RequestException`) covers every network failure.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import textwrap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from . import _errors
from ._auth import ProviderAuth
from ._config import with_likely_scheme
from ._origin import is_loopback, parse_base_url
from ._token import Token, jwt_claims
from .providers import fincrux, finhub, finvera

OK = 0
USAGE = 2
CONFIGURATION = 3
HTTP_ERROR = 4
AUTH_ERROR = 5
NETWORK_ERROR = 6
INTERRUPTED = 130

EXIT_CODES = f"""\
exit status:
  {OK}    success (for get: the API answered 2xx)
  {USAGE}    usage error: bad arguments, an unknown provider, a full URL as PATH
  {CONFIGURATION}    configuration: a variable not set (and no terminal to prompt on),
       an unusable or insecure --base-url or *_BASE_URL
  {HTTP_ERROR}    get: the API answered an HTTP error status (4xx or 5xx)
  {AUTH_ERROR}    login failed: credentials refused, an unusable answer, rate limited
  {NETWORK_ERROR}    network: host unreachable, connection refused, timed out, TLS error
  {INTERRUPTED}  interrupted (Ctrl-C)
"""

SECRET_VARIABLES = frozenset({"PASSWORD", "TENANT_KEY", "TENANT_SECRET"})
"""Suffixes of the variables prompted for without echo."""

FULL_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
"""The start of a URL with a scheme, where `get` expects a path."""


class Failure(Exception):
    """An expected failure: the one line to print and the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ProviderCommand:
    """What the commands need to know of one provider."""

    name: str
    prefix: str
    variables: tuple[str, ...]
    """Required variables, without the prefix; the first names the account."""
    default_base_url: str
    from_env: Callable[..., ProviderAuth]

    def variable(self, suffix: str) -> str:
        return f"{self.prefix}_{suffix}"


PROVIDERS: Mapping[str, ProviderCommand] = {
    "fincrux": ProviderCommand(
        "Fincrux",
        "FINCRUX",
        ("EMAIL", "PASSWORD"),
        fincrux.DEFAULT_BASE_URL,
        fincrux.FincruxJWTAuth.from_env,
    ),
    "finvera": ProviderCommand(
        "Finvera",
        "FINVERA",
        ("EMAIL", "PASSWORD"),
        finvera.DEFAULT_BASE_URL,
        finvera.FinveraCookieAuth.from_env,
    ),
    "finhub": ProviderCommand(
        "FinHub",
        "FINHUB",
        (
            "USERNAME",
            "ORGANIZATION_ID",
            "USER_ID",
            "TENANT_ID",
            "PASSWORD",
            "TENANT_KEY",
            "TENANT_SECRET",
        ),
        finhub.DEFAULT_BASE_URL,
        finhub.FinHubSessionAuth.from_env,
    ),
}


# -- the parsers -----------------------------------------------------------------------------
def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `login` and `get` under the `finauth` parser's sub-commands."""
    login = commands.add_parser(
        "login",
        help="log in to a provider and print the token's expiry and claims, masked",
        description="Log in with the credentials in the environment (prompting on a\n"
        "terminal for any not set) and print who logged in where, the token's expiry\n"
        "and its claims. The token is masked; passwords are never printed.",
        epilog=_environment_help() + "\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_arguments(login, "print a JSON object instead of text")
    get = commands.add_parser(
        "get",
        help="GET a path of a provider's API with a fresh login and print the answer",
        description="Log in as `finauth login` does, GET base_url + PATH with the token\n"
        "and print the answer's body.",
        epilog=_environment_help() + "\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_arguments(get, "pretty-print the answer as JSON")
    get.add_argument("path", metavar="PATH", help="path under the base URL, e.g. /api/search/X")


def _common_arguments(parser: argparse.ArgumentParser, json_help: str) -> None:
    parser.add_argument("provider", metavar="PROVIDER", help=", ".join(PROVIDERS))
    parser.add_argument(
        "--base-url",
        help="the API's address, e.g. a `finauth sandbox` URL (default: the "
        "provider's *_BASE_URL variable, else its production URL); plain http only on loopback",
    )
    parser.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow a plain http:// base URL off loopback: credentials and tokens then "
        "travel in clear text",
    )
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per HTTP call (default: 30)"
    )


def _environment_help() -> str:
    lines = ["environment (a variable not set is prompted for on a terminal):"]
    for command in PROVIDERS.values():
        names = [*map(command.variable, command.variables), f"[{command.variable('BASE_URL')}]"]
        lines += textwrap.wrap(
            " ".join(names), 78, initial_indent=f"  {command.name}: ", subsequent_indent="    "
        )
    return "\n".join(lines) + "\n"


# -- running them ----------------------------------------------------------------------------
def run(arguments: argparse.Namespace) -> int:
    """Run `login` or `get`; every expected failure becomes one stderr line and a status."""
    where = f"finauth {arguments.command}"
    try:
        if arguments.command == "login":
            return _login(arguments)
        return _get(arguments)
    except Failure as failure:
        one_line = str(failure).replace("\n", " ")
        print(f"{where}: {one_line}", file=sys.stderr)
        return failure.status
    except KeyboardInterrupt:
        print(file=sys.stderr)  # end the prompt's line, if one was open
        return INTERRUPTED


def _login(arguments: argparse.Namespace) -> int:
    command, base_url = _server(arguments)
    environ = _credentials(command, base_url)
    with _guarded(base_url), _open_auth(command, environ, arguments) as auth:
        token = auth.login()
    account = environ[command.variable(command.variables[0])]
    report = _login_report(arguments.provider.lower(), account, environ, command, token)
    if arguments.json:
        print(json.dumps(report, indent=2))
    else:
        print(_login_text(command, report))
    return OK


def _get(arguments: argparse.Namespace) -> int:
    command, base_url = _server(arguments)
    _refuse_full_url(arguments, base_url)
    environ = _credentials(command, base_url)
    url = base_url.rstrip("/") + "/" + arguments.path.lstrip("/")
    with (
        _guarded(base_url),
        _open_auth(command, environ, arguments) as auth,
        requests.Session() as session,
        session.get(url, auth=auth, timeout=arguments.timeout) as response,
    ):
        body = response.text
        ok = response.ok
        status = f"HTTP {response.status_code} {response.reason}: GET {url}"
    print(_body(body, pretty=arguments.json))
    if not ok:
        raise Failure(status, HTTP_ERROR)
    return OK


def _open_auth(
    command: ProviderCommand, environ: Mapping[str, str], arguments: argparse.Namespace
) -> ProviderAuth:
    return command.from_env(
        environ, timeout=arguments.timeout, allow_insecure=arguments.allow_insecure
    )


def _server(arguments: argparse.Namespace) -> tuple[ProviderCommand, str]:
    """The provider and the base URL to reach it at, checked before any prompt or I/O."""
    command = PROVIDERS.get(arguments.provider.lower())
    if command is None:
        raise Failure(
            f"unknown provider {arguments.provider!r}; choose one of {', '.join(PROVIDERS)}",
            USAGE,
        )
    variable = command.variable("BASE_URL")
    if arguments.base_url:
        source, base_url = "--base-url", arguments.base_url
    elif os.environ.get(variable):
        source, base_url = variable, os.environ[variable]
    else:
        return command, command.default_base_url
    try:
        parse_base_url(base_url, provider=command.name, allow_insecure=arguments.allow_insecure)
    except _errors.ConfigurationError as error:
        raise Failure(_base_url_advice(base_url, source, error), CONFIGURATION) from None
    return command, base_url


def _base_url_advice(base_url: str, source: str, error: _errors.ConfigurationError) -> str:
    """Why `base_url`, given by `source` (the option or a variable), is refused, and the
    likely fix, in the command line's words."""
    fixed = with_likely_scheme(base_url)
    if fixed is not None:
        setting = f"{source} {fixed}" if source.startswith("--") else f"{source}={fixed}"
        return f"{source} {base_url.strip()} has no http:// or https://; did you mean {setting}?"
    advice = str(error).replace("allow_insecure=True", "--allow-insecure")
    return advice if source.startswith("--") else f"{advice} (base_url from {source})"


def _refuse_full_url(arguments: argparse.Namespace, base_url: str) -> None:
    """A usage Failure, with the command to run instead, for a full URL given as PATH:
    PATH is joined to the base URL, so the URL would be sent to the base URL's host."""
    if FULL_URL.match(arguments.path) is None:
        return
    parts = urlsplit(arguments.path)
    under_base = f"{_origin(arguments.path)}{parts.path}".startswith(base_url.rstrip("/") + "/")
    path = parts.path[len(urlsplit(base_url).path.rstrip("/")) :] if under_base else parts.path
    hint = f"finauth get {arguments.provider.lower()} {path or '/'}"
    if parts.query:
        hint += "?..."
    if _origin(arguments.path) != _origin(base_url):
        hint += f" --base-url {_origin(arguments.path)}"
    raise Failure(
        f"PATH is a path under the base URL ({base_url}), not a full URL; try: {hint}", USAGE
    )


def _credentials(command: ProviderCommand, base_url: str) -> dict[str, str]:
    """The variables the provider's `from_env` will read, prompted for if need be."""
    environ = dict(os.environ)
    environ[command.variable("BASE_URL")] = base_url
    missing = [
        suffix
        for suffix in command.variables
        if not environ.get(command.variable(suffix), "").strip()
    ]
    if missing and not (sys.stdin is not None and sys.stdin.isatty()):
        names = ", ".join(map(command.variable, missing))
        raise Failure(
            f"{names} not set and stdin is not a terminal to prompt on; export the variable(s)",
            CONFIGURATION,
        )
    for suffix in missing:
        environ[command.variable(suffix)] = _prompt(command.variable(suffix), suffix)
    return environ


def _prompt(name: str, suffix: str) -> str:
    """Ask for one variable on the terminal: a secret without echo, the rest with `input`."""
    try:
        if suffix in SECRET_VARIABLES:
            value = getpass.getpass(f"{name}: ", stream=sys.stderr)
        else:
            print(f"{name}: ", end="", file=sys.stderr, flush=True)
            value = input()
    except EOFError:
        value = ""
    if not value.strip():
        raise Failure(f"{name}: nothing entered", CONFIGURATION)
    return value


@contextmanager
def _guarded(base_url: str) -> Iterator[None]:
    """Turn finauth's and the network's errors inside the block into Failures."""
    try:
        yield
    except _errors.ConfigurationError as error:  # InsecureTransportError included
        raise Failure(str(error), CONFIGURATION) from None
    except _errors.FinauthError as error:
        raise Failure(str(error), AUTH_ERROR) from None
    except requests.RequestException as error:
        reason = _reason(error)
        if reason == "connection refused" and is_loopback(urlsplit(base_url).hostname or ""):
            reason += "; is `finauth sandbox` running, at that port?"
        raise Failure(f"cannot reach {_origin(base_url)}: {reason}", NETWORK_ERROR) from None


def _origin(url: str) -> str:
    """scheme://host[:port] of `url`: where the failure was, without path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _reason(error: BaseException) -> str:
    """The root cause of a network error, in a few words, e.g. "connection refused"."""
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS handshake failed (certificate or protocol)"
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror[:1].lower() + cause.strerror[1:]
    return type(error).__name__


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps: urllib3 keeps causes in `args`, `reason` and `__cause__`."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        pending.extend(item for item in (*linked, *current.args) if isinstance(item, BaseException))


# -- what they print -------------------------------------------------------------------------
def mask(token: str) -> str:
    """Enough of a token to tell two apart, never enough to use: its first 4 characters."""
    return f"{token[:4]}...({len(token)} chars)" if len(token) >= 16 else "***"


def _login_report(
    provider: str,
    account: str,
    environ: Mapping[str, str],
    command: ProviderCommand,
    token: Token,
) -> dict[str, Any]:
    return {
        "provider": provider,
        "account": account,
        "base_url": environ[command.variable("BASE_URL")],
        "expires_at": token.expires_at.isoformat(),
        "expires_in": round(token.expires_in),
        "token": mask(token.access_token),
        "claims": jwt_claims(token.access_token) or {},
    }


def _login_text(command: ProviderCommand, report: Mapping[str, Any]) -> str:
    claims = ", ".join(f"{name}={value}" for name, value in report["claims"].items())
    return "\n".join(
        [
            f"{command.name}: logged in as {report['account']} at {report['base_url']}",
            f"  token:      {report['token']}",
            f"  expires at: {report['expires_at']} (in {report['expires_in']} s)",
            f"  claims:     {claims or '(not a JWT)'}",
        ]
    )


def _body(text: str, *, pretty: bool) -> str:
    """The answer as printed: indented JSON when asked for and possible, else as sent."""
    if pretty:
        try:
            return json.dumps(json.loads(text), indent=2)
        except ValueError:
            print("finauth get: the answer is not JSON; printed as sent", file=sys.stderr)
    return text.rstrip("\n")
