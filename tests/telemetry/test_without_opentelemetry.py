"""Without opentelemetry-api, finauth records nothing and misses nothing (SPEC §8)."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, cast

import finauth._telemetry

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

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


def test_an_api_before_1_30_still_gets_the_duration_histogram() -> None:
    """opentelemetry-api before 1.30 takes no bucket advice; another package may pin one,
    and a login must not fail for it (tried by hand with 1.20: logins, refreshes,
    re-sends and rejected logins, recorded as with 1.30)."""

    class Before130:
        def create_histogram(self, name: str, unit: str = "", description: str = "") -> str:
            return f"{name} in {unit}"

    made: object = finauth._telemetry._duration_histogram(cast("Meter", Before130()))

    assert made == "finauth.renewal.duration in s"
