"""Without opentelemetry-api, finauth records nothing and misses nothing (SPEC §8)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["opentelemetry"] = None  # as if not installed: importing it fails

from finauth.testing import EMULATORS
from finauth.testing._clients import open_client

for emulator in (make() for make in EMULATORS):
    auth = emulator.auth(emulator.production_url)
    with open_client("httpx", auth=auth, emulator=emulator) as fetch:
        url = emulator.production_url + emulator.sample_path
        assert fetch("GET", url).status_code == 200  # a login
        emulator.expire_tokens()
        assert fetch("GET", url).status_code == 200  # a 401, a refresh, a re-send
    print(emulator.name, emulator.logins, emulator.refreshes)
"""


def test_logins_refreshes_and_resends_go_on_without_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split("\n") == ["Fincrux 1 1", "Finvera 1 1", "FinHub 1 1", ""]
    assert done.stderr == ""
