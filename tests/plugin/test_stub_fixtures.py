"""The pytest plugin as a downstream suite meets it (SPEC §5), proven with pytester.

Each test writes a small test module of the kind a user would, runs it in a
subprocess (so the plugin loads through its `pytest11` entry point, as it does
for users) and checks the outcomes. Inner runs use `-W error --strict-markers`:
the plugin's markers must be registered and nothing may warn.
"""

from __future__ import annotations

import pytest

from inner_runs import UNUSED_PLUGINS

# Shared by the inner test modules: the production URLs, and a client runner that
# drives requests, httpx.Client or httpx.AsyncClient (under asyncio.run) the same way.
COMMON = '''
import asyncio
import json

import httpx
import jwt
import pytest
import requests

import finauth

FIXTURES = ["fincrux_stub", "finvera_stub", "finhub_stub"]
PRODUCTION = {
    "fincrux_stub": "https://api.fincrux.org",
    "finvera_stub": "https://api.finvera.news",
    "finhub_stub": "https://sandbox.finhub.cloud",
}
LOGIN_PATH = {
    "fincrux_stub": "/api/auth/login",
    "finvera_stub": "/kms/api/v1/auth/token",
    "finhub_stub": "/api/v2.1/admin/organization/{organization_id}/users/{user_id}/sessions",
}


def fetch(client, auth, urls, method="GET", **kwargs):
    """(status, body bytes) for each url, sent one after the other through one client."""
    if client == "requests":
        with requests.Session() as session:
            session.auth = auth
            return [
                (r.status_code, r.content)
                for r in [session.request(method, url, timeout=5, **kwargs) for url in urls]
            ]
    if client == "httpx":
        with httpx.Client(auth=auth) as http:
            answers = [http.request(method, url, **kwargs) for url in urls]
            return [(r.status_code, r.content) for r in answers]

    async def main():
        async with httpx.AsyncClient(auth=auth) as http:
            answers = [await http.request(method, url, **kwargs) for url in urls]
            return [(r.status_code, r.content) for r in answers]

    return asyncio.run(main())


def by_hand(name, stub):
    """The auth a user's own code builds, from the stub's credential attributes only."""
    if name == "fincrux_stub":
        return finauth.FincruxJWTAuth(stub.email, stub.password)
    if name == "finvera_stub":
        return finauth.FinveraCookieAuth(stub.email, stub.password)
    return finauth.FinHubSessionAuth(
        organization_id=stub.organization_id,
        user_id=stub.user_id,
        tenant_id=stub.tenant_id,
        username=stub.username,
        password=stub.password,
        tenant_key=stub.tenant_key,
        tenant_secret=stub.tenant_secret,
    )


def token_of(name, call):
    """The access token a recorded call carried, in the provider's own format."""
    if name == "finvera_stub":
        cookies = dict(pair.strip().split("=", 1) for pair in call.headers["cookie"].split(";"))
        return cookies["DT_AUTH_TOKEN"]
    scheme, _, token = call.headers["authorization"].partition(" ")
    assert scheme == ("JWT" if name == "fincrux_stub" else "Bearer")
    return token


def lifetime(token):
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims["exp"] - claims["iat"]


def sample_url(stub):
    return stub.base_url + stub.emulator.sample_path


class Offline(requests.adapters.BaseAdapter):
    """Stands where the network would be: answers 599, sends nothing anywhere."""

    def send(self, request, **kwargs):
        response = requests.Response()
        response.status_code = 599
        response.request = request
        response.url = request.url
        response._content = b""
        return response

    def close(self):
        pass


def reached(url):
    """(requests, httpx) status of an unauthenticated GET: 599 means no stub took it."""
    with requests.Session() as session:
        session.mount("https://", Offline())
        session.mount("http://", Offline())
        via_requests = session.get(url, timeout=5).status_code
    offline = httpx.MockTransport(lambda request: httpx.Response(599))
    with httpx.Client(transport=offline) as client:
        via_httpx = client.get(url).status_code
    return via_requests, via_httpx


FINCRUX_SEARCH = "/api/search/RELIANCE"
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run the pytester project in a subprocess, warnings as errors, markers strict."""
    return pytester.runpytest_subprocess("-W", "error", "--strict-markers", *UNUSED_PLUGINS, *args)


def with_common(source: str) -> str:
    return COMMON + "\n\n" + source


# -- each fixture, each client, each way of building the auth -------------------------------


def test_each_fixture_answers_requests_and_httpx_at_the_production_url(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        with_common(
            """
@pytest.mark.parametrize("made", ["stub.auth()", "by hand"])
@pytest.mark.parametrize("client", ["requests", "httpx", "httpx-async"])
@pytest.mark.parametrize("name", FIXTURES)
def test_code_under_test_reaches_the_stub(name, client, made, request):
    stub = request.getfixturevalue(name)
    assert stub.base_url == PRODUCTION[name]
    stub.route("GET", "/v9/mine", json={"mine": name})
    auth = stub.auth() if made == "stub.auth()" else by_hand(name, stub)
    with auth:
        answers = fetch(
            client,
            auth,
            [PRODUCTION[name] + stub.emulator.sample_path, PRODUCTION[name] + "/v9/mine"],
        )
    assert answers[0][0] == 200, answers[0]
    assert json.loads(answers[0][1])  # the emulator's sample payload, not an empty body
    assert answers[1] == (200, json.dumps({"mine": name}).encode())
    assert stub.logins == 1
    assert stub.refreshes == 0
    assert [call.path for call in stub.calls[1:]] == [stub.emulator.sample_path, "/v9/mine"]
    assert stub.calls[0].method == "POST"
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=18)


def test_code_that_reads_the_environment_logs_in_to_the_stub_with_its_environ(
    pytester: pytest.Pytester,
) -> None:
    """`stub.environ` is all `from_env()` needs, set either way a test sets variables."""
    pytester.makepyfile(
        with_common(
            """
import os
from unittest import mock

AUTH = {
    "fincrux_stub": finauth.FincruxJWTAuth,
    "finvera_stub": finauth.FinveraCookieAuth,
    "finhub_stub": finauth.FinHubSessionAuth,
}


def from_env_and_fetch(name, stub):
    with AUTH[name].from_env() as auth:  # the code under test reads os.environ
        [(status, _)] = fetch("requests", auth, [sample_url(stub)])
    return status


@pytest.mark.parametrize("name", FIXTURES)
def test_with_patch_dict(name, request):
    stub = request.getfixturevalue(name)
    with mock.patch.dict(os.environ, stub.environ, clear=True):
        assert from_env_and_fetch(name, stub) == 200
    assert stub.logins == 1


@pytest.mark.parametrize("name", FIXTURES)
def test_with_monkeypatch(name, request, monkeypatch):
    stub = request.getfixturevalue(name)
    for variable in list(os.environ):
        monkeypatch.delenv(variable)
    for variable, value in stub.environ.items():
        monkeypatch.setenv(variable, value)
    assert from_env_and_fetch(name, stub) == 200
    assert stub.logins == 1


@pytest.mark.finhub_stub(base_url="https://finhub.staging.example/hub", tenant_id="t-9")
def test_with_the_marker_options(finhub_stub):
    assert finhub_stub.environ["FINHUB_BASE_URL"] == "https://finhub.staging.example/hub"
    assert finhub_stub.environ["FINHUB_TENANT_ID"] == "t-9"
    with mock.patch.dict(os.environ, finhub_stub.environ, clear=True):
        assert from_env_and_fetch("finhub_stub", finhub_stub) == 200
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=7)


def test_route_is_protected_and_answers_its_json_and_status(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        with_common(
            """
@pytest.mark.parametrize("client", ["requests", "httpx", "httpx-async"])
@pytest.mark.parametrize("name", FIXTURES)
def test_route(name, client, request):
    stub = request.getfixturevalue(name)
    stub.route("POST", "/api/v1/orders", json={"order": 7, "state": "new"}, status=201)
    url = stub.base_url + "/api/v1/orders"
    [(status, _)] = fetch(client, None, [url], method="POST", json={"qty": 1})
    assert status == 401
    assert stub.logins == 0
    with stub.auth() as auth:
        [(status, body)] = fetch(client, auth, [url], method="POST", **raw(client, b"qty=1"))
    assert status == 201
    assert json.loads(body) == {"order": 7, "state": "new"}
    assert stub.logins == 1
    assert stub.calls[-1].method == "POST"
    assert stub.calls[-1].body == b"qty=1"


def raw(client, body):
    return {"data": body} if client == "requests" else {"content": body}
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=9)


# -- fault controls and records ------------------------------------------------------------


def test_fault_controls(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        with_common(
            """
import finauth._retry


@pytest.fixture
def fast_backoff(monkeypatch):
    monkeypatch.setattr(finauth._retry, "BASE_DELAY", 0.001)


@pytest.mark.parametrize("name", FIXTURES)
def test_expire_tokens_means_401_then_refresh_then_200(name, request):
    stub = request.getfixturevalue(name)
    with stub.auth() as auth:
        assert fetch("httpx", auth, [sample_url(stub)])[0][0] == 200
        assert (stub.logins, stub.refreshes) == (1, 0)
        before = len(stub.calls)
        stub.expire_tokens()
        assert fetch("httpx", auth, [sample_url(stub)])[0][0] == 200
    assert (stub.logins, stub.refreshes) == (1, 1)
    sample, refresh, again = stub.calls[before:]
    assert sample.path == again.path == stub.emulator.sample_path
    assert "refresh" in refresh.path
    assert token_of(name, again) != token_of(name, sample)


@pytest.mark.parametrize("name", FIXTURES)
def test_revoke_tokens_means_a_new_login(name, request):
    stub = request.getfixturevalue(name)
    with stub.auth() as auth:
        assert fetch("httpx-async", auth, [sample_url(stub)])[0][0] == 200
        stub.revoke_tokens()
        assert fetch("httpx-async", auth, [sample_url(stub)])[0][0] == 200
    assert stub.logins == 2
    assert stub.refreshes == 1  # tried first, refused: the refresh token was revoked too


@pytest.mark.parametrize("name", FIXTURES)
def test_fail_next_login_401_is_a_login_error(name, request):
    stub = request.getfixturevalue(name)
    stub.fail_next_login(401)
    with stub.auth() as auth:
        with pytest.raises(finauth.LoginError) as caught:
            requests.get(sample_url(stub), auth=auth, timeout=5)
        assert caught.value.status_code == 401
        assert caught.value.provider == stub.emulator.name
        # only the next login fails
        assert requests.get(sample_url(stub), auth=auth, timeout=5).status_code == 200
    assert stub.logins == 2


@pytest.mark.parametrize("name", FIXTURES)
def test_fail_next_login_with_an_html_page_is_a_provider_response_error(name, request):
    stub = request.getfixturevalue(name)
    stub.fail_next_login(500, "<html><body>Internal Server Error</body></html>")
    with stub.auth() as auth:
        with pytest.raises(finauth.ProviderResponseError) as caught:
            fetch("httpx", auth, [sample_url(stub)])
    assert caught.value.status_code == 500
    assert stub.logins == 1  # a 500 is not one of R9's retried statuses


@pytest.mark.parametrize("name", FIXTURES)
def test_rate_limit_then_success(name, request, fast_backoff):
    stub = request.getfixturevalue(name)
    stub.rate_limit(2, retry_after=0)
    with stub.auth() as auth:
        assert requests.get(sample_url(stub), auth=auth, timeout=5).status_code == 200
    assert stub.logins == 3


@pytest.mark.parametrize("name", FIXTURES)
def test_rate_limit_past_the_retries_is_rate_limited_error(name, request, fast_backoff):
    stub = request.getfixturevalue(name)
    stub.rate_limit(5)
    with stub.auth() as auth:
        with pytest.raises(finauth.RateLimitedError):
            fetch("httpx-async", auth, [sample_url(stub)])
    assert stub.logins == 3
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=18)


def test_real_backoff_is_respected_once(pytester: pytest.Pytester) -> None:
    """The one inner run left with R9's real backoff (one wait of up to 0.5 s), unpatched."""
    pytester.makepyfile(
        with_common(
            """
def test_rate_limited_login_retries_with_real_backoff(fincrux_stub):
    fincrux_stub.rate_limit(1)
    with fincrux_stub.auth() as auth:
        assert requests.get(sample_url(fincrux_stub), auth=auth, timeout=5).status_code == 200
    assert fincrux_stub.logins == 2
    assert [call.path for call in fincrux_stub.calls] == [
        "/api/auth/login",
        "/api/auth/login",
        fincrux_stub.emulator.sample_path,
    ]
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_records_and_token_ttl(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        with_common(
            """
HEADER = {
    "fincrux_stub": ("authorization", "JWT "),
    "finvera_stub": ("cookie", "DT_AUTH_TOKEN="),
    "finhub_stub": ("authorization", "Bearer "),
}


@pytest.mark.parametrize("client", ["requests", "httpx"])
@pytest.mark.parametrize("name", FIXTURES)
def test_calls_record_method_path_headers_and_body_as_sent(name, client, request):
    stub = request.getfixturevalue(name)
    assert stub.calls == []
    with by_hand(name, stub) as auth:
        fetch(client, auth, [sample_url(stub)])
    login, sample = stub.calls
    assert login.method == "POST"
    assert login.path == LOGIN_PATH[name].format(
        organization_id=getattr(stub, "organization_id", ""), user_id=getattr(stub, "user_id", "")
    )
    assert stub.password.encode() in login.body
    sent = json.loads(login.body)
    assert sent["password"] == stub.password
    if name == "finhub_stub":
        assert sent["tenantSecret"] == stub.tenant_secret
        assert sent["tenantKey"] == stub.tenant_key
        assert login.headers["X-TENANT-ID"] == login.headers["x-tenant-id"] == stub.tenant_id
    else:
        assert sent["email"] == stub.email
    assert login.headers["content-type"].startswith("application/json")
    assert login.headers["Content-Type"] == login.headers["CONTENT-TYPE"]
    assert sample.method == "GET"
    assert sample.path == stub.emulator.sample_path
    header, prefix = HEADER[name]
    assert header in sample.headers and header.upper() in sample.headers
    assert sample.headers[header.upper()].startswith(prefix)
    assert sample.headers[header.title()] == sample.headers[header]
    assert sample.body == b""


@pytest.mark.parametrize("name", FIXTURES)
def test_token_ttl_default_and_setter(name, request):
    stub = request.getfixturevalue(name)
    assert stub.token_ttl == 3600
    with stub.auth() as auth:
        fetch("requests", auth, [sample_url(stub)])
    assert lifetime(token_of(name, stub.calls[-1])) == pytest.approx(3600)
    stub.token_ttl = 120
    assert stub.token_ttl == 120
    with stub.auth(refresh_margin=0) as auth:
        fetch("httpx", auth, [sample_url(stub)])
    assert lifetime(token_of(name, stub.calls[-1])) == pytest.approx(120)
    assert stub.logins == 2


@pytest.mark.fincrux_stub(token_ttl=5)
@pytest.mark.finvera_stub(token_ttl=5)
@pytest.mark.finhub_stub(token_ttl=5)
@pytest.mark.parametrize("name", FIXTURES)
def test_marker_token_ttl_is_visible_and_on_the_wire(name, request):
    stub = request.getfixturevalue(name)
    assert stub.token_ttl == 5
    with stub.auth(refresh_margin=0) as auth:
        [(status, _)] = fetch("httpx-async", auth, [sample_url(stub)])
    assert status == 200
    assert lifetime(token_of(name, stub.calls[-1])) == pytest.approx(5)
    assert (stub.logins, stub.refreshes) == (1, 0)


@pytest.mark.fincrux_stub(email="someone@example.test", password="their-own-password")
def test_marker_sets_the_account(fincrux_stub):
    assert (fincrux_stub.email, fincrux_stub.password) == (
        "someone@example.test",
        "their-own-password",
    )
    with finauth.FincruxJWTAuth("someone@example.test", "their-own-password") as auth:
        assert requests.get(sample_url(fincrux_stub), auth=auth, timeout=5).status_code == 200
    with finauth.FincruxJWTAuth("demo@fincrux.test", "fincrux-demo-password") as auth:
        with pytest.raises(finauth.LoginError):
            requests.get(sample_url(fincrux_stub), auth=auth, timeout=5)


@pytest.mark.finhub_stub(tenant_id="tenant_other", tenant_secret="other-secret")
def test_marker_sets_finhub_tenant(finhub_stub):
    assert finhub_stub.tenant_id == "tenant_other"
    with by_hand("finhub_stub", finhub_stub) as auth:
        assert requests.get(sample_url(finhub_stub), auth=auth, timeout=5).status_code == 200
    assert finhub_stub.calls[-1].headers["x-tenant-id"] == "tenant_other"
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=14)


# -- markers -------------------------------------------------------------------------------


def test_markers_merge_module_class_and_test_closest_winning(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        with_common(
            """
pytestmark = pytest.mark.fincrux_stub(token_ttl=100)


def test_module_marker(fincrux_stub):
    assert fincrux_stub.token_ttl == 100
    assert fincrux_stub.base_url == "https://api.fincrux.org"
    assert reached("https://api.fincrux.org" + FINCRUX_SEARCH) == (401, 401)


@pytest.mark.fincrux_stub(token_ttl=50, base_url="https://fincrux.internal")
class TestMoved:
    def test_class_marker(self, fincrux_stub):
        assert fincrux_stub.token_ttl == 50
        assert fincrux_stub.base_url == "https://fincrux.internal"

    @pytest.mark.fincrux_stub(token_ttl=5)
    def test_test_marker_wins_and_class_base_url_stays(self, fincrux_stub):
        assert fincrux_stub.token_ttl == 5
        assert fincrux_stub.base_url == "https://fincrux.internal"
        # the production URL is no longer answered: such a request goes out untouched
        # (here to an offline stand-in for the network)
        assert reached("https://api.fincrux.org" + FINCRUX_SEARCH) == (599, 599)
        assert reached("https://fincrux.internal" + FINCRUX_SEARCH) == (401, 401)
        fincrux_stub.route("GET", "/api/holdings", json={"holdings": []})
        with fincrux_stub.auth(refresh_margin=0) as auth:
            answers = fetch(
                "requests",
                auth,
                ["https://fincrux.internal/api/search/RELIANCE", "https://fincrux.internal/api/holdings"],
            )
        assert [status for status, _ in answers] == [200, 200]
        assert lifetime(token_of("fincrux_stub", fincrux_stub.calls[-1])) == pytest.approx(5)
        with finauth.FincruxJWTAuth(
            fincrux_stub.email, fincrux_stub.password, base_url="https://fincrux.internal"
        ) as auth:
            [(status, _)] = fetch("httpx", auth, ["https://fincrux.internal/api/holdings"])
        assert status == 200
        assert fincrux_stub.logins == 2

    def test_other_fixtures_take_only_their_own_marker(self, finvera_stub):
        assert finvera_stub.token_ttl == 3600
        assert finvera_stub.base_url == "https://api.finvera.news"


@pytest.mark.fincrux_stub(token_ttl=7)
@pytest.mark.fincrux_stub(token_ttl=9)
def test_stacked_markers_on_one_test_agree_with_get_closest_marker(fincrux_stub, request):
    # pytest's own "closest": the decorator nearest the def
    assert request.node.get_closest_marker("fincrux_stub").kwargs == {"token_ttl": 9}
    assert fincrux_stub.token_ttl == 9
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=5)


def test_prefix_is_not_an_option_the_base_url_path_is(pytester: pytest.Pytester) -> None:
    """A path in base_url prefixes the endpoints; a separate prefix could only disagree."""
    pytester.makepyfile(
        """
import pytest


@pytest.mark.fincrux_stub(base_url="https://gateway.internal/fincrux", prefix="/fincrux")
def test_prefix(fincrux_stub):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.fincrux_stub: Fincrux stub: unknown option(s) prefix*"]
    )


def test_base_url_with_a_path_is_served_under_that_path(pytester: pytest.Pytester) -> None:
    """SPEC R1: a path in base_url prefixes the auth endpoints; stub.auth() is "ready" (§5).

    A stub moved to a base_url with a path should answer under that path, or
    `stub.auth()` cannot log in to its own stub.
    """
    pytester.makepyfile(
        with_common(
            """
@pytest.mark.finvera_stub(base_url="https://gateway.internal/finvera")
def test_path_in_base_url(finvera_stub):
    assert finvera_stub.base_url == "https://gateway.internal/finvera"
    with finvera_stub.auth() as auth:
        [(status, _)] = fetch("requests", auth, [sample_url(finvera_stub)])
    assert status == 200
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_unknown_marker_option_errors_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import pytest


@pytest.mark.fincrux_stub(tokn_ttl=5)
def test_typo(fincrux_stub):
    pass


@pytest.mark.finhub_stub(colour="blue")
def test_unknown_finhub(finhub_stub):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_typo*",
            "*@pytest.mark.fincrux_stub: Fincrux stub: unknown option(s) tokn_ttl;"
            " it takes api_key, base_url, email, password, refresh_path, token_ttl",
            "*ERROR at setup of test_unknown_finhub*",
            "*@pytest.mark.finhub_stub: FinHub stub: unknown option(s) colour; it takes *",
        ]
    )


# -- the stub outside the fixtures: context managers of the user's own ----------------------


def test_module_scoped_stub_and_stub_as_context_manager(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_module_scope=with_common(
            """
import finauth.testing


@pytest.fixture(scope="module")
def stub():
    with finauth.testing.open_stub("Fincrux") as s:
        yield s


def test_first(stub):
    with stub.auth() as auth:
        assert requests.get(sample_url(stub), auth=auth, timeout=5).status_code == 200
    assert stub.logins == 1


def test_second_shares_the_counts(stub):
    assert stub.logins == 1
    with stub.auth() as auth:
        [(status, _)] = fetch("httpx-async", auth, [sample_url(stub)])
    assert status == 200
    assert stub.logins == 2
    assert [call.path for call in stub.calls].count(stub.emulator.sample_path) == 2


def test_a_second_stub_on_the_same_origin_is_refused(stub):
    with pytest.raises(ValueError, match="already answers https://api.fincrux.org"):
        with finauth.testing.open_stub("Fincrux"):
            pass
    with finauth.testing.open_stub("Finvera") as other:  # another origin is fine
        assert other.base_url == "https://api.finvera.news"


def test_the_fixture_clashes_with_it(stub, fincrux_stub):
    pass
"""
        ),
        test_stub_class=with_common(
            """
from finauth.testing import FincruxEmulator, Stub


def test_stub_with_statement():
    stub = Stub(FincruxEmulator(token_ttl=60), base_url="https://fincrux.example/")
    assert stub.base_url == "https://fincrux.example"
    assert reached(sample_url(stub)) == (599, 599)
    with stub as entered:
        assert entered is stub
        assert reached(sample_url(stub)) == (401, 401)
        with stub.auth(refresh_margin=0) as auth:
            [(status, _)] = fetch("httpx", auth, [sample_url(stub)])
        assert status == 200
        assert lifetime(token_of("fincrux_stub", stub.calls[-1])) == pytest.approx(60)
    assert reached(sample_url(stub)) == (599, 599)
    assert stub.logins == 1
    assert [call.path for call in stub.calls].count(FINCRUX_SEARCH) == 3
"""
        ),
    )
    result = run(pytester)
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_the_fixture_clashes_with_it*",
            "E  *ValueError: a stub already answers https://api.fincrux.org",
        ]
    )


# -- unmatched requests --------------------------------------------------------------------


def test_an_unmatched_request_is_one_failure_naming_the_fixture_and_the_fix(
    pytester: pytest.Pytester,
) -> None:
    """Raised or swallowed by the code under test, an unmatched request fails its test once,
    as `finauth.testing.UnmatchedRequest`, never again as an error at teardown."""
    pytester.makepyfile(
        with_common(
            """
def test_raised(fincrux_stub):
    fincrux_stub.route("GET", "/api/mine")
    requests.get(fincrux_stub.base_url + "/api/nope", timeout=5)


def test_wrong_method_swallowed_by_the_code_under_test(finvera_stub):
    try:
        httpx.delete(finvera_stub.base_url + "/kms/api/v1/news/latest")
    except Exception:
        pass  # code under test that logs and carries on


def test_async_swallowed(finhub_stub):
    async def main():
        async with httpx.AsyncClient() as http:
            try:
                await http.get(finhub_stub.base_url + "/api/v2.1/missing")
            except Exception:
                return "swallowed"

    assert asyncio.run(main()) == "swallowed"


def test_swallowed_then_failing_for_it(fincrux_stub):
    try:
        answer = requests.get(fincrux_stub.base_url + "/api/quotes", timeout=5).json()
    except Exception:
        answer = {}
    assert answer == {"quotes": []}


def test_other_stubs_are_not_affected(fincrux_stub):
    assert requests.get(sample_url(fincrux_stub), timeout=5).status_code == 401
"""
        ),
        test_outside_the_test=with_common(
            """
import finauth.testing


@pytest.fixture(scope="module")
def shared():
    with finauth.testing.open_stub("Finvera") as stub:
        yield stub


@pytest.fixture
def warmed_up(fincrux_stub):
    requests.get(fincrux_stub.base_url + "/api/warm-up", timeout=5)


def test_module_scoped_stub_swallowed(shared):
    try:
        requests.get(shared.base_url + "/kms/api/v1/portfolio", timeout=5)
    except finauth.testing.UnmatchedRequest:
        pass


def test_module_scoped_stub_still_serves(shared):
    assert requests.get(sample_url(shared), timeout=5).status_code == 401


def test_in_a_fixture_of_the_user(warmed_up):
    pass
"""
        ),
    )
    result = run(pytester, "-rA")
    result.assert_outcomes(passed=2, failed=5, errors=1)
    assert "at teardown" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*_ test_raised _*",
            "E  *finauth.testing.UnmatchedRequest: fincrux_stub: no route for GET "
            "https://api.fincrux.org/api/nope",
            "E  *Registered: GET /api/mine, GET /api/search/RELIANCE, POST /api/auth/login, "
            "POST /api/auth/token/refresh/",
            'E  *Add it in the test: fincrux_stub.route("GET", "/api/nope", json=<answer>)',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_wrong_method_swallowed_by_the_code_under_test _*",
            "E  *finauth.testing.UnmatchedRequest: finvera_stub: no route for DELETE "
            "https://api.finvera.news/kms/api/v1/news/latest",
            "*Registered: *GET /kms/api/v1/news/latest*",
            '*Add it in the test: finvera_stub.route("DELETE", "/kms/api/v1/news/latest", *',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_async_swallowed _*",
            "E  *finauth.testing.UnmatchedRequest: finhub_stub: no route for GET "
            "https://sandbox.finhub.cloud/api/v2.1/missing",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_swallowed_then_failing_for_it _*",
            "E  *assert {} == {'quotes': []}",
            "*direct cause of the following exception*",
            "E  *finauth.testing.UnmatchedRequest: fincrux_stub: no route for GET "
            "https://api.fincrux.org/api/quotes",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*_ test_module_scoped_stub_swallowed _*",
            "E  *finauth.testing.UnmatchedRequest: stub: no route for GET "
            "https://api.finvera.news/kms/api/v1/portfolio",
            '*Add it in the test: stub.route("GET", "/kms/api/v1/portfolio", json=<answer>)',
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_in_a_fixture_of_the_user*",
            "E  *finauth.testing.UnmatchedRequest: fincrux_stub: no route for GET "
            "https://api.fincrux.org/api/warm-up",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "PASSED *::test_other_stubs_are_not_affected",
            "PASSED *::test_module_scoped_stub_still_serves",
        ]
    )


def test_other_hosts_pass_through_untouched(pytester: pytest.Pytester) -> None:
    """Only the stub's origin is answered: a loopback server next to it still gets its calls."""
    pytester.makepyfile(
        with_common(
            """
from finauth.testing import EmulatorServer, FincruxEmulator


@pytest.mark.parametrize("client", ["requests", "httpx", "httpx-async"])
def test_loopback_is_not_the_stub(fincrux_stub, client):
    real = FincruxEmulator()
    with EmulatorServer(real) as server:
        [(status, _)] = fetch(client, None, [server.base_url + real.sample_path])
    assert status == 401  # answered by the loopback server, not the stub
    assert [call.path for call in real.calls] == [real.sample_path]
    assert fincrux_stub.calls == []
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=3)


# -- dependencies, import cost, no autouse --------------------------------------------------


def test_missing_dependency_fails_with_a_pip_hint_never_skips(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import sys

import pytest


@pytest.fixture
def without(request, monkeypatch):
    # runs before the stub fixture, which comes after it in the test's arguments
    monkeypatch.setitem(sys.modules, request.param, None)
"""
    )
    pytester.makepyfile(
        """
import pytest

pytestmark = pytest.mark.parametrize("without", ["httpx", "requests"], indirect=True)


def test_fincrux(without, fincrux_stub):
    pass


def test_finvera(without, finvera_stub):
    pass


def test_finhub(without, finhub_stub):
    pass
""",
        test_unaffected="""
def test_still_fine_afterwards(finvera_stub):
    assert finvera_stub.logins == 0
""",
    )
    result = run(pytester, "-p", "no:pytest_httpx", "-p", "no:respx")
    # The fixture's setup fails, so pytest reports each as an error, never as a skip.
    result.assert_outcomes(passed=1, errors=6)
    for name in ("fincrux_stub", "finvera_stub", "finhub_stub"):
        for module in ("httpx", "requests"):
            result.stdout.fnmatch_lines(
                [f"{name} needs {module}, which is missing: pip install {module}"]
            )
    assert "SKIP" not in result.stdout.str()


def test_loading_the_plugin_imports_nothing_but_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import sys


def test_nothing_imported(request):
    assert request.config.pluginmanager.has_plugin("finauth")
    for name in ("requests", "httpx", "responses", "jwt", "urllib3", "finauth.testing"):
        assert name not in sys.modules, name
    assert sorted(m for m in sys.modules if m.startswith("finauth")) == [
        "finauth",
        "finauth.pytest_plugin",
    ]
    markers = request.config.getini("markers")
    for fixture in ("fincrux_stub", "finvera_stub", "finhub_stub"):
        assert any(line.startswith(fixture + "(") for line in markers), fixture
    assert not {"fincrux_stub", "finvera_stub", "finhub_stub"} & set(request.fixturenames)
"""
    )
    result = run(pytester, "-p", "no:pytest_httpx", "-p", "no:respx")
    result.assert_outcomes(passed=1)


def test_markers_and_fixtures_are_listed(pytester: pytest.Pytester) -> None:
    markers = run(pytester, "--markers", "-p", "no:pytest_httpx", "-p", "no:respx")
    assert markers.ret == 0
    markers.stdout.fnmatch_lines(
        [
            "@pytest.mark.fincrux_stub(**options): options of the fincrux_stub fixture*",
            "@pytest.mark.finvera_stub(**options): options of the finvera_stub fixture*",
            "@pytest.mark.finhub_stub(**options): options of the finhub_stub fixture*",
        ]
    )
    fixtures = run(pytester, "--fixtures")
    assert fixtures.ret == 0
    for name, provider in (("fincrux", "Fincrux"), ("finvera", "Finvera"), ("finhub", "FinHub")):
        fixtures.stdout.fnmatch_lines(
            [f"{name}_stub*", f"*{provider}'s auth and API, answered in-process*"]
        )


def test_no_stub_is_active_without_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        with_common(
            """
PRODUCTION = [
    "https://api.fincrux.org/api/search/RELIANCE",
    "https://api.finvera.news/kms/api/v1/news/latest",
    "https://sandbox.finhub.cloud/api/v2.1/customer/individual/categorization/hierarchy/x",
]


def test_before_any_stub(request):
    # nothing hooked the clients at load, and no fixture came along uninvited
    assert requests.Session.get_adapter.__qualname__ == "Session.get_adapter"
    assert httpx.Client._transport_for_url.__qualname__ == "Client._transport_for_url"
    assert httpx.AsyncClient._transport_for_url.__qualname__ == "AsyncClient._transport_for_url"
    assert not set(FIXTURES) & set(request.fixturenames)
    assert [reached(url) for url in PRODUCTION] == [(599, 599)] * 3


def test_with_the_fixture(fincrux_stub):
    assert reached(PRODUCTION[0]) == (401, 401)
    assert reached("https://API.FINCRUX.ORG:443/api/search/RELIANCE") == (401, 401)
    assert [reached(url) for url in PRODUCTION[1:]] == [(599, 599)] * 2
    assert len(fincrux_stub.calls) == 4


def test_after_the_fixture(request):
    assert not set(FIXTURES) & set(request.fixturenames)
    assert [reached(url) for url in PRODUCTION] == [(599, 599)] * 3
"""
        )
    )
    result = run(pytester)
    result.assert_outcomes(passed=3)
