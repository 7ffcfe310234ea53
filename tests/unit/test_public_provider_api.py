"""The public extension API for providers of one's own: `finauth.providers`, `finauth.testing`.

These names are a promise (their modules are private and may change), so each must be
importable and documented, and the OAuth 2.0 example of examples/oauth2 must be buildable
from them alone. The behaviours an OAuth 2.0 provider leans on are checked one by one:
form-encoded calls whose field values and HTTP Basic client secret are masked in what an
answer shows, a provider's own repr masked by ProviderAuth, expiry read from the access
token's JWT without `claims=`, an emulator telling a token endpoint's login from its
refresh by the grant, and the example auth's refusals at construction.
"""

from __future__ import annotations

import ast
import base64
import inspect
import itertools
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import quote_plus, urlencode

import httpx
import jwt
import pytest
from oauth2_auth import OAuth2Auth
from oauth2_emulator import OAuth2Emulator

import finauth.providers
import finauth.testing
from finauth import InsecureTransportError
from finauth.providers import (
    Answer,
    AuthCall,
    BaseURL,
    BearerHeader,
    ConfigurationError,
    ProviderAuth,
    Token,
    issue_token,
    parse_base_url,
)
from finauth.testing import Call

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "oauth2"
PUBLIC = (finauth.providers, finauth.testing)


# -- the names: importable, documented --------------------------------------------------------


def attribute_docstring(module: ModuleType, name: str) -> str | None:
    """The docstring under the assignment of `name` where `module` imports it from (a type
    alias or a constant has no `__doc__` of its own)."""
    source = module
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.ImportFrom) and any(a.name == name for a in node.names):
            package = module.__name__ if hasattr(module, "__path__") else module.__package__
            source = sys.modules[
                f"{package}.{node.module}" if node.level == 1 else f"finauth.{node.module}"
            ]
    body = ast.parse(inspect.getsource(source)).body
    for assignment, after in itertools.pairwise(body):
        targets = (
            assignment.targets
            if isinstance(assignment, ast.Assign)
            else [assignment.target]
            if isinstance(assignment, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
                return str(after.value.value)
            return None
    return None


def docstring(module: ModuleType, name: str) -> str | None:
    value = getattr(module, name)
    if inspect.isclass(value):
        return value.__dict__.get("__doc__")  # its own, not one inherited
    if inspect.isroutine(value):
        return value.__doc__
    return attribute_docstring(module, name)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        pytest.param(
            module,
            name,
            id=f"{module.__name__}.{name}",
        )
        for module in PUBLIC
        for name in module.__all__
    ],
)
def test_every_public_name_is_importable_and_documented(module: ModuleType, name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import {name}", namespace)
    assert namespace[name] is getattr(module, name)
    assert (docstring(module, name) or "").strip(), f"{module.__name__}.{name} has no docstring"


# -- the example: public names only ---------------------------------------------------------


def private_uses(source: str) -> list[str]:
    """Each private finauth module imported, private name imported from finauth, or private
    attribute read from something imported from finauth, in `source`."""
    found: list[str] = []
    bound: set[str] = set()  # local names of what was imported from finauth
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "finauth":
                    found += [alias.name] if _private_part(alias.name) else []
                    bound.add(alias.asname or "finauth")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "finauth":
            module = node.module or ""
            found += [module] if _private_part(module) else []
            for alias in node.names:
                found += [f"{module}.{alias.name}"] if alias.name.startswith("_") else []
                bound.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and node.attr.startswith("_")
            and not node.attr.endswith("__")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def _private_part(module: str) -> bool:
    return any(part.startswith("_") for part in module.split("."))


def test_the_private_use_scan_finds_each_kind_of_private_use() -> None:
    source = """
import finauth._wire
import finauth.testing._emulator as emulator
from finauth._auth import ProviderAuth
from finauth.testing import _clients
from finauth import providers as p
import finauth
p._wire
finauth._retry.BASE_DELAY
p.AuthCall.__name__
"""
    assert private_uses(source) == [
        "finauth._wire",
        "finauth.testing._emulator",
        "finauth._auth",
        "finauth.testing._clients",
        "p._wire",
        "finauth._retry",
    ]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda path: path.name)
def test_the_oauth2_example_uses_no_private_finauth_module_or_name(path: Path) -> None:
    source = path.read_text()
    assert "finauth" in source  # it is built on finauth: the scan has something to look at
    assert private_uses(source) == []


# -- form calls: every secret masked in what an answer shows ----------------------------------


def test_an_answer_masks_form_fields_and_the_basic_client_secret_but_not_the_grant() -> None:
    pair = f"{quote_plus('client')}:{quote_plus('s3cr/et')}"  # "client:s3cr%2Fet"
    basic = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    fields = {"grant_type": "password", "username": "u", "password": "hunter2-secret"}
    call = AuthCall.post_form(
        "OAuth2", "login", "https://api.example.com/oauth/token", fields, basic
    )
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.body == urlencode(fields).encode()
    echo = {
        "error": "invalid_grant",
        "error_description": "Invalid password hunter2-secret for s3cr/et",
    }
    answer = Answer(call, 400, (("Content-Type", "application/json"),), json.dumps(echo).encode())
    assert answer.provider_message() == "Invalid password *** for ***"
    excerpt = answer.excerpt()
    assert "Invalid password *** for ***" in excerpt
    assert "invalid_grant" in excerpt
    for secret in ("hunter2-secret", "s3cr/et", "s3cr%2Fet"):
        assert secret not in excerpt


# -- ProviderAuth's repr: the provider's secrets masked --------------------------------------


@dataclass(frozen=True, repr=False)
class Vault(BearerHeader):
    """A provider with no repr of its own: ProviderAuth shows its identity and base_url."""

    base: BaseURL
    user: str
    password: str

    name: ClassVar[str] = "Vault"
    check: ClassVar[str] = "the user and password"

    @property
    def identity(self) -> tuple[str, ...]:
        return (self.user,)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.password,)

    def login_call(self) -> AuthCall:
        payload = {"user": self.user, "password": self.password}
        return AuthCall.post_json(self.name, "login", self.base.join("/login"), payload)

    def refresh_call(self, token: Token) -> AuthCall | None:
        return None

    def read_login(self, answer: Answer) -> Token:
        body = answer.json_object()
        return issue_token(str(body["token"]), None, received_at=answer.received_at)

    def read_refresh(self, answer: Answer, previous: Token) -> Token:
        return self.read_login(answer)


@dataclass(frozen=True)
class ChattyVault(Vault):
    """The same with a dataclass's own repr, which shows every field, the password too."""


VAULT = parse_base_url("https://vault.example", provider="Vault", allow_insecure=False)


def test_auth_repr_masks_the_secrets_a_providers_dataclass_repr_shows() -> None:
    provider = ChattyVault(VAULT, "someone", "hunter2-secret")
    assert "hunter2-secret" in repr(provider)
    with ProviderAuth(provider) as auth:
        shown = repr(auth)
    assert shown.startswith("ProviderAuth(ChattyVault(")
    assert "user='someone'" in shown
    assert "password='***'" in shown
    assert "hunter2-secret" not in shown


@pytest.mark.parametrize("password", ["back\\slash-secret", 'it\'s-"quoted"-secret'])
def test_auth_repr_masks_a_secret_the_dataclass_repr_escapes(password: str) -> None:
    with ProviderAuth(ChattyVault(VAULT, "someone", password)) as auth:
        shown = repr(auth)
    assert "password='***'" in shown
    assert repr(password)[1:-1] not in shown


def test_auth_repr_of_a_provider_without_a_repr_shows_identity_and_base_url() -> None:
    with ProviderAuth(Vault(VAULT, "someone", "hunter2-secret")) as auth:
        shown = repr(auth)
    assert shown == "ProviderAuth(identity=('someone',), base_url='https://vault.example')"


# -- issue_token: the access token's own JWT claims by default ---------------------------------


def test_issue_token_reads_the_expiry_from_the_access_tokens_jwt_without_claims() -> None:
    access = jwt.encode({"iat": 1_000, "exp": 1_300}, "k" * 32, algorithm="HS256")
    received_at = datetime(2030, 1, 1, tzinfo=timezone.utc)
    token = issue_token(access, None, received_at=received_at, expires_in=60)
    # exp - iat from when it was received: the JWT comes before expires_in (R7)
    assert token.expires_at == received_at + timedelta(seconds=300)
    opaque = issue_token("not-a-jwt", None, received_at=received_at, expires_in=60)
    assert opaque.expires_at == received_at + timedelta(seconds=60)


# -- Emulator.auth_kind: one token endpoint, told apart by the grant --------------------------


def token_call(grant: dict[str, str]) -> Call:
    headers = httpx.Headers({"Content-Type": "application/x-www-form-urlencoded"})
    return Call("POST", "/oauth/token", "", headers, urlencode(grant).encode())


def test_the_oauth2_emulator_tells_a_login_from_a_refresh_by_the_grant() -> None:
    emulator = OAuth2Emulator()
    password = {"grant_type": "password", "username": "demo-user", "password": "demo-password"}
    assert emulator.auth_kind(token_call(password)) == "login"
    assert emulator.auth_kind(token_call({"grant_type": "client_credentials"})) == "login"
    refresh = {"grant_type": "refresh_token", "refresh_token": "r"}
    assert emulator.auth_kind(token_call(refresh)) == "refresh"
    me = Call("GET", "/v1/me", "", httpx.Headers({"Authorization": "Bearer t"}), b"")
    assert emulator.auth_kind(me) is None
    assert emulator.calls == []  # asking handles nothing


# -- OAuth2Auth: refused at construction -------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"client_id": ""}, ConfigurationError, "OAuth2: client_id is empty"),
        ({"username": "someone"}, ConfigurationError, "pass both username and password"),
        ({"password": "hunter2-secret"}, ConfigurationError, "pass both username and password"),
        (
            {"base_url": "http://api.example.com"},
            InsecureTransportError,
            "OAuth2: base_url http://api.example.com is not https",
        ),
    ],
    ids=["empty client_id", "username alone", "password alone", "http"],
)
def test_oauth2_auth_refuses_bad_arguments_at_construction(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    given: dict[str, Any] = {"client_id": "demo-client", "base_url": "https://api.example.com"}
    given.update(arguments)
    with pytest.raises(error, match=message):
        OAuth2Auth(client_secret="demo-client-secret", **given)


def test_oauth2_auth_over_http_is_allowed_to_loopback_or_when_asked() -> None:
    for base_url, allow_insecure in (("http://127.0.0.1:8000", False), ("http://api.test", True)):
        with OAuth2Auth(
            "demo-client", "demo-client-secret", base_url=base_url, allow_insecure=allow_insecure
        ) as auth:
            assert auth.token is None  # built, nothing sent
