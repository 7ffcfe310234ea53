"""Store keys bound to the secret (SPEC §4, issue #16): another password never shares a token.

First `token_key` itself, then the flow on a shared memory or file store, with the
emulators answering in-process.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PROVIDERS, SECRET_CREDENTIALS
from finauth import FileTokenStore, LoginError, MemoryTokenStore
from finauth._auth import ProviderAuth
from finauth.providers.finvera import Finvera
from finauth.stores import TokenStore, token_key
from finauth.testing import Emulator

BASE_URL = "https://api.fincrux.test"
EMAIL = "victim@fincrux.test"


def key_for(password: str, email: str = EMAIL) -> str:
    return token_key("Fincrux", BASE_URL, [email], [password])


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The salt of each scrypt derivation made from now on."""
    salts: list[bytes] = []
    real = hashlib.scrypt

    def counted(password: bytes, **options: Any) -> bytes:
        salts.append(options["salt"])
        return real(password, **options)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return salts


# --- token_key ----------------------------------------------------------------------------


def test_a_key_is_64_lowercase_hex_digits_and_reveals_no_identity() -> None:
    key = key_for("hunter2")
    assert len(key) == 64
    assert set(key) <= set("0123456789abcdef")
    assert EMAIL not in key
    assert "victim" not in key
    assert key != hashlib.sha256(f"Fincrux\0{BASE_URL}\0{EMAIL}".encode()).hexdigest()


def test_a_key_depends_on_the_password_and_on_every_field() -> None:
    key = key_for("hunter2")
    assert key == key_for("hunter2")
    assert key != key_for("hunter3")
    assert key != key_for("hunter2", email="other@fincrux.test")
    assert key != token_key("Finvera", BASE_URL, [EMAIL], ["hunter2"])
    assert key != token_key("Fincrux", "https://other.fincrux.test", [EMAIL], ["hunter2"])


def test_fields_never_run_together() -> None:
    assert token_key("F", BASE_URL, ["a", "b"], []) != token_key("F", BASE_URL, ["a"], ["b"])
    assert token_key("F", BASE_URL, ["a"], ["b", "c"]) != token_key("F", BASE_URL, ["a"], ["b\0c"])


def test_each_account_is_salted_apart(derivations: list[bytes]) -> None:
    """So a guess tried against one account's key is worth nothing against another's."""
    password = secrets.token_hex()
    key_for(password)
    key_for(password, email="other@fincrux.test")
    assert len(derivations) == 2
    assert derivations[0] != derivations[1]


def test_a_key_is_derived_once_per_process_for_the_same_credentials(
    derivations: list[bytes],
) -> None:
    """Building auths in a loop stays cheap: one derivation, then the process's cache."""
    password = secrets.token_hex()  # never derived before in this process
    emulator = PROVIDERS["Fincrux"]()
    auths = [emulator.auth(BASE_URL, password=password) for _ in range(1000)]
    assert derivations == []  # building an auth derives nothing
    assert len({auth._flow.key for auth in auths}) == 1
    assert len(derivations) == 1


def test_a_twin_flow_shares_its_owners_key() -> None:
    auth = PROVIDERS["Finvera"]().auth(BASE_URL)
    provider = auth._flow.provider
    assert isinstance(provider, Finvera)
    assert auth._flow.twin(replace(provider, scheme="bearer")).key == auth._flow.key


@pytest.mark.parametrize("secret", ["password", "tenant_key", "tenant_secret"])
def test_each_finhub_secret_changes_the_key(secret: str) -> None:
    emulator = PROVIDERS["FinHub"]()
    assert (
        emulator.auth(BASE_URL, **{secret: "another"})._flow.key
        != emulator.auth(BASE_URL)._flow.key
    )


# --- a shared store -------------------------------------------------------------------------

STORES: dict[str, Callable[[Path], TokenStore]] = {
    "memory": lambda _: MemoryTokenStore(),
    "file": FileTokenStore,
}
WRONG_SECRETS = [
    (provider, secret)
    for provider, emulator in PROVIDERS.items()
    for secret in SECRET_CREDENTIALS
    if secret in emulator().credentials()
]


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    return STORES[request.param](tmp_path)


@pytest.fixture
def client() -> Iterator[Callable[[Emulator], httpx.Client]]:
    opened: list[httpx.Client] = []

    def open_client(emulator: Emulator) -> httpx.Client:
        opened.append(httpx.Client(transport=emulator.httpx_transport()))
        return opened[-1]

    yield open_client
    for each in opened:
        each.close()


def get(client: httpx.Client, emulator: Emulator, auth: ProviderAuth) -> int:
    return client.get(emulator.production_url + emulator.sample_path, auth=auth).status_code


@pytest.mark.parametrize(("provider", "secret"), WRONG_SECRETS)
def test_a_wrong_secret_on_a_shared_store_logs_in_and_fails(
    provider: str,
    secret: str,
    store: TokenStore,
    client: Callable[[Emulator], httpx.Client],
) -> None:
    """The victim's token sits in the store; an auth with the victim's identity and a
    wrong secret must not take it: it logs in, and the provider refuses."""
    emulator = PROVIDERS[provider]()
    http = client(emulator)
    assert get(http, emulator, emulator.auth(emulator.production_url, store=store)) == 200
    intruder = emulator.auth(emulator.production_url, store=store, **{secret: "wrong-guess"})
    with pytest.raises(LoginError):
        get(http, emulator, intruder)
    assert emulator.logins == 2
    assert len([call for call in emulator.calls if call.path == emulator.sample_path]) == 1


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_right_secrets_built_later_reuse_the_stored_token(
    provider: str, store: TokenStore, client: Callable[[Emulator], httpx.Client]
) -> None:
    emulator = PROVIDERS[provider]()
    http = client(emulator)
    assert get(http, emulator, emulator.auth(emulator.production_url, store=store)) == 200
    with pytest.raises(LoginError):
        get(http, emulator, emulator.auth(emulator.production_url, store=store, password="x"))
    assert get(http, emulator, emulator.auth(emulator.production_url, store=store)) == 200
    assert emulator.logins == 2  # the victim's, and the refused one
