"""`finauth login` and `finauth get` against the emulators over loopback HTTP.

Each test runs the command in-process (`cli.main`) with the emulator's demo
account in the environment, except the few that run the installed script to
prove the exit status and the absence of a traceback end to end.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from finauth import _commands, cli
from finauth.testing import EMULATORS, Emulator, EmulatorServer, FincruxEmulator
from finauth.testing.fincrux import SEARCH_PATH

PROVIDERS = {emulator.name.lower(): emulator for emulator in EMULATORS}
SECRET_CREDENTIALS = ("password", "tenant_key", "tenant_secret")
FINAUTH_SCRIPT = Path(sys.executable).parent / "finauth"
TIMEOUT = 60.0


@dataclass
class Served:
    """One emulator on 127.0.0.1, its account exported as `from_env` reads it."""

    name: str
    emulator: Emulator
    base_url: str

    def secrets(self) -> set[str]:
        credentials = self.emulator.credentials()
        found = {credentials[name] for name in SECRET_CREDENTIALS if name in credentials}
        return found | set(self.emulator.issued)


def clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FINCRUX_/FINVERA_/FINHUB_ variable from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("FINCRUX_", "FINVERA_", "FINHUB_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Served]]:
    """Start the named provider's emulator and export its account: `serve["fincrux"]`."""
    clear_environment(monkeypatch)
    servers: list[EmulatorServer] = []

    class Lazy(dict[str, Served]):
        def __missing__(self, name: str) -> Served:
            emulator = PROVIDERS[name]()
            server = EmulatorServer(emulator).start()
            servers.append(server)
            for variable, value in emulator.environment(server.base_url).items():
                monkeypatch.setenv(variable, value)
            self[name] = Served(name, emulator, server.base_url)
            return self[name]

    yield Lazy()
    for server in servers:
        server.stop()


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def run(*arguments: str) -> int:
    return cli.main(list(arguments))


def assert_no_secret(served: Served, *texts: str) -> None:
    for secret in served.secrets():
        for text in texts:
            assert secret not in text, "a secret was printed"


# -- login -----------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_login_prints_account_expiry_and_a_masked_token(
    serve: dict[str, Served], no_tty: None, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    served = serve[provider]

    assert run("login", provider) == 0

    out, err = capsys.readouterr()
    assert out.startswith(f"{served.emulator.name}: logged in as ")
    assert f" at {served.base_url}\n" in out
    assert "expires at: " in out
    assert "token_type=access" in out  # the claims
    masked = re.search(r"^  token: +(\S{4})\.\.\.\((\d+) chars\)$", out, re.M)
    assert masked is not None, out
    start, length = masked.group(1), int(masked.group(2))
    assert any(t.startswith(start) and len(t) == length for t in served.emulator.issued)
    assert err == ""
    assert_no_secret(served, out, err)


def test_login_json(
    serve: dict[str, Served], no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve["fincrux"]

    assert run("login", "FinCrux", "--json") == 0  # the provider's case does not matter

    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["provider"] == "fincrux"
    assert report["base_url"] == served.base_url
    assert report["account"] == served.emulator.credentials()["email"]
    assert 3500 < report["expires_in"] <= 3600
    assert report["expires_at"].endswith("+00:00")
    assert report["claims"]["token_type"] == "access"
    assert report["token"].endswith(" chars)")
    assert served.emulator.logins == 1
    assert_no_secret(served, out, err)


def test_base_url_option_wins_over_the_environment(
    serve: dict[str, Served],
    no_tty: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = serve["finvera"]
    monkeypatch.setenv("FINVERA_BASE_URL", f"http://127.0.0.1:{closed_port()}")

    assert run("login", "finvera", "--base-url", served.base_url) == 0

    assert f" at {served.base_url}\n" in capsys.readouterr().out


# -- get -------------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_get_json_pretty_prints_the_answer(
    serve: dict[str, Served], no_tty: None, capsys: pytest.CaptureFixture[str], provider: str
) -> None:
    served = serve[provider]

    assert run("get", provider, served.emulator.sample_path, "--json") == 0

    out, err = capsys.readouterr()
    assert isinstance(json.loads(out), dict | list)
    assert out.startswith(("{\n  ", "[\n  "))  # indented
    assert served.emulator.logins == 1
    assert err == ""
    assert_no_secret(served, out, err)


def test_get_text_prints_the_body_as_sent(
    serve: dict[str, Served], no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve["fincrux"]
    served.emulator.route("GET", "/api/plain", json={"a": 1, "b": [2, 3]})

    assert run("get", "fincrux", "api/plain") == 0  # the leading slash is optional

    assert capsys.readouterr().out == '{"a": 1, "b": [2, 3]}\n'


def test_get_an_http_error_status_exits_4(
    serve: dict[str, Served], no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve["fincrux"]

    assert run("get", "fincrux", "/api/nowhere") == _commands.HTTP_ERROR == 4

    err = capsys.readouterr().err
    assert err == f"finauth get: HTTP 404 Not Found: GET {served.base_url}/api/nowhere\n"


# -- failures --------------------------------------------------------------------------------
def test_unknown_provider_is_one_line_exit_2(
    no_tty: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_environment(monkeypatch)

    assert run("login", "fintastic") == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "finauth login: unknown provider 'fintastic'; choose one of fincrux, finvera, finhub\n"
    )


def test_missing_variables_without_a_terminal_exit_3(
    serve: dict[str, Served],
    no_tty: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = serve["finhub"]
    monkeypatch.delenv("FINHUB_PASSWORD")
    monkeypatch.delenv("FINHUB_TENANT_ID")

    assert run("get", "finhub", "/x") == 3

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert "FINHUB_TENANT_ID, FINHUB_PASSWORD not set" in err
    assert "not a terminal" in err
    assert served.emulator.logins == 0


def test_missing_variables_are_prompted_for_on_a_terminal(
    serve: dict[str, Served],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = serve["finhub"]
    account = {f"FINHUB_{name.upper()}": v for name, v in served.emulator.credentials().items()}
    for name in account:
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "stdin", Terminal())
    hidden: list[str] = []
    shown: list[str] = []

    def fake_getpass(prompt: str, stream: object = None) -> str:
        hidden.append(prompt)
        return account[prompt.removesuffix(": ")]

    def fake_input() -> str:
        # the prompt went to stderr just before, so stdout stays clean for --json
        shown.append(capsys.readouterr().err)
        return account[shown[-1].removesuffix(": ")]

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr("builtins.input", fake_input)

    assert run("login", "finhub", "--json") == 0

    out, err = capsys.readouterr()
    assert json.loads(out)["account"] == account["FINHUB_USERNAME"]
    assert hidden == ["FINHUB_PASSWORD: ", "FINHUB_TENANT_KEY: ", "FINHUB_TENANT_SECRET: "]
    assert shown == [
        "FINHUB_USERNAME: ",
        "FINHUB_ORGANIZATION_ID: ",
        "FINHUB_USER_ID: ",
        "FINHUB_TENANT_ID: ",
    ]
    assert_no_secret(served, out, err, *shown)


def test_nothing_entered_at_a_prompt_exits_3(
    serve: dict[str, Served], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    serve["fincrux"]
    monkeypatch.delenv("FINCRUX_PASSWORD")
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt, stream=None: "")

    assert run("login", "fincrux") == 3

    assert capsys.readouterr().err == "finauth login: FINCRUX_PASSWORD: nothing entered\n"


def test_ctrl_c_at_a_prompt_exits_130_quietly(
    serve: dict[str, Served], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    serve["fincrux"]
    monkeypatch.delenv("FINCRUX_PASSWORD")
    monkeypatch.setattr(sys, "stdin", Terminal())

    def interrupted(prompt: str, stream: object = None) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", interrupted)

    assert run("login", "fincrux") == 130

    assert capsys.readouterr() == ("", "\n")


def test_a_wrong_password_is_a_login_error_exit_5(
    serve: dict[str, Served],
    no_tty: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = serve["finvera"]
    monkeypatch.setenv("FINVERA_PASSWORD", "not-the-password")

    assert run("login", "finvera") == 5

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("finauth login: Finvera")
    assert err.count("\n") == 1
    assert "not-the-password" not in err
    assert served.emulator.logins == 1
    assert_no_secret(served, out, err)


def test_an_unreachable_host_is_a_network_error_exit_6(
    no_tty: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_environment(monkeypatch)
    monkeypatch.setenv("FINCRUX_EMAIL", "me@example.com")
    monkeypatch.setenv("FINCRUX_PASSWORD", "a-password-never-sent")
    port = closed_port()

    assert run("get", "fincrux", SEARCH_PATH, "--base-url", f"http://127.0.0.1:{port}") == 6

    assert capsys.readouterr().err == (
        f"finauth get: cannot reach http://127.0.0.1:{port}: connection refused; "
        "is `finauth sandbox` running, at that port?\n"
    )


def test_plain_http_off_loopback_is_refused_exit_3(
    no_tty: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_environment(monkeypatch)
    monkeypatch.setenv("FINVERA_EMAIL", "me@example.com")
    monkeypatch.setenv("FINVERA_PASSWORD", "a-password-never-sent")

    assert run("login", "finvera", "--base-url", "http://api.example.com") == 3

    err = capsys.readouterr().err
    assert err.startswith("finauth login: Finvera: base_url http://api.example.com is not https")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("127.0.0.1:8400", "http://127.0.0.1:8400"),
        ("localhost:8400/v1", "http://localhost:8400/v1"),
        ("[::1]:8400", "http://[::1]:8400"),
        ("api.example.com", "https://api.example.com"),
    ],
)
def test_a_base_url_without_scheme_in_the_environment_names_the_variable_and_the_fix(
    no_tty: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    typed: str,
    meant: str,
) -> None:
    """Checked before anything else: FINCRUX_PASSWORD is not even set."""
    clear_environment(monkeypatch)
    monkeypatch.setenv("FINCRUX_BASE_URL", typed)

    assert run("login", "fincrux") == 3

    assert capsys.readouterr().err == (
        f"finauth login: FINCRUX_BASE_URL {typed} has no http:// or https://; "
        f"did you mean FINCRUX_BASE_URL={meant}?\n"
    )


def test_a_base_url_option_without_scheme_names_the_option_and_the_fix(
    no_tty: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_environment(monkeypatch)

    assert run("get", "finhub", "/x", "--base-url", "127.0.0.1:8400") == 3

    assert capsys.readouterr().err == (
        "finauth get: --base-url 127.0.0.1:8400 has no http:// or https://; "
        "did you mean --base-url http://127.0.0.1:8400?\n"
    )


def test_another_unusable_base_url_in_the_environment_names_the_variable(
    no_tty: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_environment(monkeypatch)
    monkeypatch.setenv("FINVERA_BASE_URL", "ftp://files.example.com")

    assert run("login", "finvera") == 3

    err = capsys.readouterr().err
    assert err.startswith("finauth login: Finvera: base_url must start with https://")
    assert err.endswith(" (base_url from FINVERA_BASE_URL)\n")


def test_allow_insecure_is_the_flag_the_message_suggests(
    serve: dict[str, Served],
    no_tty: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """0.0.0.0 is no loopback host to finauth (R11), but Linux connects it to one: the
    emulator, so the login stays on this machine."""
    served = serve["fincrux"]
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,0.0.0.0")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost,0.0.0.0")
    plain = served.base_url.replace("127.0.0.1", "0.0.0.0")
    monkeypatch.setenv("FINCRUX_BASE_URL", plain)

    assert run("login", "fincrux") == 3
    refused = capsys.readouterr().err
    assert run("login", "fincrux", "--allow-insecure") == 0

    assert f"base_url {plain} is not https" in refused
    assert "or --allow-insecure (base_url from FINCRUX_BASE_URL)\n" in refused
    assert "allow_insecure=True" not in refused
    assert f" at {plain}\n" in capsys.readouterr().out
    assert served.emulator.logins == 1


@pytest.mark.parametrize(
    ("where", "hint"),
    [
        ("served", "try: finauth get fincrux /api/search/X\n"),
        (
            "production",
            "try: finauth get fincrux /api/search/X --base-url https://api.fincrux.org\n",
        ),
    ],
)
def test_a_full_url_as_path_is_a_usage_error_with_the_command_to_run(
    serve: dict[str, Served],
    no_tty: None,
    capsys: pytest.CaptureFixture[str],
    where: str,
    hint: str,
) -> None:
    served = serve["fincrux"]
    origin = served.base_url if where == "served" else "https://api.fincrux.org"

    assert run("get", "fincrux", f"{origin}/api/search/X") == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"finauth get: PATH is a path under the base URL ({served.base_url}), not a full URL; "
    )
    assert err.endswith(hint)
    assert not served.emulator.calls


def test_a_full_url_with_a_query_is_not_repeated_whole(
    serve: dict[str, Served], no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    served = serve["fincrux"]

    assert run("get", "fincrux", f"{served.base_url}/api/x?api_key=k-4711") == 2

    err = capsys.readouterr().err
    assert err.endswith("try: finauth get fincrux /api/x?...\n")
    assert "k-4711" not in err


# -- help ------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["login", "get"])
def test_help_lists_exit_codes_and_variables(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(command, "--help")

    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: finauth {command}")
    assert "exit status:" in out
    for status in ("0", "2", "3", "4", "5", "6", "130"):
        assert f"\n  {status} " in out
    assert "FINHUB_TENANT_SECRET" in out
    assert "--base-url" in out
    assert "--allow-insecure" in out


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run("--help")

    out = capsys.readouterr().out
    assert "login" in out
    assert "get" in out


# -- the installed script --------------------------------------------------------------------
def finauth_script(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FINAUTH_SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_script_get_against_a_served_emulator() -> None:
    emulator = FincruxEmulator()
    with EmulatorServer(emulator) as server:
        env = {**os.environ, **emulator.environment(server.base_url), "NO_PROXY": "127.0.0.1"}
        found = finauth_script("get", "fincrux", SEARCH_PATH, "--json", env=env)
        missing = finauth_script("login", "fincrux", env={**env, "FINCRUX_PASSWORD": ""})

    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["query"] == "RELIANCE"
    assert missing.returncode == 3
    assert missing.stderr.startswith("finauth login: FINCRUX_PASSWORD not set")
    for finished in (found, missing):
        assert "Traceback" not in finished.stderr
        for secret in [emulator.password, *emulator.issued]:
            assert secret not in finished.stdout + finished.stderr


def test_script_unreachable_host_and_unknown_provider() -> None:
    env = {**os.environ, "FINCRUX_EMAIL": "me@example.com", "FINCRUX_PASSWORD": "pw-12345678"}
    port = closed_port()

    unreachable = finauth_script(
        "login", "fincrux", "--base-url", f"http://127.0.0.1:{port}", env=env
    )
    unknown = finauth_script("get", "nope", "/", env=env)

    assert unreachable.returncode == 6
    assert unreachable.stderr == (
        f"finauth login: cannot reach http://127.0.0.1:{port}: connection refused; "
        "is `finauth sandbox` running, at that port?\n"
    )
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1
    assert "fincrux, finvera, finhub" in unknown.stderr
