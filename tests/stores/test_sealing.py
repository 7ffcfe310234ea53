"""stores.sealing: what `encryption_key=` accepts, checked when a store is made (R8)."""

from __future__ import annotations

import sys

import pytest
from cryptography.fernet import Fernet

from finauth import ConfigurationError, FileTokenStore
from finauth.stores.sealing import sealer_for

KEY = Fernet.generate_key()


@pytest.mark.parametrize(
    "encryption_key",
    [KEY, KEY.decode(), [KEY, Fernet.generate_key()]],
    ids=["bytes", "str", "two keys"],  # a key is random: not an id every xdist worker shares
)
def test_a_key_or_keys_seal_and_open(encryption_key: bytes | str | list[bytes]) -> None:
    sealer = sealer_for("FileTokenStore", encryption_key)
    assert sealer is not None
    sealed = sealer.seal(b"a token")
    assert b"a token" not in sealed
    assert sealer.open(sealed) == b"a token"
    assert KEY.decode() not in repr(sealer)


def test_no_key_is_no_sealer() -> None:
    assert sealer_for("FileTokenStore", None) is None


@pytest.mark.parametrize(
    ("encryption_key", "says"),
    [
        ([], "empty sequence"),
        ("not-a-fernet-key", "must be Fernet keys"),
        ([KEY, b"short"], "must be Fernet keys"),
    ],
    ids=["no keys", "not a key", "one bad key of two"],
)
def test_a_bad_key_is_a_configuration_error_that_repeats_no_key(
    encryption_key: object, says: str
) -> None:
    with pytest.raises(ConfigurationError, match=says) as caught:
        sealer_for("FileTokenStore", encryption_key)  # type: ignore[arg-type]
    assert "not-a-fernet-key" not in str(caught.value)
    assert KEY.decode() not in str(caught.value)


def test_without_cryptography_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'finauth\[crypto\]'"):
        FileTokenStore(f"{tmp_path}/tokens", encryption_key=KEY)


def test_another_key_does_not_open_it() -> None:
    sealed = sealer_for("RedisTokenStore", KEY)
    other = sealer_for("RedisTokenStore", Fernet.generate_key())
    assert sealed is not None
    assert other is not None
    with pytest.raises(ValueError, match="another key"):
        other.open(sealed.seal(b"a token"))
