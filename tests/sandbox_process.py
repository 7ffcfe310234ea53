"""`finauth sandbox` run as a reader runs it: a process of its own, its output read as it
comes, its `export` lines taken as the reader would paste them."""

from __future__ import annotations

import os
import queue
import random
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

FINAUTH = [sys.executable, "-m", "finauth"]
STARTUP = 15.0
"""Seconds the sandbox may take to print its URLs (an interpreter start and a few imports)."""


def environment() -> dict[str, str]:
    """This environment, with loopback kept away from any proxy."""
    env = dict(os.environ)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


IGNORING_SIGINT = ["sh", "-c", 'trap "" INT; exec "$0" "$@"']
"""Runs a command with SIGINT ignored, as a shell starts a background job (`&`, nohup
scripts, CI runners): the disposition outlives `exec`, and Python then never raises
KeyboardInterrupt."""


class Sandbox:
    """A `finauth sandbox` process whose stdout is read line by line, without blocking.

    `ignoring_sigint` starts it as a background job is started: SIGINT ignored.
    """

    def __init__(self, *arguments: str, stderr: Path, ignoring_sigint: bool = False) -> None:
        self._stderr = stderr.open("w")
        self.process = subprocess.Popen(
            [*(IGNORING_SIGINT if ignoring_sigint else []), *FINAUTH, "sandbox", *arguments],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=environment(),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="sandbox stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def read_block(self, seconds: float = STARTUP) -> list[str]:
        """Lines up to the blank line that ends the next provider's exports.

        Fails after `seconds`, or if the process ends first.
        """
        deadline = time.monotonic() + seconds
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no complete block within {seconds} s: {seen}"
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, f"the sandbox exited early: {seen}"
            seen.append(line)
            if not line.strip() and seen[-2:-1] and "export " in seen[-2]:
                return seen

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self._reader.join(5)
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()


def exports(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.fullmatch(r"\s*export (\w+)=(\S+)\s*", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def three_free_ports() -> int:
    """A port such that it and the next two are free on 127.0.0.1, below the range the
    kernel hands out on its own (so no client connection takes one meanwhile)."""
    for _ in range(50):
        first = random.randrange(20000, 32000)
        probes = [socket.socket() for _ in range(3)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return first
    pytest.fail("no three consecutive free ports on 127.0.0.1")
