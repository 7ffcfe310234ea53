"""The `finauth` command: `demo`, `sandbox`, help and usage errors."""

from __future__ import annotations

import functools
import io
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests

from finauth import FincruxAPIKeyAuth, FincruxJWTAuth, LoginError, _demo, cli
from finauth.testing import FincruxEmulator
from finauth.testing.fincrux import SEARCH_PATH
from sandbox_process import FINAUTH, STARTUP, Sandbox, environment, exports, three_free_ports

CLIENTS = tuple(client for client in _demo.ALL_CLIENTS if _demo.installed(client))
"""The clients the demo runs here: all but niquests, which only `nox -s tests-niquests`
installs (its urllib3-future takes urllib3's place, under requests too)."""
PROVIDERS = ("Fincrux", "Finvera", "FinHub")
HEADER = re.compile(r"^provider\s+client\s+logins\s+refreshes\s+re-sends\s+result\s*$", re.M)
TIMEOUT = 60.0
STOP = 10.0
"""Seconds a sandbox may take to stop once signalled."""


def run_finauth(*arguments: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FINAUTH, *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(),
        check=False,
    )


def row(output: str, provider: str, client: str) -> re.Match[str]:
    pattern = rf"^{provider}\s+{re.escape(client)}\s+(\d+)\s+(\d+)\s+(\d+)\s+(.+)$"
    match = re.search(pattern, output, re.M)
    assert match is not None, f"no {provider} x {client} row in:\n{output}"
    return match


def assert_all_pass(output: str, clients: Sequence[str] = CLIENTS) -> None:
    assert HEADER.search(output), output
    for provider in PROVIDERS:
        for client in clients:
            logins, refreshes, resends, result = row(output, provider, client).groups()
            assert result.strip() == "pass", (provider, client, result)
            # the scenario: one login, a refresh before expiry, a revocation answered 401,
            # a refused refresh, and a new login
            assert (logins, refreshes, resends) == ("2", "2", "1")
    cells = len(PROVIDERS) * len(clients)
    assert f"{cells} of {cells} cells passed." in output
    assert_skipped(output, [client for client in _demo.ALL_CLIENTS if client not in clients])


def assert_skipped(output: str, clients: Sequence[str]) -> None:
    """No row for any of `clients`, and one note per package they need, naming its extra."""
    packages = dict.fromkeys(map(_demo.package_of, clients))
    for package in packages:
        kinds = " and ".join(c for c in _demo.ALL_CLIENTS if _demo.package_of(c) == package)
        note = f'Skipped {kinds}: {package} is not installed (pip install ".[{package}]" '
        assert note in output, output
    assert output.count("\nSkipped ") == len(packages), output
    for client in clients:
        shown = rf"^({'|'.join(PROVIDERS)})\s+{re.escape(client)}\s"
        assert not re.search(shown, output, re.M), output


# -- demo ------------------------------------------------------------------------------------
def test_demo_command_passes_every_cell() -> None:
    finished = run_finauth("demo")

    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert_all_pass(finished.stdout)
    assert "Traceback" not in finished.stderr
    lines = finished.stdout.splitlines()
    header_at = next(i for i, line in enumerate(lines) if HEADER.match(line))
    header, *rows = lines[header_at : header_at + 1 + len(PROVIDERS) * len(CLIENTS)]
    # a table: every row's columns start where the header's do
    for column in ("client", "logins", "refreshes", "re-sends", "result"):
        start = header.index(column)
        for line in rows:
            assert line[start - 2 : start] == "  ", (column, line)
            assert line[start] != " ", (column, line)


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo"]) == 0

    output = capsys.readouterr().out
    assert_all_pass(output)


class BrokenEmulator(FincruxEmulator):
    """Hands the demo a password that it then refuses."""

    name = "Broken"

    def credentials(self) -> dict[str, str]:
        return {**super().credentials(), "password": "not-the-password"}


class NoRefreshEmulator(FincruxEmulator):
    """Serves no refresh where the auth refreshes by default."""

    name = "NoRefresh"

    def __init__(self, **options: Any) -> None:
        super().__init__(refresh_path="/api/elsewhere/", **options)


BROKEN = _demo.Case(functools.partial(BrokenEmulator, token_ttl=_demo.TOKEN_TTL))
NO_REFRESH = _demo.Case(functools.partial(NoRefreshEmulator, token_ttl=_demo.TOKEN_TTL))


def test_a_failing_cell_fails_the_demo() -> None:
    out = io.StringIO()

    assert _demo.demo(out, cases=[BROKEN]) is False

    output = out.getvalue()
    assert HEADER.search(output), output
    for client in CLIENTS:
        logins, _, _, result = row(output, "Broken", client).groups()
        assert result.startswith("FAIL: ")
        assert "LoginError" in result
        assert "not-the-password" not in result  # R10, even in the demo's table
        assert logins == "1"
    assert f"0 of {len(CLIENTS)} cells passed." in output


def test_a_cell_failing_an_expectation_names_it() -> None:
    out = io.StringIO()

    assert _demo.demo(out, cases=[NO_REFRESH]) is False

    output = out.getvalue()
    for client in CLIENTS:
        _, refreshes, _, result = row(output, "NoRefresh", client).groups()
        assert result.startswith("FAIL: ")
        assert "renewed before expiry" in result
        assert refreshes == "0"


def test_one_failing_provider_fails_the_whole_demo() -> None:
    out = io.StringIO()

    assert _demo.demo(out, cases=[_demo.CASES[0], BROKEN]) is False

    output = out.getvalue()
    for client in CLIENTS:
        assert row(output, "Fincrux", client).group(4).strip() == "pass"
        assert row(output, "Broken", client).group(4).startswith("FAIL: ")
    assert f"{len(CLIENTS)} of {2 * len(CLIENTS)} cells passed." in output


def test_run_cell_reports_rather_than_raises() -> None:
    failed = _demo.run_cell(BROKEN, "requests")
    passed = _demo.run_cell(_demo.CASES[0], "httpx")

    assert failed.passed is False
    assert any("LoginError" in problem for problem in failed.problems)
    assert passed.passed is True
    assert passed.problems == ()


@pytest.mark.parametrize("client_name", _demo.ALL_CLIENTS)
@pytest.mark.parametrize("case", _demo.CASES, ids=PROVIDERS)
def test_every_client_passes_every_provider(case: _demo.Case, client_name: str) -> None:
    """Marked by client (tests/conftest.py): niquests' cells run where niquests is."""
    cell = _demo.run_cell(case, client_name)

    assert cell.problems == ()
    assert (cell.logins, cell.refreshes, cell.resends) == (2, 2, 1)


@pytest.mark.parametrize("client_name", _demo.ALL_CLIENTS)
def test_a_client_whose_tests_run_is_installed(client_name: str) -> None:
    """Where a client's cells are selected, its rows of the demo ran: none was skipped."""
    assert client_name in CLIENTS


NOT_INSTALLED = """
import sys

# None in sys.modules is what an absent package is to `import` (ModuleNotFoundError) and
# to importlib.util.find_spec (None); finauth must not import it before the demo looks.
sys.modules.update(dict.fromkeys(sys.argv[1:]))
from finauth.cli import main

sys.exit(main(["demo"]))
"""
"""`python -c NOT_INSTALLED PACKAGE...`: `finauth demo` where those packages are absent."""


def demo_without(*packages: str) -> subprocess.CompletedProcess[str]:
    """`finauth demo` run in a process of its own, where `packages` are not installed."""
    return subprocess.run(
        [sys.executable, "-c", NOT_INSTALLED, *packages],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environment(),
        check=False,
    )


@pytest.mark.parametrize(
    "missing", [("httpx2",), ("niquests",), ("aiohttp",), ("httpx2", "niquests", "aiohttp")]
)
def test_a_client_not_installed_is_skipped_with_a_note(missing: tuple[str, ...]) -> None:
    finished = demo_without(*missing)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    output = finished.stdout
    ran = [client for client in CLIENTS if _demo.package_of(client) not in missing]
    assert_all_pass(output, ran)
    assert f"3 provider(s) x {len(ran)} clients" in output
    assert "Traceback" not in finished.stderr, finished.stderr


def test_the_command_line_page_shows_the_demo_without_optional_clients() -> None:
    finished = demo_without("httpx2", "niquests", "aiohttp")

    page = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    shown = re.search(r"^## The demo\n.*?^```text\n(.*?)^```$", page, re.M | re.S)
    assert shown is not None, "docs/cli.md shows no demo output"
    assert finished.stdout.endswith(shown.group(1)), finished.stdout


def test_cli_exits_1_when_a_cell_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_demo = _demo.demo
    monkeypatch.setattr(_demo, "demo", lambda out: real_demo(out, cases=[BROKEN]))

    assert cli.main(["demo"]) == 1

    output = capsys.readouterr().out
    assert row(output, "Broken", "httpx").group(4).startswith("FAIL: ")


def test_the_broken_case_really_is_a_login_error() -> None:
    """The failing cell above fails for the reason we think: the password is refused."""
    emulator = BrokenEmulator()
    auth = BROKEN.auth_for(emulator, "http://127.0.0.1:9")
    with auth, requests.Session() as session:
        session.mount("http://", emulator.requests_adapter())
        auth.session.mount("http://", emulator.requests_adapter())
        with pytest.raises(LoginError):
            session.get("http://127.0.0.1:9" + SEARCH_PATH, auth=auth, timeout=5)
    assert emulator.logins == 1


# -- sandbox ---------------------------------------------------------------------------------
@pytest.fixture
def sandbox_factory() -> Iterator[list[Sandbox]]:
    started: list[Sandbox] = []
    yield started
    for sandbox in started:
        sandbox.close()


def start_sandbox(
    started: list[Sandbox], tmp_path: Path, *arguments: str, ignoring_sigint: bool = False
) -> Sandbox:
    stderr = tmp_path / f"stderr-{len(started)}.txt"
    sandbox = Sandbox(*arguments, stderr=stderr, ignoring_sigint=ignoring_sigint)
    started.append(sandbox)
    return sandbox


def test_sandbox_serves_until_interrupted(
    sandbox_factory: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    sandbox = start_sandbox(sandbox_factory, tmp_path)
    lines = sandbox.read_block()
    text = "".join(lines)

    match = re.search(r"^Fincrux: (http://127\.0\.0\.1:\d+)$", text, re.M)
    assert match is not None, text
    base_url = match.group(1)
    variables = exports(lines)
    assert variables["FINCRUX_BASE_URL"] == base_url
    assert {"FINCRUX_EMAIL", "FINCRUX_PASSWORD", "FINCRUX_API_KEY"} <= set(variables)
    assert f"GET {base_url}{SEARCH_PATH}" in text

    # the printed credentials work against the printed URL
    with (
        FincruxJWTAuth(
            variables["FINCRUX_EMAIL"], variables["FINCRUX_PASSWORD"], base_url=base_url
        ) as auth,
        requests.Session() as session,
    ):
        session.trust_env = False
        auth.session.trust_env = False
        with session.get(base_url + SEARCH_PATH, auth=auth, timeout=5) as response:
            assert response.status_code == 200
            assert response.json()["query"] == "RELIANCE"
        assert auth.token is not None
        # sandbox tokens live an hour, not the demo's two seconds
        assert auth.token.expires_in > 3000
        with session.get(base_url + SEARCH_PATH, timeout=5) as anonymous:
            assert anonymous.status_code == 401
    with (
        FincruxJWTAuth.from_env(variables) as from_env,
        requests.get(base_url + SEARCH_PATH, auth=from_env, timeout=5) as again,
    ):
        assert again.status_code == 200
    key_auth = FincruxAPIKeyAuth(variables["FINCRUX_API_KEY"], base_url=base_url)
    with requests.get(base_url + SEARCH_PATH, auth=key_auth, timeout=5) as by_key:
        assert by_key.status_code == 200

    sandbox.process.send_signal(signal.SIGINT)
    assert sandbox.process.wait(timeout=STOP) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url + SEARCH_PATH, timeout=5)
    sandbox.close()
    stderr = (tmp_path / "stderr-0.txt").read_text()
    assert "Traceback" not in stderr, stderr


def test_sandbox_port_option(
    sandbox_factory: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    port = three_free_ports()  # the sandbox takes port, port + 1 and port + 2
    sandbox = start_sandbox(sandbox_factory, tmp_path, "--port", str(port))

    text = "".join(sandbox.read_block())

    assert f"Fincrux: http://127.0.0.1:{port}\n" in text
    with requests.get(f"http://127.0.0.1:{port}{SEARCH_PATH}", timeout=5) as response:
        assert response.status_code == 401
    sandbox.process.send_signal(signal.SIGINT)
    assert sandbox.process.wait(timeout=STOP) == 0


@pytest.mark.parametrize(
    ("stop", "ignoring_sigint"),
    [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGTERM, True)],
    ids=["SIGINT-background", "SIGTERM", "SIGTERM-background"],
)
def test_sandbox_stops_cleanly_on_a_signal(
    sandbox_factory: list[Sandbox],
    tmp_path: Path,
    stop: signal.Signals,
    ignoring_sigint: bool,
) -> None:
    """Also when started as a background job, with SIGINT ignored: what `nox &`, nohup
    and CI runners do, and where KeyboardInterrupt never comes."""
    sandbox = start_sandbox(sandbox_factory, tmp_path, ignoring_sigint=ignoring_sigint)
    text = "".join(sandbox.read_block())
    match = re.search(r"^Fincrux: (http://127\.0\.0\.1:\d+)$", text, re.M)
    assert match is not None, text

    sandbox.process.send_signal(stop)

    assert sandbox.process.wait(timeout=STOP) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(match.group(1) + SEARCH_PATH, timeout=5)
    sandbox.close()
    stderr = (tmp_path / "stderr-0.txt").read_text()
    assert "Traceback" not in stderr, stderr


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def range_taken_at(offset: int) -> Iterator[tuple[int, int]]:
    """(P, P + offset): the sandbox's ports from P are free but for P + offset, which a
    listening socket holds until the block ends."""
    size = len(_demo.CASES)
    for _ in range(50):
        with ExitStack() as stack:
            busy = stack.enter_context(socket.socket())
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            first = taken - offset
            others = [first + i for i in range(size) if i != offset]
            if first > 0 and first + size <= 65536 and all(map(port_is_free, others)):
                yield first, taken
                return
    pytest.fail("found no range of free ports around a taken one")


@pytest.mark.parametrize("offset", [1, 2])
def test_sandbox_checks_every_port_before_printing(offset: int) -> None:
    with range_taken_at(offset) as (first, taken):
        finished = run_finauth("sandbox", "--port", str(first), timeout=STARTUP)

    assert finished.returncode == 1
    assert finished.stdout == ""  # no export lines for a sandbox that does not run
    assert f"cannot listen on 127.0.0.1:{taken}: " in finished.stderr, finished.stderr
    assert "--port" in finished.stderr
    assert "Traceback" not in finished.stderr, finished.stderr


def test_sandbox_help_names_its_port_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["sandbox", "--help"])

    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Fincrux on PORT, Finvera on PORT+1, FinHub on PORT+2" in text


@pytest.mark.parametrize(
    ("port", "problem"),
    [
        ("65534", "65534 is out of range; use 1 to 65533"),
        ("-1", "-1 is out of range; use 1 to 65533"),
        ("http", "not a port number: 'http'"),
    ],
)
def test_sandbox_port_without_room_for_the_range_is_a_usage_error(
    port: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["sandbox", "--port", port])

    assert exited.value.code == 2
    assert f"argument --port: {problem}" in capsys.readouterr().err


def test_sandbox_on_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        finished = run_finauth("sandbox", "--port", str(port), timeout=STARTUP)

    assert finished.returncode != 0
    assert str(port) in finished.stderr, finished.stderr
    assert "Traceback" not in finished.stderr, finished.stderr


# -- help and usage --------------------------------------------------------------------------
def test_help() -> None:
    finished = run_finauth("--help")

    assert finished.returncode == 0
    assert finished.stdout.startswith("usage: finauth")
    assert "demo" in finished.stdout
    assert "sandbox" in finished.stdout


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_command_help(command: str) -> None:
    finished = run_finauth(command, "--help")

    assert finished.returncode == 0
    assert finished.stdout.startswith(f"usage: finauth {command}")
    assert "127.0.0.1" in finished.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "finauth"
    assert script.exists(), f"no finauth script beside {sys.executable}"

    finished = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environment(),
        check=False,
    )

    assert finished.returncode == 0
    assert finished.stdout.startswith("usage: finauth")


def test_no_command_prints_the_help() -> None:
    finished = run_finauth()

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("usage: finauth")
    for command in ("demo", "sandbox", "login", "get"):
        assert f"\n    {command} " in finished.stdout
    assert finished.stderr == ""


def test_unknown_command_is_a_usage_error() -> None:
    finished = run_finauth("frobnicate")

    assert finished.returncode != 0
    assert "usage: finauth" in finished.stderr
    assert "frobnicate" in finished.stderr


def test_no_command_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0

    assert capsys.readouterr().out.startswith("usage: finauth")


def test_version() -> None:
    finished = run_finauth("--version")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == f"finauth {metadata.version('finauth')}\n"


def test_version_when_not_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])

    assert exited.value.code == 0
    assert capsys.readouterr().out == "finauth (version unknown: not installed)\n"
