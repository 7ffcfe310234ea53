"""What finauth costs besides time per request: memory, and import time.

Memory comes from tracemalloc: a thousand auth objects built, then each logged
in through an adapter that answers every login with the same canned reply, so
the emulator's own bookkeeping is not counted. Import time is what `import
finauth` (or a peer) adds once requests and httpx are imported: the cumulative
figures of `python -X importtime`, and the wall time of `python -c`.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Mapping
from typing import Any

import httpx
import requests
from requests.adapters import HTTPAdapter

from finauth import FincruxJWTAuth
from finauth.providers.fincrux import LOGIN_PATH
from finauth.testing import Call
from finauth.testing._transports import _urllib3_response as urllib3_response

from .clients import FINAUTH
from .emulator import PRODUCTION_LIKE_URL, BenchEmulator

AUTH_OBJECTS = 1000
PRELOADED = "import requests, httpx"
IMPORTED = {
    FINAUTH: "from finauth import FincruxJWTAuth",
    "httpx-auth": "from httpx_auth import OAuth2ResourceOwnerPasswordCredentials",
    "authlib": "from authlib.integrations.httpx_client import OAuth2Client",
}
"""What a user's first line imports, beyond requests and httpx. finauth imports its
names on first use, so `import finauth` alone would measure next to nothing."""


def memory(count: int = AUTH_OBJECTS) -> dict[str, Any]:
    """Bytes per auth object, and per token it then caches, each a mean over `count`."""
    emulator = BenchEmulator()
    session = requests.Session()
    session.mount(PRODUCTION_LIKE_URL, _CannedLogin(emulator))
    tracemalloc.start()
    try:
        empty = _traced()
        auths = [
            FincruxJWTAuth(emulator.email, emulator.password, session=session) for _ in range(count)
        ]
        built = _traced()
        for auth in auths:
            auth.login()
        logged_in = _traced()
    finally:
        tracemalloc.stop()
    return {
        "auth_objects": count,
        "bytes_per_auth_object": round((built - empty) / count),
        "bytes_per_cached_token": round((logged_in - built) / count),
    }


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


class _CannedLogin(HTTPAdapter):
    """Answers every request with one login reply the emulator made beforehand."""

    def __init__(self, emulator: BenchEmulator) -> None:
        super().__init__()
        credentials = json.dumps({"email": emulator.email, "password": emulator.password})
        self._reply = emulator.handle(
            Call("POST", LOGIN_PATH, "", httpx.Headers(), credentials.encode())
        )

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return self.build_response(request, urllib3_response(self._reply))


def import_time(runs: int) -> dict[str, Any]:
    """Per library, the median over `runs` of what its import adds to requests + httpx:
    `-X importtime`'s cumulative µs, and for finauth the wall time of a whole `python -c`
    and the modules it pulls in that take longest."""
    logs = {
        name: [_importtime(statement) for _ in range(runs)] for name, statement in IMPORTED.items()
    }
    alone, together = _wall_times(PRELOADED, f"{PRELOADED}; {IMPORTED[FINAUTH]}", runs)
    return {
        "runs": runs,
        "statements": IMPORTED,
        "importtime_us": {
            name: round(statistics.median(_added(log) for log in runs_))
            for name, runs_ in logs.items()
        },
        "finauth_wall_ms": round((together - alone) * 1000, 1),
        "requests_httpx_wall_ms": round(alone * 1000, 1),
        "finauth_heaviest_us": dict(_pulled_in(logs[FINAUTH][-1])[:6]),
    }


Line = tuple[str, int, int]
"""A line of -X importtime's log: module, cumulative µs, depth of nesting."""


def _importtime(statement: str) -> list[Line]:
    """The log of the imports that follow requests' and httpx's, children before parents."""
    log = _python("-X", "importtime", "-c", f"{PRELOADED}; {statement}").stderr
    lines = []
    for line in log.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            _, cumulative, name = line.split("|")
            depth = (len(name) - len(name.lstrip()) - 1) // 2
            lines.append((name.strip(), int(cumulative), depth))
    after = [name for name, _, depth in lines].index("httpx") + 1
    return lines[after:]


def _added(log: list[Line]) -> int:
    """The whole time: each top-level line is one import's, its dependencies included."""
    return sum(cumulative for _, cumulative, depth in log if depth == 0)


def _pulled_in(log: list[Line]) -> list[tuple[str, int]]:
    """Modules from outside finauth that finauth's own modules import, slowest first."""
    pulled = []
    for index, (name, cumulative, depth) in enumerate(log):
        parent = next((above for above, _, d in log[index + 1 :] if d == depth - 1), "finauth")
        if not name.startswith(FINAUTH) and parent.startswith(FINAUTH):
            pulled.append((name, cumulative))
    return sorted(pulled, key=lambda line: -line[1])


def _wall_times(first: str, second: str, runs: int) -> tuple[float, float]:
    """Median seconds of `python -c first` and `python -c second`, run in turns."""
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for code, seconds in zip((first, second), timings, strict=True):
            start = time.perf_counter()
            _python("-c", code)
            seconds.append(time.perf_counter() - start)
    return statistics.median(timings[0]), statistics.median(timings[1])


def _python(*arguments: str) -> subprocess.CompletedProcess[str]:
    """This interpreter, with warnings silenced (authlib's would land in -X importtime's log)."""
    command = [sys.executable, "-W", "ignore", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
