"""The `finauth` command: `demo`, `sandbox`, and `login` and `get` (in `_commands`)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata

from . import _commands, _demo

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What ends `finauth sandbox`: Ctrl-C, and what `kill`, systemd and CI runners send."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:  # a newcomer's first try: show what there is to run
        parser.print_help()
        return 0
    if arguments.command in ("login", "get"):
        return _commands.run(arguments)
    if arguments.command == "demo":
        return 0 if _demo.demo(sys.stdout) else 1
    return _serve(arguments.port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finauth",
        description="Logins for the Fincrux, Finvera and FinHub APIs.",
        epilog="Run `finauth COMMAND --help` for a command's options; "
        "`login` and `get` list their exit statuses there.",
    )
    parser.add_argument("--version", action="version", version=f"finauth {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="run every provider with every client against local emulators; exit 1 if any fails",
        description="Start each provider's emulator on 127.0.0.1 and walk it through every "
        "client: requests, httpx and httpx async, and, where installed, httpx2 and niquests "
        "(each sync and async) and aiohttp (a client not installed is skipped, with a note): "
        "login, a protected call, renewal before expiry, and recovery of a revoked token. "
        "Exit status 0 only if every cell that ran passes.",
    )
    sandbox = commands.add_parser(
        "sandbox",
        help="keep the emulators running and print their URLs and demo credentials",
        description="Serve each provider's emulator on 127.0.0.1 until interrupted "
        "(Ctrl-C, SIGINT or SIGTERM).",
    )
    sandbox.add_argument(
        "--port",
        type=_first_port,
        default=0,
        metavar="PORT",
        help=f"serve on {len(_demo.CASES)} consecutive ports from PORT: {_demo.port_plan()}; "
        "all are checked before anything is printed (default: free ports)",
    )
    _commands.add_commands(commands)
    return parser


def _version() -> str:
    """finauth's version as installed, from its package metadata: what pip reports."""
    try:
        return metadata.version("finauth")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(version unknown: not installed)"


def _first_port(text: str) -> int:
    """`--port`'s value: 0, or a port that leaves room for one port per provider."""
    last = 65536 - len(_demo.CASES)
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= last:
        raise argparse.ArgumentTypeError(
            f"{port} is out of range; use 1 to {last} (the sandbox needs "
            f"{len(_demo.CASES)} ports from it), or 0 for free ports"
        )
    return port


def _serve(port: int) -> int:
    """Run the sandbox until SIGINT or SIGTERM; 0 when it stopped cleanly."""
    stop = threading.Event()
    try:
        with _stopped_by_signals(stop), _demo.sandbox(sys.stdout, port=port):
            stop.wait()
    except OSError as error:
        print(
            f"finauth sandbox: {error.strerror}; choose another --port, "
            "or leave it out for free ports",
            file=sys.stderr,
        )
        return 1
    return 0


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Set `stop` on SIGINT or SIGTERM, whatever this process inherited for them.

    Handlers are installed rather than relying on KeyboardInterrupt: a process
    started in the background (`&`, nohup, many CI runners) inherits SIGINT
    ignored, and Python then never raises KeyboardInterrupt, so the sandbox
    would outlive every Ctrl-C and `kill -INT`. SIGTERM's default, dying on the
    spot, would skip closing the servers' connections. The previous handlers are
    back once the block ends.
    """
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
