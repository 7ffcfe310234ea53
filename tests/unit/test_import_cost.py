"""Importing finauth stays cheap: what it needs only later is imported when first used.

A CLI run, a serverless cold start or a short script pays for every import, used or not.
The guard is what a fresh interpreter holds after the import, never a time: a module that
comes back to the top of a file shows here, on any machine.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

DEFERRED = (
    "anyio",  # event loops only: the async flow, its locks and its reads
    "asyncio",
    "trio",
    "jwt",  # the first token: PyJWT imports cryptography
    "cryptography",  # also a store given an encryption key
    "filelock",  # FileTokenStore's first lock
    "tempfile",  # FileTokenStore's first write
    "redis",  # RedisTokenStore only
    "finauth.testing",
    "httpx2",  # the clients finauth also works with, none of them a dependency
    "aiohttp",
    "yarl",
    "niquests",
    "finauth.clients._niquests_async",
    "opentelemetry",  # the first login, refresh or re-send (SPEC §8)
)
"""Modules (and their submodules) that `import finauth` and building an auth must not
import; requests and httpx, its dependencies, are what users import finauth next to."""


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after `code`, beyond `import requests, httpx`."""
    script = (
        "import json, sys\n"
        "import requests, httpx\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def deferred_in(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if any(name == root or name.startswith(root + ".") for root in DEFERRED)
    )


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import finauth", id="import finauth"),
        pytest.param(
            "from finauth import FincruxJWTAuth, FinveraCookieAuth, FinHubSessionAuth, "
            "FincruxAPIKeyAuth, FileTokenStore, MemoryTokenStore, RedisTokenStore",
            id="every public name",
        ),
        pytest.param(
            "from finauth import FincruxJWTAuth, FileTokenStore\n"
            "FincruxJWTAuth('a@example.org', 'pw', store=FileTokenStore(path='/tmp/finauth-x'))",
            id="an auth built with a FileTokenStore",
        ),
    ],
)
def test_an_import_pulls_in_nothing_used_only_later(code: str) -> None:
    assert deferred_in(modules_after(code)) == []


def test_the_guard_sees_a_deferred_module_when_it_is_used() -> None:
    """The check can fail: the first token read imports PyJWT, as it should."""
    used = "from finauth._token import jwt_claims\njwt_claims('a.b.c')"
    assert "jwt" in deferred_in(modules_after(used))
