"""The stub fixtures with the clients of SPEC §1 (v2): httpx2, niquests and aiohttp (§5).

As in test_coexistence, each test writes a downstream suite with `pytester` and runs it in
a fresh process, whose conftest refuses every socket: a request the stub fails to answer
ends in an error, never in a connection. The inner code is a user's, unchanged: the
provider's production URL, the auth passed as each client takes it (`auth=`, `as_async()`,
aiohttp's `middlewares=`). Each client meets a login, a refresh (`expire_tokens()`) and the
401 recovery (`revoke_tokens()`: the refresh is refused, a login follows), and a request
that no route answers fails its test once, as it does with requests and httpx.

niquests runs in an environment of its own (`nox -s tests-niquests`, marks `niquests` and
`urllib3`); an environment without a client skips its tests. Each client is imported in
the inner tests where it is used, after the first stub started, as code under test may.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from inner_runs import UNUSED_PLUGINS

OPTIONAL = pytest.mark.optional_client
"""A client finauth does not depend on: tests-lowest leaves it to the main run."""
ON_NIQUESTS = (pytest.mark.niquests, pytest.mark.urllib3, OPTIONAL)
CLIENTS = [
    pytest.param("httpx2", "httpx2", id="httpx2", marks=OPTIONAL),
    pytest.param("httpx2-async", "httpx2", id="httpx2-async", marks=OPTIONAL),
    pytest.param("niquests", "niquests", id="niquests", marks=ON_NIQUESTS),
    pytest.param("niquests-async", "niquests", id="niquests-async", marks=ON_NIQUESTS),
    pytest.param("aiohttp", "aiohttp", id="aiohttp", marks=OPTIONAL),
]
"""(client kind, the package it needs)."""
STUBS = ("fincrux_stub", "finvera_stub", "finhub_stub")

CONFTEST = '''
from __future__ import annotations

import asyncio
import socket

import pytest

OTHER = "https://other.example/thing"
PING = "/more/ping"
OWN_JSON = {"from": "stub"}
MOCK_JSON = {"from": "user-mock"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("network access attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# Each client is imported where it is used: an environment may hold only some of them.
def with_httpx2(auth, urls, before):
    import httpx2

    with httpx2.Client(auth=auth, timeout=5) as client:
        return [answer(before(n), client.get(url)) for n, url in enumerate(urls)]


async def with_httpx2_async(auth, urls, before):
    import httpx2

    async with httpx2.AsyncClient(auth=auth, timeout=5) as client:
        return [answer(before(n), await client.get(url)) for n, url in enumerate(urls)]


def with_niquests(auth, urls, before):
    import niquests

    with niquests.Session() as session:
        session.auth = auth
        return [answer(before(n), session.get(url, timeout=5)) for n, url in enumerate(urls)]


async def with_niquests_async(auth, urls, before):
    import niquests

    async with niquests.AsyncSession() as session:
        session.auth = auth.as_async()
        return [answer(before(n), await session.get(url, timeout=5)) for n, url in enumerate(urls)]


async def with_aiohttp(auth, urls, before):
    import aiohttp

    async with aiohttp.ClientSession(middlewares=(auth,)) as session:
        answers = []
        for n, url in enumerate(urls):
            before(n)
            async with session.get(url) as response:
                answers.append((response.status, await response.json()))
        return answers


def answer(_, response):
    return response.status_code, response.json()


CLIENTS = {
    "httpx2": with_httpx2,
    "httpx2-async": with_httpx2_async,
    "niquests": with_niquests,
    "niquests-async": with_niquests_async,
    "aiohttp": with_aiohttp,
}


def fetch(client, auth, urls, before=lambda n: None):
    """(status, JSON) of a GET of each url, in turn, with one client of the kind `client`."""
    answers = CLIENTS[client](auth, urls, before)
    return asyncio.run(answers) if asyncio.iscoroutine(answers) else answers


def exercise(client, stub, *others):
    """A login, a refresh, a 401 recovered; then each of `others`, which the stub never sees."""
    stub.route("GET", PING, json=OWN_JSON)
    faults = {1: stub.expire_tokens, 2: stub.revoke_tokens}
    urls = [stub.base_url + PING] * 3 + list(others)
    answers = fetch(client, stub.auth(), urls, lambda n: faults.get(n, int)())
    assert answers[:3] == [(200, OWN_JSON)] * 3
    # each fault: a 401, a renewal (a refresh; once revoked, a refused one and a login), a re-send
    assert (stub.logins, stub.refreshes) == (2, 2)
    assert [call.path for call in stub.calls if call.path == PING] == [PING] * 5
    return answers[3:]
'''

ANSWERED = """
import pytest
from conftest import exercise, fetch


@pytest.mark.parametrize("name", ["fincrux_stub", "finvera_stub", "finhub_stub"])
def test_answered(request, name):
    assert exercise("__CLIENT__", request.getfixturevalue(name)) == []


def test_unmatched(fincrux_stub):
    fetch("__CLIENT__", fincrux_stub.auth(), [fincrux_stub.base_url + "/nowhere"])


def test_unmatched_swallowed(finvera_stub):
    try:
        fetch("__CLIENT__", finvera_stub.auth(), [finvera_stub.base_url + "/kms/nowhere"])
    except Exception:
        pass  # the code under test logs and carries on: the test fails all the same
"""

# The stub's hooks are installed when a stub starts. The first test has aioresponses patch
# ClientSession._request before that; the next ones start it after a stub, before one again,
# and not at all: whichever came first, the stub answers its origin (through aiohttp's own
# _request, so the finauth middleware runs) and aioresponses answers its URL.
AIORESPONSES = '''
import inspect
import types

import aiohttp
import pytest
from aioresponses import aioresponses
from conftest import MOCK_JSON, OTHER, exercise
from yarl import URL


class MockedResponse(aiohttp.ClientResponse):
    """What aioresponses 0.7.9 needs to build a response on aiohttp 3.14, which added the
    argument `stream_writer` (aioresponses issue #289): the user's workaround, stubs or not."""

    def __init__(self, *args, **kwargs):
        if "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters:
            kwargs.setdefault("stream_writer", types.SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


@pytest.fixture
def mock_aioresponse():
    with aioresponses() as mock:
        mock.get(OTHER, payload=MOCK_JSON, response_class=MockedResponse)
        yield mock


def test_1_aioresponses_before_the_first_stub(mock_aioresponse, __STUB__):
    assert exercise("aiohttp", __STUB__, OTHER) == [(200, MOCK_JSON)]
    assert list(mock_aioresponse.requests) == [("GET", URL(OTHER))]


def test_2_aioresponses_after_the_stub(__STUB__, mock_aioresponse):
    assert exercise("aiohttp", __STUB__, OTHER) == [(200, MOCK_JSON)]
    assert list(mock_aioresponse.requests) == [("GET", URL(OTHER))]


def test_3_aioresponses_before_a_later_stub(mock_aioresponse, __STUB__):
    assert exercise("aiohttp", __STUB__, OTHER) == [(200, MOCK_JSON)]
    assert list(mock_aioresponse.requests) == [("GET", URL(OTHER))]


def test_4_the_stub_alone_again(__STUB__):
    assert exercise("aiohttp", __STUB__) == []
'''


def _run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_clients=textwrap.dedent(source))
    return pytester.runpytest_subprocess("-ra", "-W", "error", *UNUSED_PLUGINS)


@pytest.mark.parametrize(("client", "package"), CLIENTS)
def test_each_client_is_answered_and_unmatched_requests_fail_once(
    pytester: pytest.Pytester, client: str, package: str
) -> None:
    pytest.importorskip(package)

    result = _run(pytester, ANSWERED.replace("__CLIENT__", client))

    result.assert_outcomes(passed=3, failed=2)
    output = result.stdout.str()
    for fixture, url in [
        ("fincrux_stub", "https://api.fincrux.org/nowhere"),
        ("finvera_stub", "https://api.finvera.news/kms/nowhere"),
    ]:
        failure = f"finauth.testing.UnmatchedRequest: {fixture}: no route for GET {url}"
        assert len(re.findall(rf"^E +{re.escape(failure)}$", output, re.M)) == 1, output
    assert "network access attempted" not in output


@OPTIONAL
@pytest.mark.parametrize("stub", STUBS)
def test_aiohttp_stub_coexists_with_aioresponses_in_both_orders(
    pytester: pytest.Pytester, stub: str
) -> None:
    pytest.importorskip("aioresponses")

    result = _run(pytester, AIORESPONSES.replace("__STUB__", stub))

    result.assert_outcomes(passed=4)


def test_a_stub_imports_none_of_the_clients_it_does_not_need() -> None:
    """Starting a stub hooks the clients the process has imported; it imports none."""
    script = textwrap.dedent(
        """
        import json, sys
        import finauth.pytest_plugin
        from finauth.testing import open_stub

        with open_stub("Fincrux"):
            pass
        optional = ("httpx2", "niquests", "aiohttp", "aioresponses")
        print(json.dumps([name for name in optional if name in sys.modules]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
