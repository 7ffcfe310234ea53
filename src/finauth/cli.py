"""The `finauth` command: `demo`, `sandbox`, and `login` and `get` (in `_commands`)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from . import _commands, _demo


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="finauth",
        description="Logins for the Fincrux, Finvera and FinHub APIs.",
        epilog="Run `finauth COMMAND --help` for a command's options; "
        "`login` and `get` list their exit statuses there.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="run every provider with every client against local emulators; exit 1 if any fails",
        description="Start each provider's emulator on 127.0.0.1 and walk it through requests, "
        "httpx and httpx async: login, a protected call, renewal before expiry, and recovery "
        "of a revoked token. Exit status 0 only if every cell passes.",
    )
    sandbox = commands.add_parser(
        "sandbox",
        help="keep the emulators running and print their URLs and demo credentials",
        description="Serve each provider's emulator on 127.0.0.1 until interrupted.",
    )
    sandbox.add_argument(
        "--port", type=int, default=0, help="first port to use (default: free ports)"
    )
    _commands.add_commands(commands)
    arguments = parser.parse_args(argv)

    if arguments.command in ("login", "get"):
        return _commands.run(arguments)
    if arguments.command == "demo":
        return 0 if _demo.demo(sys.stdout) else 1
    try:
        with _demo.sandbox(sys.stdout, port=arguments.port):
            threading.Event().wait()
    except KeyboardInterrupt:  # Ctrl-C, also while the emulators are still starting
        return 0
    except OSError as error:
        print(f"finauth sandbox: {error.strerror}", file=sys.stderr)
        return 1
    return 0
