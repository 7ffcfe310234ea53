"""`stub_fixture`: a pytest fixture for a provider of one's own, as a user's conftest.py makes it.

The fixture it returns must behave as `fincrux_stub` and the other built-in ones do: it
answers requests and httpx at the emulator's production URL, takes its options from a
marker of its own name (registered, so `--strict-markers` accepts it, whether the fixture
is made before pytest is configured or in a conftest.py collected later), refuses an
unknown option, and fails a test that sends a request no route answers, naming the fixture.

As in test_stub_fixtures.py, each inner run is a subprocess (the plugin loads through its
`pytest11` entry point, as it does for users) with `-W error --strict-markers`. The inner
project finds the example OAuth 2.0 emulator through its own `pythonpath` ini setting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inner_runs import UNUSED_PLUGINS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "oauth2"

# The user's conftest.py: made while the plugin loads, before pytest_configure.
ROOT_CONFTEST = """
from oauth2_emulator import OAuth2Emulator

from finauth.pytest_plugin import stub_fixture

oauth2_stub = stub_fixture(OAuth2Emulator)
"""

# A conftest.py in a directory collected later (not named test*, so not loaded with the
# initial conftests): its fixture and marker are made after pytest_configure.
LATER_CONFTEST = """
from oauth2_emulator import OAuth2Emulator

from finauth.pytest_plugin import stub_fixture

auth_server = stub_fixture(OAuth2Emulator, name="auth_server")
"""

COMMON = """
import httpx
import pytest
import requests


def me(stub, auth):
    url = stub.base_url + "/v1/me"
    with requests.Session() as session:
        via_requests = session.get(url, auth=auth, timeout=5).status_code
    with httpx.Client(auth=auth) as client:
        via_httpx = client.get(url).status_code
    return via_requests, via_httpx
"""


def project(pytester: pytest.Pytester, **tests: str) -> None:
    """The user's project: its conftests, the example on its pythonpath, `tests` in `later/`."""
    pytester.makeini(f"[pytest]\npythonpath = {EXAMPLES}\n")
    pytester.makeconftest(ROOT_CONFTEST)
    later = pytester.mkpydir("later")
    (later / "conftest.py").write_text(LATER_CONFTEST)
    for name, source in tests.items():
        (later / f"{name}.py").write_text(COMMON + source)


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    """Run the project in a subprocess, warnings as errors, markers strict."""
    return pytester.runpytest_subprocess("-W", "error", "--strict-markers", *UNUSED_PLUGINS, "-rA")


def test_a_stub_fixture_of_ones_own_emulator_serves_clients_and_takes_its_marker(
    pytester: pytest.Pytester,
) -> None:
    project(
        pytester,
        test_served="""
def test_default_name_serves_requests_and_httpx(oauth2_stub):
    assert oauth2_stub.base_url == "https://api.example.com"
    with oauth2_stub.auth() as auth:
        assert me(oauth2_stub, auth) == (200, 200)
    assert oauth2_stub.logins == 1
    assert oauth2_stub.refreshes == 0


@pytest.mark.oauth2_stub(token_ttl=5)
def test_marker_sets_the_token_lifetime(oauth2_stub):
    assert oauth2_stub.token_ttl == 5
    with oauth2_stub.auth(refresh_margin=0) as auth:
        assert me(oauth2_stub, auth) == (200, 200)
        lifetime = auth.token.expires_at - auth.token.obtained_at
    assert lifetime.total_seconds() == pytest.approx(5)
    assert oauth2_stub.logins == 1


@pytest.mark.auth_server(base_url="https://auth.internal/oauth2", username="someone")
def test_named_fixture_takes_its_own_marker(auth_server, request):
    assert auth_server.name == "auth_server"
    assert auth_server.base_url == "https://auth.internal/oauth2"
    assert auth_server.username == "someone"
    with auth_server.auth() as auth:
        assert me(auth_server, auth) == (200, 200)
    assert auth_server.logins == 1
    assert "oauth2_stub" not in request.fixturenames


def test_both_markers_are_registered(request):
    markers = request.config.getini("markers")
    for fixture in ("oauth2_stub", "auth_server"):
        assert any(line.startswith(fixture + "(**options)") for line in markers), fixture
""",
    )
    result = run(pytester)
    result.assert_outcomes(passed=4)


def test_a_stub_fixture_of_ones_own_emulator_fails_unknown_options_and_unmatched_requests(
    pytester: pytest.Pytester,
) -> None:
    project(
        pytester,
        test_refused="""
@pytest.mark.oauth2_stub(nonsense=1)
def test_unknown_option(oauth2_stub):
    pass


def test_unmatched_with_the_default_name(oauth2_stub):
    with oauth2_stub.auth() as auth:
        requests.get(oauth2_stub.base_url + "/v1/nowhere", auth=auth, timeout=5)


def test_unmatched_swallowed_with_a_given_name(auth_server):
    try:
        httpx.get(auth_server.base_url + "/v1/elsewhere")
    except Exception:
        pass
""",
    )
    result = run(pytester)
    result.assert_outcomes(failed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_unknown_option*",
            "*@pytest.mark.oauth2_stub: OAuth2 stub: unknown option(s) nonsense; it takes *",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_unmatched_with_the_default_name _*",
            "E  *finauth.testing.UnmatchedRequest: oauth2_stub: no route for GET "
            "https://api.example.com/v1/nowhere",
            'E  *Add it in the test: oauth2_stub.route("GET", "/v1/nowhere", json=<answer>)',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_unmatched_swallowed_with_a_given_name _*",
            "E  *finauth.testing.UnmatchedRequest: auth_server: no route for GET "
            "https://api.example.com/v1/elsewhere",
            '*Add it in the test: auth_server.route("GET", "/v1/elsewhere", json=<answer>)',
        ]
    )
