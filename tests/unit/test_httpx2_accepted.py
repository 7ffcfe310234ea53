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


def test_httpx_works_while_another_thread_imports_httpx2() -> None:
    """In a fresh interpreter, httpx2's import is held halfway in a thread: its module is
    in `sys.modules`, none of its classes yet. An httpx client's login and request go on
    meanwhile, and once the import is done the auth is one of httpx2's."""
    script = """
import importlib.util, sys, threading
import httpx
from finauth.testing import FincruxEmulator

halfway, go = threading.Event(), threading.Event()

class Held:
    def find_spec(self, name, path=None, target=None):
        if name != "httpx2":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module
        def held(module):
            halfway.set()
            go.wait(30)
            load(module)
        spec.loader.exec_module = held
        return spec

sys.meta_path.insert(0, Held())
importer = threading.Thread(target=__import__, args=("httpx2",))
importer.start()
try:
    assert halfway.wait(30)
    assert "httpx2" in sys.modules and not hasattr(sys.modules["httpx2"], "Auth")
    emulator = FincruxEmulator()
    auth = emulator.auth(emulator.production_url)
    with httpx.Client(transport=emulator.httpx_transport(), auth=auth) as client:
        assert client.get(emulator.production_url + emulator.sample_path).status_code == 200
    assert emulator.logins == 1
finally:
    go.set()
    importer.join()
import httpx2
assert isinstance(auth, httpx2.Auth)
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
