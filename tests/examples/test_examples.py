"""The scripts in examples/ run as a reader would run them: against `finauth sandbox`'s
emulators over loopback, with the environment the sandbox prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from finauth.testing import EMULATORS, EmulatorServer

EXAMPLES = Path(__file__).parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
"""One script per built-in provider and client; examples/oauth2 holds a provider of one's
own, which the whole suite runs (tests/conftest.py) and docs/custom-provider.md builds."""
PROVIDERS = {emulator.name: emulator for emulator in EMULATORS}


def test_there_is_one_example_per_provider_and_client() -> None:
    expected = {
        f"{provider.lower()}_{client}.py"
        for provider in PROVIDERS
        for client in ("requests", "httpx", "httpx_async")
    }
    assert {script.name for script in SCRIPTS} == expected


@pytest.mark.timeout(60)
@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_an_example_makes_an_authenticated_call_in_the_sandbox(script: Path) -> None:
    provider = next(name for name in PROVIDERS if script.name.startswith(name.lower() + "_"))
    emulator = PROVIDERS[provider]()
    with EmulatorServer(emulator) as server:
        environment = {**os.environ, **emulator.environment(server.base_url)}
        ran = subprocess.run(
            [sys.executable, str(script)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip()
    assert (
        emulator.logins,
        len([c for c in emulator.calls if c.path == emulator.sample_path]),
    ) == (
        1,
        1,
    )
    for secret in (emulator.credentials().get("password"), *emulator.issued):
        assert secret is not None
        assert secret not in ran.stdout + ran.stderr
