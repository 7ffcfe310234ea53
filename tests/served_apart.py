"""An emulator served from a process of its own.

Served from the test's process, an emulator's handler threads share the GIL
with every client thread and event loop under test: under a load of a hundred
concurrent requests, answers then take a second and more, and tokens that live
two seconds expire on the way. Served apart, it is only the network away.
"""

from __future__ import annotations

import multiprocessing.connection
from collections.abc import Callable
from types import TracebackType
from typing import Any

from finauth.testing import EMULATORS, EmulatorServer
from fleet import CONTEXT

PROVIDERS = {emulator.name: emulator for emulator in EMULATORS}


class ServedApart:
    """`PROVIDERS[provider](**options)` on http://127.0.0.1:<port>, in a child process.

    Its knobs are called through a pipe, and answer once they have taken effect.
    """

    def __init__(self, provider: str, **options: Any) -> None:
        self._control, theirs = CONTEXT.Pipe()
        self._process = CONTEXT.Process(
            target=serve, args=(provider, options, theirs), name=f"{provider} served apart"
        )
        self.base_url = ""

    def __enter__(self) -> ServedApart:
        self._process.start()
        self.base_url = self._ask("base_url")
        return self

    def revoke_tokens(self) -> None:
        self._ask("revoke_tokens")

    def counts(self) -> tuple[int, int]:
        """(logins, refreshes), as the emulator counted them."""
        logins, refreshes = self._ask("counts")
        return logins, refreshes

    def _ask(self, command: str) -> Any:
        self._control.send(command)
        if not self._control.poll(30):
            raise TimeoutError(f"the emulator served apart did not answer {command!r}")
        return self._control.recv()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._ask("stop")
        finally:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
            self._control.close()


def serve(
    provider: str, options: dict[str, Any], control: multiprocessing.connection.Connection
) -> None:
    """The child's life: serve, and work the knobs asked for, until told to stop."""
    emulator = PROVIDERS[provider](**options)
    with EmulatorServer(emulator) as server, control:
        answers: dict[str, Callable[[], object]] = {
            "base_url": lambda: server.base_url,
            "revoke_tokens": emulator.revoke_tokens,
            "counts": lambda: (emulator.logins, emulator.refreshes),
        }
        while (command := control.recv()) != "stop":
            control.send(answers[command]())
        control.send(None)
