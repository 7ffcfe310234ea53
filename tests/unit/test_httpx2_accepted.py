"""Every auth is one of httpx2's, once httpx2 is imported, at no cost to other clients.

httpx2 runs an auth's flows only for an `httpx2.Auth`, a class finauth cannot derive from
without importing httpx2 for everyone: `isinstance` asks the auth for its `__class__`.
requests asks too, with `isinstance(auth, tuple)`, on every request.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from finauth import FincruxAPIKeyAuth, FincruxJWTAuth

pytestmark = pytest.mark.optional_client

AUTHS = [
    pytest.param(lambda: FincruxJWTAuth("me@example.com", "pw"), id="login-based"),
    pytest.param(lambda: FincruxAPIKeyAuth("k" * 32), id="static"),
]


def test_an_auth_made_before_httpx2_is_imported_is_one_of_its_auths() -> None:
    """In a fresh interpreter: the auth is asked first, then httpx2 comes."""
    script = """
import sys
from finauth import FincruxJWTAuth
auth = FincruxJWTAuth("me@example.com", "pw")
assert not isinstance(auth, tuple) and "httpx2" not in sys.modules
import httpx2
assert isinstance(auth, httpx2.Auth), "httpx2 would wrap the auth as a plain function"
assert isinstance(auth, FincruxJWTAuth) and type(auth) is FincruxJWTAuth
with httpx2.Client(auth=auth) as client:
    assert client.auth is auth
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("make", AUTHS)
def test_a_failing_isinstance_on_an_auth_runs_no_python(make: Callable[[], Any]) -> None:
    """Once httpx2 is imported and the auth's class decided, `__class__` is read at C speed:
    requests' check of every request calls no Python function of finauth's."""
    import httpx2

    auth = make()
    assert isinstance(auth, httpx2.Auth)
    called: list[str] = []

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            called.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        checked = isinstance(auth, tuple)
    finally:
        sys.setprofile(None)
    assert not checked
    assert called == []
