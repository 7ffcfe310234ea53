"""The stub fixtures beside the user's own mocks (SPEC §5), run as a downstream suite would.

Each test writes a downstream test module with `pytester`, runs it in a fresh
process and checks every inner test's outcome. Inner tests call the stub's
production URL (answered by the stub) and `https://other.example/thing`
(answered by the user's mock), check that each went where it belongs, that the
mock's own end-of-test assertions hold, and walk the 401 retry path
(`revoke_tokens()`, then a call: still 200, a second login). An autouse fixture
in the inner conftest refuses every socket, so nothing can reach the internet
even if the plugin were broken: a request the stub fails to answer ends in an
error, never in a real connection.
"""

from __future__ import annotations

import textwrap

import pytest

from inner_runs import UNUSED_PLUGINS

STUBS = ("fincrux_stub", "finvera_stub", "finhub_stub")
HOSTS = {
    "fincrux_stub": "api.fincrux.org",
    "finvera_stub": "api.finvera.news",
    "finhub_stub": "sandbox.finhub.cloud",
}

CONFTEST = """
from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import requests
import responses
import respx

OTHER = "https://other.example/thing"
PING = "/coexist/ping"
OWN_JSON = {"from": "stub"}
MOCK_JSON = {"from": "user-mock"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def rsps():
    # assert_all_requests_are_fired=True, the RequestsMock default
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def router():
    # respx in the mode that patches httpx's _transport_for_url and owns every request;
    # assert_all_called and assert_all_mocked are on (the defaults)
    with respx.mock(using="httpx") as mock:
        yield mock


def ping_url(stub):
    stub.route("GET", PING, json=OWN_JSON)
    return stub.base_url + PING


def check_stub_side(stub):
    assert stub.logins == 2
    # 200, then 401 after the revocation, then the re-send: all three reached the stub
    assert [call.path for call in stub.calls if call.path == PING] == [PING] * 3
    assert "/thing" not in {call.path for call in stub.calls}


def exercise_requests(stub):
    url, auth = ping_url(stub), stub.auth()
    first = requests.get(url, auth=auth, timeout=5)
    assert (first.status_code, first.json()) == (200, OWN_JSON)
    other = requests.get(OTHER, auth=auth, timeout=5)
    assert (other.status_code, other.json()) == (200, MOCK_JSON)
    stub.revoke_tokens()
    again = requests.get(url, auth=auth, timeout=5)
    assert (again.status_code, again.json()) == (200, OWN_JSON)
    check_stub_side(stub)


def exercise_httpx_sync(stub):
    url = ping_url(stub)
    with httpx.Client(auth=stub.auth(), timeout=5) as client:
        first = client.get(url)
        assert (first.status_code, first.json()) == (200, OWN_JSON)
        other = client.get(OTHER)
        assert (other.status_code, other.json()) == (200, MOCK_JSON)
        stub.revoke_tokens()
        again = client.get(url)
        assert (again.status_code, again.json()) == (200, OWN_JSON)
    check_stub_side(stub)


def exercise_httpx_async(stub):
    url = ping_url(stub)

    async def main():
        async with httpx.AsyncClient(auth=stub.auth(), timeout=5) as client:
            first = await client.get(url)
            assert (first.status_code, first.json()) == (200, OWN_JSON)
            other = await client.get(OTHER)
            assert (other.status_code, other.json()) == (200, MOCK_JSON)
            stub.revoke_tokens()
            again = await client.get(url)
            assert (again.status_code, again.json()) == (200, OWN_JSON)

    asyncio.run(main())
    check_stub_side(stub)


EXERCISE_HTTPX = {"sync": exercise_httpx_sync, "async": exercise_httpx_async}
"""

HEADER = """
import pytest
import responses
from conftest import EXERCISE_HTTPX, MOCK_JSON, OTHER, exercise_requests
"""

# Each section starts with its library's "mock started before the stub" test. responses
# and respx share a run, rotated per stub, and httpx_mock has runs of its own: so in some
# run each library has patched the clients before the stub's hooks were first installed
# in the process.
RESPONSES_SECTION = """
def test_responses_fixture_before_stub(rsps, __STUB__):
    rsps.get(OTHER, json=MOCK_JSON)
    exercise_requests(__STUB__)
    assert [call.request.url for call in rsps.calls] == [OTHER]


def test_responses_fixture_after_stub(__STUB__, rsps):
    rsps.get(OTHER, json=MOCK_JSON)
    exercise_requests(__STUB__)
    assert [call.request.url for call in rsps.calls] == [OTHER]


@responses.activate(assert_all_requests_are_fired=True)
def test_responses_decorator(__STUB__):
    responses.get(OTHER, json=MOCK_JSON)
    exercise_requests(__STUB__)
    assert [call.request.url for call in responses.calls] == [OTHER]
"""

HTTPX_MOCK_SECTION = """
@pytest.mark.parametrize("client", ["sync", "async"])
def test_httpx_mock_before_stub(httpx_mock, __STUB__, client):
    httpx_mock.add_response(url=OTHER, json=MOCK_JSON)
    EXERCISE_HTTPX[client](__STUB__)
    assert [str(request.url) for request in httpx_mock.get_requests()] == [OTHER]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_httpx_mock_after_stub(__STUB__, httpx_mock, client):
    httpx_mock.add_response(url=OTHER, json=MOCK_JSON)
    EXERCISE_HTTPX[client](__STUB__)
    assert [str(request.url) for request in httpx_mock.get_requests()] == [OTHER]
"""

RESPX_MOCK_SECTION = """
@pytest.mark.parametrize("client", ["sync", "async"])
def test_respx_mock_before_stub(respx_mock, __STUB__, client):
    other = respx_mock.get(OTHER).respond(json=MOCK_JSON)
    EXERCISE_HTTPX[client](__STUB__)
    assert other.call_count == 1
    assert [str(call.request.url) for call in respx_mock.calls] == [OTHER]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_respx_mock_after_stub(__STUB__, respx_mock, client):
    other = respx_mock.get(OTHER).respond(json=MOCK_JSON)
    EXERCISE_HTTPX[client](__STUB__)
    assert other.call_count == 1
    assert [str(call.request.url) for call in respx_mock.calls] == [OTHER]
"""

REGISTER_MODULE = """
import re

import pytest
import responses
from conftest import (
    EXERCISE_HTTPX, MOCK_JSON, OTHER, exercise_httpx_sync, exercise_requests,
)


# -- a mock that owns every request: respx patching httpx's _transport_for_url ----------------
def test_respx_httpx_after_stub_unregistered_takes_everything(__STUB__, router):
    exercise_httpx_sync(__STUB__)  # fails at the login: respx has no route for it


@pytest.mark.parametrize("client", ["sync", "async"])
def test_respx_httpx_after_stub_registered(__STUB__, router, client):
    other = router.get(OTHER).respond(json=MOCK_JSON)
    __STUB__.register(router)
    EXERCISE_HTTPX[client](__STUB__)
    assert other.call_count == 1
    through_router = [
        call for call in router.calls if str(call.request.url).startswith(__STUB__.base_url)
    ]
    # every request the stub saw (logins, refresh attempt, 200, 401, re-send) came through it
    assert len(through_router) == len(__STUB__.calls) >= 5


# -- registered routes answering, when the stub does not answer by itself -------------------
def test_responses_register_answers_through_route(__STUB__):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(OTHER, json=MOCK_JSON)
        __STUB__.stop()  # now only the routes installed into rsps can answer the stub's host
        try:
            __STUB__.register(rsps)
            exercise_requests(__STUB__)
        finally:
            __STUB__.start()
        urls = [call.request.url for call in rsps.calls]
    assert urls.count(OTHER) == 1
    assert len([url for url in urls if url.startswith(__STUB__.base_url)]) == len(__STUB__.calls)
    assert len(__STUB__.calls) >= 5


# -- registering while the stub answers keeps the mock's own end-of-test checks happy --------
def test_responses_register_before_stub_keeps_assert_all_fired(rsps, __STUB__):
    rsps.get(OTHER, json=MOCK_JSON)
    __STUB__.register(rsps)
    exercise_requests(__STUB__)


def test_responses_register_after_stub_keeps_assert_all_fired(__STUB__, rsps):
    rsps.get(OTHER, json=MOCK_JSON)
    __STUB__.register(rsps)
    exercise_requests(__STUB__)


@pytest.mark.parametrize("client", ["sync", "async"])
def test_respx_mock_register_keeps_its_assertions(respx_mock, __STUB__, client):
    other = respx_mock.get(OTHER).respond(json=MOCK_JSON)
    __STUB__.register(respx_mock)
    EXERCISE_HTTPX[client](__STUB__)
    assert other.call_count == 1


@pytest.mark.parametrize("client", ["sync", "async"])
def test_respx_httpx_before_stub_registered(router, __STUB__, client):
    other = router.get(OTHER).respond(json=MOCK_JSON)
    __STUB__.register(router)
    EXERCISE_HTTPX[client](__STUB__)
    assert other.call_count == 1


def test_register_rejects_an_unknown_mock(__STUB__):
    name = __STUB__.emulator.name
    message = f"{name} stub cannot register into object; it knows responses, pytest-httpx"
    with pytest.raises(TypeError, match=re.escape(message)):
        __STUB__.register(object())
"""

REGISTER_HTTPX_MOCK_MODULE = """
import pytest
from conftest import EXERCISE_HTTPX, MOCK_JSON, OTHER


@pytest.mark.parametrize("client", ["sync", "async"])
def test_httpx_mock_register_answers_through_route(httpx_mock, __STUB__, client):
    httpx_mock.add_response(url=OTHER, json=MOCK_JSON)
    __STUB__.stop()  # now only the callback installed into httpx_mock can answer the stub's host
    try:
        __STUB__.register(httpx_mock)
        EXERCISE_HTTPX[client](__STUB__)
    finally:
        __STUB__.start()
    urls = [str(request.url) for request in httpx_mock.get_requests()]
    assert urls.count(OTHER) == 1
    assert len([url for url in urls if url.startswith(__STUB__.base_url)]) == len(__STUB__.calls)
    assert len(__STUB__.calls) >= 5


@pytest.mark.parametrize("client", ["sync", "async"])
def test_httpx_mock_register_keeps_its_assertions(__STUB__, httpx_mock, client):
    httpx_mock.add_response(url=OTHER, json=MOCK_JSON)
    __STUB__.register(httpx_mock)
    EXERCISE_HTTPX[client](__STUB__)
"""

# The stub's hooks are installed once per process, when its first stub starts. respx in
# its "httpx" mode patches the same method and, when it stops, puts back what it found.
# Whichever started first, and whatever ran earlier in the process, a stub must answer
# its own host: two histories, each in a process of its own.
HOOK_HISTORIES = {
    "respx_active_at_first_stub": """
import pytest
from conftest import EXERCISE_HTTPX, MOCK_JSON, OTHER


def test_1_respx_httpx_before_the_first_stub(router, __STUB__):
    other = router.get(OTHER).respond(json=MOCK_JSON)
    EXERCISE_HTTPX["sync"](__STUB__)
    assert other.call_count == 1


@pytest.mark.parametrize("client", ["sync", "async"])
def test_2_a_later_stub_with_httpx_mock(httpx_mock, __STUB__, client):
    httpx_mock.add_response(url=OTHER, json=MOCK_JSON)
    EXERCISE_HTTPX[client](__STUB__)
    assert [str(request.url) for request in httpx_mock.get_requests()] == [OTHER]
""",
    "respx_before_a_later_stub": """
import pytest
from conftest import EXERCISE_HTTPX, MOCK_JSON, OTHER


def test_1_a_stub_with_httpx_mock(httpx_mock, __STUB__):
    httpx_mock.add_response(url=OTHER, json=MOCK_JSON)
    EXERCISE_HTTPX["sync"](__STUB__)
    assert [str(request.url) for request in httpx_mock.get_requests()] == [OTHER]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_2_respx_httpx_started_before_the_stub(router, __STUB__, client):
    other = router.get(OTHER).respond(json=MOCK_JSON)
    EXERCISE_HTTPX[client](__STUB__)
    assert other.call_count == 1
""",
}

APP = """
'''Code under test, unchanged: production URLs, credentials from the environment.'''
import asyncio

import httpx
import requests

from finauth import FincruxJWTAuth, FinHubSessionAuth, FinveraCookieAuth

AUTHS = {"fincrux": FincruxJWTAuth, "finvera": FinveraCookieAuth, "finhub": FinHubSessionAuth}
URLS = {
    "fincrux": "https://api.fincrux.org/api/search/RELIANCE",
    "finvera": "https://api.finvera.news/kms/api/v1/news/latest",
    "finhub": "https://sandbox.finhub.cloud/api/v2.1/customer/individual/categorization"
    "/hierarchy/d1e2f3a4-b5c6-47d8-9e0f-1a2b3c4d5e6f",
}


def fetch_with_requests(provider):
    response = requests.get(URLS[provider], auth=AUTHS[provider].from_env(), timeout=10)
    response.raise_for_status()
    return response.json()


def fetch_with_httpx(provider):
    with httpx.Client(auth=AUTHS[provider].from_env(), timeout=10) as client:
        response = client.get(URLS[provider])
    response.raise_for_status()
    return response.json()


def fetch_with_httpx_async(provider):
    async def main():
        async with httpx.AsyncClient(auth=AUTHS[provider].from_env(), timeout=10) as client:
            return await client.get(URLS[provider])

    response = asyncio.run(main())
    response.raise_for_status()
    return response.json()
"""

USER_TESTS = """
import pytest

import app

FETCHERS = [app.fetch_with_requests, app.fetch_with_httpx, app.fetch_with_httpx_async]
FINHUB = [
    "organization_id", "user_id", "tenant_id", "username", "password", "tenant_key",
    "tenant_secret",
]


def use_account(monkeypatch, prefix, stub, names):
    for name in names:
        monkeypatch.setenv(f"{prefix}_{name.upper()}", getattr(stub, name))


@pytest.mark.parametrize("fetch", FETCHERS)
def test_fincrux_search(fincrux_stub, monkeypatch, fetch):
    use_account(monkeypatch, "FINCRUX", fincrux_stub, ["email", "password"])
    assert fetch("fincrux")["query"] == "RELIANCE"
    assert fincrux_stub.logins == 1


@pytest.mark.parametrize("fetch", FETCHERS)
def test_finvera_news(finvera_stub, monkeypatch, fetch):
    use_account(monkeypatch, "FINVERA", finvera_stub, ["email", "password"])
    assert fetch("finvera")["articles"]
    assert finvera_stub.logins == 1


@pytest.mark.parametrize("fetch", FETCHERS)
def test_finhub_hierarchy(finhub_stub, monkeypatch, fetch):
    use_account(monkeypatch, "FINHUB", finhub_stub, FINHUB)
    assert fetch("finhub")["code"] == 200
    assert finhub_stub.logins == 1
"""

# Without a stub the same code goes for the network, which the inner conftest refuses:
# the user suite above passes because of the stubs, not by reaching anything.
CONTROL_TESTS = """
import pytest

import app


@pytest.mark.parametrize(
    "fetch", [app.fetch_with_requests, app.fetch_with_httpx, app.fetch_with_httpx_async]
)
def test_without_the_fixture_the_code_goes_for_the_network(monkeypatch, fetch):
    monkeypatch.setenv("FINCRUX_EMAIL", "someone@example.com")
    monkeypatch.setenv("FINCRUX_PASSWORD", "not-a-real-password")
    with pytest.raises(RuntimeError, match="network access attempted"):
        fetch("fincrux")
"""


def _source(*sections: str, stub: str = "") -> str:
    return "\n\n".join(textwrap.dedent(section) for section in sections).replace("__STUB__", stub)


def _run(pytester: pytest.Pytester, **modules: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(**modules)
    return pytester.runpytest_subprocess("-ra", "-W", "error", *UNUSED_PLUGINS)


def need_pytest_httpx() -> None:
    """pytest-httpx 0.30 is the first whose `httpx_mock` the stubs coexist with (the docs
    say so); it needs httpx 0.27, so `nox -s tests-lowest`, at httpx 0.24, skips here."""
    pytest.importorskip("pytest_httpx", minversion="0.30")


@pytest.mark.parametrize("stub", STUBS)
def test_stub_coexists_with_responses_and_respx_in_both_orders(
    pytester: pytest.Pytester, stub: str
) -> None:
    sections = [RESPONSES_SECTION, RESPX_MOCK_SECTION]
    turn = STUBS.index(stub) % len(sections)
    rotated = sections[turn:] + sections[:turn]
    result = _run(pytester, test_coexist=_source(HEADER, *rotated, stub=stub))
    # responses: fixture before, after, decorator; respx_mock: 2 orders x 2 clients
    result.assert_outcomes(passed=7)


@pytest.mark.parametrize("stub", STUBS)
def test_stub_coexists_with_httpx_mock_in_both_orders(pytester: pytest.Pytester, stub: str) -> None:
    need_pytest_httpx()
    result = _run(pytester, test_coexist=_source(HEADER, HTTPX_MOCK_SECTION, stub=stub))
    result.assert_outcomes(passed=4)  # 2 orders x 2 clients


@pytest.mark.parametrize("stub", STUBS)
def test_register_installs_the_stub_into_mocks_that_own_everything(
    pytester: pytest.Pytester, stub: str
) -> None:
    result = _run(pytester, test_register=_source(REGISTER_MODULE, stub=stub))
    host = HOSTS[stub]
    result.stdout.fnmatch_lines(
        [
            "*_ test_respx_httpx_after_stub_unregistered_takes_everything _*",
            f"E * respx.models.AllMockedAssertionError: RESPX: <Request('POST', 'https://{host}/*')>"
            " not mocked!",
        ]
    )
    # the one failure above is the point: without register, respx takes the stub's host too
    result.assert_outcomes(passed=10, failed=1)


@pytest.mark.parametrize("stub", STUBS)
def test_register_installs_the_stub_into_httpx_mock(pytester: pytest.Pytester, stub: str) -> None:
    need_pytest_httpx()
    result = _run(pytester, test_register=_source(REGISTER_HTTPX_MOCK_MODULE, stub=stub))
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("history", sorted(HOOK_HISTORIES))
@pytest.mark.parametrize("stub", STUBS)
def test_stub_answers_its_host_whatever_respx_patched_before(
    pytester: pytest.Pytester, stub: str, history: str
) -> None:
    result = _run(pytester, test_hook_history=_source(HOOK_HISTORIES[history], stub=stub))
    result.assert_outcomes(passed=3)


def test_downstream_suite_passes_offline_by_only_adding_the_fixture(
    pytester: pytest.Pytester,
) -> None:
    result = _run(
        pytester,
        app=textwrap.dedent(APP),
        test_app=textwrap.dedent(USER_TESTS),
        test_control=textwrap.dedent(CONTROL_TESTS),
    )
    # 3 providers x (requests, httpx, httpx async), plus the 3 controls
    result.assert_outcomes(passed=12)
