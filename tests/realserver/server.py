"""The Django project of `project/`, served by waitress in a process of its own.

Started once per test session; stopped by its PID (terminate, wait, kill on timeout).
Its /_control/ endpoints reset the account and revoke things; `calls()` says what the
server saw, so a test can assert exactly which logins, refreshes and API calls happened.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

TESTS = Path(__file__).resolve().parent.parent
EMAIL = "ada@example.org"
PASSWORD = "correct-horse-battery-staple"
STARTUP_SECONDS = 60


@dataclass(frozen=True)
class Call:
    """One request the server answered (outside /_control/), as its middleware saw it."""

    method: str
    path: str
    endpoint: str | None
    """The URL name: fincrux-login, fincrux-refresh, fincrux-search, finvera-login, ..."""
    status: int
    cookies: tuple[str, ...]
    """Names of the cookies the request carried."""
    scheme: str | None
    """The first word of its Authorization header."""
    csrf_header: bool


class RealServer:
    """One waitress process serving the project, with access tokens living `access_seconds`."""

    def __init__(self, directory: Path, *, access_seconds: int) -> None:
        self.directory = directory
        self.access_seconds = access_seconds
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log = directory / "server.log"
        self._control = requests.Session()

    def start(self) -> None:
        """Launch the process (migrations, then waitress); `wait_ready` waits for it."""
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
            "DJANGO_SETTINGS_MODULE": "realserver.project.settings",
            "REALSERVER_DB": str(self.directory / "db.sqlite3"),
            "REALSERVER_ACCESS_SECONDS": str(self.access_seconds),
        }
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "realserver.project.serve"],
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=self.directory,
            )

    def wait_ready(self) -> None:
        """Read the port the server printed, then poll until it answers."""
        process = self._process
        assert process is not None
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_SECONDS)
        port = process.stdout.readline().strip() if ready else b""
        process.stdout.close()
        if not port.isdigit():
            self.stop()
            raise RuntimeError(f"the real server did not start:\n{self.log_tail()}")
        self.base_url = f"http://127.0.0.1:{int(port)}"
        while True:
            try:
                self._control.get(f"{self.base_url}/_control/calls", timeout=5).raise_for_status()
                return
            except requests.RequestException as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"the real server did not answer:\n{self.log_tail()}"
                    ) from error
                time.sleep(0.05)

    def log_tail(self) -> str:
        return self._log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self._control.close()
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # -- /_control/ -----------------------------------------------------------------------

    def _post(self, what: str, **body: Any) -> Any:
        answer = self._control.post(f"{self.base_url}/_control/{what}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def reset(self) -> None:
        """One account (EMAIL, PASSWORD); no tokens, sessions, revocations or calls."""
        self._post("reset", email=EMAIL, password=PASSWORD)

    def change_password(self, password: str = PASSWORD) -> None:
        """A new password hash (a new salt even for the same password): with SimpleJWT's
        CHECK_REVOKE_TOKEN, every token issued before is refused by the API, but refresh
        still issues access tokens, carrying the old hash, that the API refuses too."""
        self._post("password", password=password)

    def blacklist_refresh_tokens(self) -> None:
        self._post("blacklist")

    def revoke_access_tokens(self) -> None:
        """Every access token presented so far is refused from now on; refresh still works."""
        self._post("revoke")

    def calls(self, prefix: str = "") -> list[Call]:
        answer = self._control.get(f"{self.base_url}/_control/calls", timeout=10)
        answer.raise_for_status()
        seen = [
            Call(**{**call, "cookies": tuple(call["cookies"])}) for call in answer.json()["calls"]
        ]
        return [call for call in seen if call.endpoint and call.endpoint.startswith(prefix)]

    def seen(self, prefix: str = "") -> list[tuple[str | None, int]]:
        """(endpoint, status) of each call, in order: what a test asserts most."""
        return [(call.endpoint, call.status) for call in self.calls(prefix)]
