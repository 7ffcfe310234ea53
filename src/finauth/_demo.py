"""`finauth demo` and `finauth sandbox`: every provider against its emulator, over real HTTP.

A demo cell runs one provider with one client through the whole lifecycle:
login, a protected call, a token renewed before it expires, and a revoked token
recovered by the single re-send after a 401. The counts in the table are what
the emulator saw, not what the client believes.
"""

from __future__ import annotations

import functools
import importlib.util
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from typing import TextIO

from ._auth import ProviderAuth
from .testing import EMULATORS, EmulatorServer
from .testing._clients import CLIENT_KINDS, OPTIONAL_CLIENT_KINDS, open_client
from .testing._emulator import Emulator

TOKEN_TTL = 2.0
"""Seconds a demo token lives: long enough for two calls, short enough to watch it renewed."""
REFRESH_MARGIN = 1.0


@dataclass(frozen=True)
class Case:
    """How to demo one provider: its emulator, with short-lived tokens."""

    emulator: Callable[[], Emulator]

    def auth_for(self, emulator: Emulator, base_url: str) -> ProviderAuth:
        auth: ProviderAuth = emulator.auth(base_url, refresh_margin=REFRESH_MARGIN)
        return auth


ALL_CLIENTS = (*CLIENT_KINDS, *OPTIONAL_CLIENT_KINDS)
"""Every client the demo shows: those finauth depends on, then those a user may have."""

CASES: Sequence[Case] = tuple(
    Case(functools.partial(emulator, token_ttl=TOKEN_TTL)) for emulator in EMULATORS
)


@dataclass(frozen=True)
class Row:
    provider: str
    client: str
    logins: int
    refreshes: int
    resends: int
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def run_cell(case: Case, client: str) -> Row:
    """One provider with one client through login, renewal and 401 recovery."""
    emulator = case.emulator()
    problems: list[str] = []

    def expect(what: str, ok: bool) -> None:
        if not ok:
            problems.append(what)

    try:
        with ExitStack() as stack:
            server = stack.enter_context(EmulatorServer(emulator))
            auth = stack.enter_context(closing(case.auth_for(emulator, server.base_url)))
            fetch = stack.enter_context(open_client(client, auth=auth))
            url = server.base_url + emulator.sample_path

            expect("first call", fetch("GET", url).status_code == 200)
            expect("one login", emulator.logins == 1)

            token = auth.token
            if token is not None:
                time.sleep(max(0.0, token.expires_in - REFRESH_MARGIN) + 0.05)
            expect("call near expiry", fetch("GET", url).status_code == 200)
            expect("renewed before expiry", emulator.refreshes == 1 and emulator.denials == 0)

            emulator.revoke_tokens()
            recovered = fetch("GET", url)
            expect("call after revocation", recovered.status_code == 200)
            # the emulator's count: aiohttp keeps a middleware's re-send out of `history`
            expect("one re-send", emulator.denials == 1)
            expect("a new login", emulator.logins == 2)
    except Exception as error:  # a cell reports its failure; the table goes on
        problems.append(f"{type(error).__name__}: {error}")
    return Row(
        emulator.name,
        client,
        emulator.logins,
        emulator.refreshes,
        emulator.denials,
        tuple(problems),
    )


def demo(out: TextIO, cases: Sequence[Case] = CASES) -> bool:
    """Run every cell of an installed client, print the table, say whether every cell passed.

    A client that is not installed is named with the extra that brings it, not run:
    finauth works without it, so its absence is no failure of finauth's.
    """
    clients = [client for client in ALL_CLIENTS if installed(client)]
    cells = [(case, client) for case in cases for client in clients]
    out.write(
        f"finauth demo: {len(cases)} provider(s) x {len(clients)} clients, "
        "each against its emulator on 127.0.0.1\n"
        "  steps: login, protected call, token renewed before expiry, "
        "revoked token recovered by one re-send\n\n"
    )
    with ThreadPoolExecutor(max_workers=len(cells)) as pool:
        rows = list(pool.map(lambda cell: run_cell(*cell), cells))
    for line in _table(rows):
        out.write(line + "\n")
    passed = sum(row.passed for row in rows)
    out.write(
        "\nCounts are what each emulator saw; refreshes include the one refused "
        "after revocation, before the new login.\n"
        f"{passed} of {len(rows)} cells passed.\n"
    )
    missing = [client for client in ALL_CLIENTS if client not in clients]
    out.writelines(line + "\n" for line in _skipped(missing))
    return passed == len(rows)


def package_of(client: str) -> str:
    """The package a client kind needs: its name up to the first hyphen."""
    return client.partition("-")[0]


def installed(client: str) -> bool:
    """Whether `client`'s package can be imported, found without importing it: the demo
    imports a client only to run it."""
    return importlib.util.find_spec(package_of(client)) is not None


def _skipped(clients: Sequence[str]) -> Iterator[str]:
    """A note per missing package: the clients it would have shown, and how to add it."""
    for package in dict.fromkeys(map(package_of, clients)):
        kinds = " and ".join(client for client in clients if package_of(client) == package)
        yield (
            f"Skipped {kinds}: {package} is not installed "
            f'(pip install ".[{package}]" in a checkout of finauth adds it).'
        )


def _table(rows: Sequence[Row]) -> Iterator[str]:
    header = ("provider", "client", "logins", "refreshes", "re-sends", "result")
    cells = [
        (
            row.provider,
            row.client,
            str(row.logins),
            str(row.refreshes),
            str(row.resends),
            "pass" if row.passed else "FAIL: " + "; ".join(row.problems),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *cells)) for i in range(len(header) - 1)]
    for line in (header, *cells):
        yield "  ".join(
            [*(value.ljust(width) for value, width in zip(line, widths, strict=False)), line[-1]]
        )


def port_plan() -> str:
    """Which provider `finauth sandbox --port PORT` serves on which port, for its help."""
    return ", ".join(
        f"{emulator.name} on PORT" + (f"+{offset}" if offset else "")
        for offset, emulator in enumerate(EMULATORS)
    )


@contextmanager
def sandbox(out: TextIO, *, port: int = 0, cases: Sequence[Case] = CASES) -> Iterator[None]:
    """Serve every emulator and print how to reach it, until the context ends.

    `port` is the first of one port per case (0: free ports). Every port is bound
    before anything is printed, so a taken one fails the sandbox before a reader
    has seen, or pasted, the export lines of a provider it then does not serve.
    """
    with ExitStack() as stack:
        servers = [
            stack.enter_context(_bound(case.emulator(), port + offset if port else 0))
            for offset, case in enumerate(cases)
        ]
        out.write("finauth sandbox: emulators on 127.0.0.1 (Ctrl-C stops them)\n\n")
        for server in servers:
            server.emulator.token_ttl = 3600.0
            server.start()
            variables = server.emulator.environment(server.base_url)
            out.write(f"{server.emulator.name}: {server.base_url}\n")
            out.write(f"  protected: GET {server.base_url}{server.emulator.sample_path}\n")
            out.writelines(f"  export {name}={value}\n" for name, value in variables.items())
            out.write("\n")
        out.flush()
        yield


@contextmanager
def _bound(emulator: Emulator, port: int) -> Iterator[EmulatorServer]:
    """`emulator`'s server, listening on 127.0.0.1:`port` but not serving until started;
    stopped when the block ends. A port it cannot have is an OSError naming it."""
    try:
        server = EmulatorServer(emulator, port=port)
    except OSError as error:
        raise OSError(error.errno, f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    try:
        yield server
    finally:
        server.stop()
