"""The HTTPie plugins: the real `http` command, run against each emulator on loopback."""

from __future__ import annotations

import json
import os
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from finauth.testing import (
    Call,
    Emulator,
    EmulatorServer,
    FincruxEmulator,
    FinHubEmulator,
    FinveraEmulator,
    Reply,
)
from finauth.testing._emulator import AuthKind

HTTP = Path(sys.executable).with_name("http")
TIMEOUT = 60.0
STALL = 120.0
"""Seconds a stalled login is held back: far past any bound a test sets."""
ANSWER = {"via": "httpie"}
"""What the sample route answers an authenticated request with."""
AUTH_TYPES = {"Fincrux": "fincrux", "Finvera": "finvera", "FinHub": "finhub"}
USER_FIELD = {"Fincrux": "email", "Finvera": "email", "FinHub": "username"}

pytestmark = pytest.mark.skipif(not HTTP.exists(), reason="httpie is not installed")


@pytest.fixture(params=[FincruxEmulator, FinveraEmulator, FinHubEmulator], ids=list(AUTH_TYPES))
def emulator(request: pytest.FixtureRequest) -> Emulator:
    emulator: Emulator = request.param()
    emulator.route("GET", emulator.sample_path, ANSWER)
    return emulator


@pytest.fixture
def server(emulator: Emulator) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """This environment without any finauth variable, and HTTPie's config in `tmp_path`,
    its update check off: HTTPie would otherwise fetch packages.httpie.io on every run."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FINCRUX_", "FINVERA_", "FINHUB_"))
    }
    config = tmp_path / "httpie"
    config.mkdir()
    (config / "config.json").write_text(json.dumps({"disable_update_warnings": True}))
    env.update(HOME=str(tmp_path), HTTPIE_CONFIG_DIR=str(config))
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def http(
    env: dict[str, str], *arguments: str, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HTTP), "--ignore-stdin", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def login_pair(emulator: Emulator, password: str | None = None) -> str:
    credentials = emulator.credentials()
    user = credentials[USER_FIELD[emulator.name]]
    return f"{user}:{password or credentials['password']}"


def extra_fields(emulator: Emulator) -> dict[str, str]:
    """The FINHUB_* variables `-a` has no room for (none for the others)."""
    if emulator.name != "FinHub":
        return {}
    everything = emulator.environment("unused")
    return {
        name: value
        for name, value in everything.items()
        if name not in {"FINHUB_USERNAME", "FINHUB_PASSWORD", "FINHUB_BASE_URL"}
    }


def calls(emulator: Emulator, path: str) -> list[Call]:
    return [call for call in emulator.calls if call.path == path]


def assert_logged_in_once_and_served(emulator: Emulator) -> None:
    """One login carrying the account's password, then the sample call, authorized."""
    assert emulator.logins == 1
    (login,) = (call for call in emulator.calls if call.method == "POST")
    sent = login.json()
    assert sent["password"] == emulator.credentials()["password"]
    assert sent[USER_FIELD[emulator.name]] == emulator.credentials()[USER_FIELD[emulator.name]]
    (sample,) = calls(emulator, emulator.sample_path)
    assert emulator.authorized(sample)


def test_auth_types_are_listed_in_help(home: dict[str, str]) -> None:
    finished = http(home, "--help")

    assert finished.returncode == 0, finished.stderr
    for auth_type in AUTH_TYPES.values():
        assert f'"{auth_type}"' in finished.stdout
    # HTTPie names the package itself
    assert '"fincrux": Fincrux JWT auth (provided by finauth)\n' in finished.stdout
    assert '"finvera": Finvera cookie auth (provided by finauth)\n' in finished.stdout
    assert '"finhub": FinHub session auth (provided by finauth)\n' in finished.stdout


@pytest.mark.parametrize("kind", ["login", "refresh"])
def test_httpies_timeout_bounds_the_auth_calls(home: dict[str, str], kind: AuthKind) -> None:
    """A login (or the refresh after a 401) held back far longer than `--timeout` ends
    the run at that timeout, not at finauth's default 30 s: the run's own bound, well
    under 30 s, would otherwise end it first."""
    emulator = FincruxEmulator()
    # a 401 to the first call with a token makes the auth refresh it
    emulator.handle_route("GET", "/refused", lambda call: emulator.deny())
    emulator.stall_next(kind, STALL)
    with EmulatorServer(emulator) as server:
        url = server.base_url + "/refused"
        arguments = ("--timeout", "1", "-A", "fincrux", "-a", login_pair(emulator), url)
        finished = http(home, *arguments, timeout=15)

    assert finished.returncode != 0
    assert "timed out" in finished.stderr.lower(), finished.stderr
    assert "Traceback" not in finished.stderr
    assert emulator.credentials()["password"] not in finished.stdout + finished.stderr
    assert (emulator.logins, emulator.refreshes) == ((1, 0) if kind == "login" else (1, 1))


def test_a_logs_in_at_the_urls_origin(
    emulator: Emulator, server: EmulatorServer, home: dict[str, str]
) -> None:
    env = {**home, **extra_fields(emulator)}
    url = server.base_url + emulator.sample_path

    finished = http(env, "-A", AUTH_TYPES[emulator.name], "-a", login_pair(emulator), url)

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == ANSWER
    assert_logged_in_once_and_served(emulator)


def test_without_a_the_environment_supplies_everything(
    emulator: Emulator, server: EmulatorServer, home: dict[str, str]
) -> None:
    env = {**home, **emulator.environment(server.base_url)}

    finished = http(env, "-A", AUTH_TYPES[emulator.name], server.base_url + emulator.sample_path)

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == ANSWER
    assert_logged_in_once_and_served(emulator)


def test_a_401_is_answered_by_a_renewal_and_one_resend(home: dict[str, str]) -> None:
    emulator = FincruxEmulator()
    answered: list[Call] = []

    def first_denied(call: Call) -> Reply:
        answered.append(call)
        if len(answered) == 1 or not emulator.authorized(call):
            return emulator.deny()
        return Reply.json(ANSWER)

    emulator.handle_route("GET", "/flaky", first_denied)
    with EmulatorServer(emulator) as server:
        url = server.base_url + "/flaky"
        finished = http(home, "-A", "fincrux", "-a", login_pair(emulator), url)

    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout) == ANSWER
    assert (emulator.logins, emulator.refreshes, len(answered)) == (1, 1, 2)


def test_a_wrong_password_is_an_error_line_without_the_password(
    emulator: Emulator, server: EmulatorServer, home: dict[str, str]
) -> None:
    env = {**home, **extra_fields(emulator)}
    wrong = "not-the-password-4711"
    pair = login_pair(emulator, wrong)

    finished = http(env, "-A", AUTH_TYPES[emulator.name], "-a", pair, server.base_url + "/x")

    assert finished.returncode != 0
    assert "http: error: LoginError:" in finished.stderr
    assert "Traceback" not in finished.stderr
    output = finished.stdout + finished.stderr
    assert wrong not in output
    assert emulator.credentials()["password"] not in output
    assert emulator.logins == 1
    assert not calls(emulator, "/x")


def test_finhub_names_the_missing_variable(home: dict[str, str]) -> None:
    emulator = FinHubEmulator()
    env = {**home, **extra_fields(emulator)}
    del env["FINHUB_TENANT_SECRET"]
    with EmulatorServer(emulator) as server:
        url = server.base_url + emulator.sample_path
        finished = http(env, "-A", "finhub", "-a", login_pair(emulator), url)

    assert finished.returncode != 0
    assert "http: error: ConfigurationError:" in finished.stderr
    assert "FINHUB_TENANT_SECRET" in finished.stderr
    assert "FINHUB_TENANT_KEY" not in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not emulator.calls


def test_a_base_url_without_scheme_names_the_variable_and_the_fix(home: dict[str, str]) -> None:
    env = {**home, "FINCRUX_BASE_URL": "127.0.0.1:8400"}

    finished = http(env, "-A", "fincrux", "-a", "me@example.com:secret-4711", "http://x.invalid/")

    assert finished.returncode != 0
    assert finished.stderr.strip() == (
        "http: error: ConfigurationError: Fincrux: FINCRUX_BASE_URL 127.0.0.1:8400 has no "
        "http:// or https://; did you mean FINCRUX_BASE_URL=http://127.0.0.1:8400?"
    )


def test_plain_http_to_a_remote_host_is_refused_before_any_connection(
    home: dict[str, str],
) -> None:
    env = {**home, "FINCRUX_BASE_URL": "http://x.invalid"}

    finished = http(env, "-A", "fincrux", "-a", "me@example.com:secret-4711", "http://x.invalid/")

    assert finished.returncode != 0
    assert "http: error: InsecureTransportError:" in finished.stderr
    assert "secret-4711" not in finished.stdout + finished.stderr


class Recorder(socketserver.StreamRequestHandler):
    """A loopback HTTP proxy that forwards nothing: it notes each request line and
    answers 502, so a client that tried to reach any host shows up in `server.lines`."""

    server: RecordingProxy

    def handle(self) -> None:
        self.server.lines.append(self.rfile.readline().decode("latin-1").strip())
        self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


class RecordingProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Recorder)
        self.lines: list[str] = []


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy() as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server
        server.shutdown()
        thread.join()


def through(proxy: RecordingProxy, env: dict[str, str]) -> dict[str, str]:
    """`env` with every non-loopback request, HTTPie's and finauth's, sent to `proxy`."""
    address = "http://{}:{}".format(*proxy.server_address[:2])
    names = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    return {**env, **dict.fromkeys(names, address)}


def test_a_url_elsewhere_is_refused_before_anything_is_sent(
    emulator: Emulator, proxy: RecordingProxy, home: dict[str, str]
) -> None:
    """With the credentials exported and no base URL, a URL at another host than the
    provider's must not receive the login (the password): nothing is sent at all.

    `.invalid` never resolves, and the proxy forwards nothing, so whatever a run tried
    to send stays on loopback, and in `proxy.lines`.
    """
    env = {**home, **emulator.environment("unused")}
    del env[f"{emulator.name.upper()}_BASE_URL"]
    url = "https://not-provider.invalid/api/anything"

    finished = http(through(proxy, env), "-A", AUTH_TYPES[emulator.name], url)

    assert finished.returncode != 0
    assert "http: error: ConfigurationError:" in finished.stderr
    assert emulator.production_url in finished.stderr
    assert f"{emulator.name.upper()}_BASE_URL" in finished.stderr
    assert "https://not-provider.invalid" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert emulator.credentials()["password"] not in finished.stdout + finished.stderr
    assert proxy.lines == []


def test_a_base_url_from_the_environment_refuses_another_origin(
    emulator: Emulator, server: EmulatorServer, home: dict[str, str]
) -> None:
    """`<PROVIDER>_BASE_URL` names the one origin `-A` serves: even the same server under
    another name (`localhost` for `127.0.0.1`) is another origin, refused, not sent to
    without credentials."""
    env = {**home, **emulator.environment(server.base_url)}
    elsewhere = server.base_url.replace("127.0.0.1", "localhost") + emulator.sample_path

    finished = http(env, "-A", AUTH_TYPES[emulator.name], elsewhere)

    assert finished.returncode != 0
    assert "http: error: ConfigurationError:" in finished.stderr
    assert server.base_url.removesuffix(emulator.prefix) in finished.stderr
    assert not emulator.calls


def test_importing_finauth_does_not_import_httpie() -> None:
    code = (
        "import sys, finauth, finauth.providers.fincrux, finauth.testing;"
        "assert 'httpie' not in sys.modules, 'httpie imported'"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )

    assert finished.returncode == 0, finished.stderr
