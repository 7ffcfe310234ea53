"""`finauth.testing.Stub` and `open_stub` used directly, without the plugin's fixtures (SPEC §5)."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping
from dataclasses import replace

import httpx
import pytest
import requests

from finauth import FincruxAPIKeyAuth, ProviderResponseError
from finauth.testing import (
    EMULATORS,
    Emulator,
    FincruxEmulator,
    FinveraEmulator,
    Stub,
    UnmatchedRequest,
    open_stub,
)

PRODUCTION = {
    "Fincrux": "https://api.fincrux.org",
    "Finvera": "https://api.finvera.news",
    "FinHub": "https://sandbox.finhub.cloud",
}
CREDENTIALS = {
    "Fincrux": {"email", "password"},
    "Finvera": {"email", "password"},
    "FinHub": {
        "organization_id",
        "user_id",
        "tenant_id",
        "username",
        "password",
        "tenant_key",
        "tenant_secret",
    },
}


SEARCH = "/api/search/RELIANCE"


class Offline(requests.adapters.BaseAdapter):
    """Stands where the network would be: answers 599, sends nothing anywhere."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = 599
        response.request = request
        response.url = request.url or ""
        response._content = b""
        return response

    def close(self) -> None:
        pass


def reached(url: str) -> tuple[int, int]:
    """(requests, httpx) status of an unauthenticated GET: 599 means no stub took it."""
    with requests.Session() as session:
        session.mount("https://", Offline())
        session.mount("http://", Offline())
        via_requests = session.get(url, timeout=5).status_code
    offline = httpx.MockTransport(lambda request: httpx.Response(599))
    with httpx.Client(transport=offline) as client:
        via_httpx = client.get(url).status_code
    return via_requests, via_httpx


@pytest.fixture(params=EMULATORS, ids=lambda emulator: emulator.name)
def emulator_class(request: pytest.FixtureRequest) -> type[Emulator]:
    emulator: type[Emulator] = request.param
    return emulator


def test_credentials_are_attributes_named_like_the_auth_arguments(
    emulator_class: type[Emulator],
) -> None:
    stub = Stub(emulator_class())
    names = CREDENTIALS[emulator_class.name]
    assert set(stub.emulator.credentials()) == names
    assert names <= set(inspect.signature(emulator_class.auth_class).parameters)
    for name in names:
        value = getattr(stub, name)
        assert isinstance(value, str)
        assert value
    with pytest.raises(AttributeError, match="'Stub' object has no attribute 'api_secret'"):
        _ = stub.api_secret


def test_base_url_defaults_to_production_and_auth_points_at_it(
    emulator_class: type[Emulator],
) -> None:
    stub = Stub(emulator_class())
    assert stub.base_url == PRODUCTION[emulator_class.name]
    assert repr(stub) == f"<{emulator_class.name} stub for {PRODUCTION[emulator_class.name]}>"
    with stub.auth() as auth:
        assert type(auth) is emulator_class.auth_class
    moved = Stub(emulator_class(), base_url="https://internal.example/")
    assert moved.base_url == "https://internal.example"


ENVIRONMENT = {  # SPEC §3: what each provider's from_env reads
    "Fincrux": {"FINCRUX_EMAIL", "FINCRUX_PASSWORD", "FINCRUX_API_KEY", "FINCRUX_BASE_URL"},
    "Finvera": {"FINVERA_EMAIL", "FINVERA_PASSWORD", "FINVERA_BASE_URL"},
    "FinHub": {
        "FINHUB_ORGANIZATION_ID",
        "FINHUB_USER_ID",
        "FINHUB_TENANT_ID",
        "FINHUB_USERNAME",
        "FINHUB_PASSWORD",
        "FINHUB_TENANT_KEY",
        "FINHUB_TENANT_SECRET",
        "FINHUB_BASE_URL",
    },
}


def test_environ_holds_the_variables_of_spec_section_3_for_the_stub(
    emulator_class: type[Emulator],
) -> None:
    stub = Stub(emulator_class(), base_url="https://staging.example/v1/")
    environ = stub.environ
    assert set(environ) == ENVIRONMENT[emulator_class.name]
    assert environ[f"{emulator_class.name.upper()}_BASE_URL"] == "https://staging.example/v1"
    for name, value in stub.emulator.credentials().items():
        assert environ[f"{emulator_class.name.upper()}_{name.upper()}"] == value
    environ.clear()
    assert stub.environ  # each read is a fresh copy


def test_from_env_with_exactly_the_stub_environ_logs_in_to_it(
    emulator_class: type[Emulator],
) -> None:
    with open_stub(emulator_class.name, base_url="https://staging.example/v1") as stub:
        url = stub.base_url + stub.emulator.sample_path
        with emulator_class.auth_class.from_env(stub.environ) as auth:
            assert requests.get(url, auth=auth, timeout=5).status_code == 200
        assert stub.logins == 1


def test_fincrux_api_key_auth_from_the_stub_environ() -> None:
    with open_stub("Fincrux") as stub:
        auth = FincruxAPIKeyAuth.from_env(stub.environ)
        assert httpx.get(stub.base_url + SEARCH, auth=auth).status_code == 200
        assert stub.logins == 0


def test_answers_only_while_started(emulator_class: type[Emulator]) -> None:
    stub = Stub(emulator_class())
    url = stub.base_url + stub.emulator.sample_path
    assert reached(url) == (599, 599)
    with stub, stub.auth() as auth:
        assert reached(url) == (stub.emulator.unauthorized().status,) * 2
        assert requests.get(url, auth=auth, timeout=5).status_code == 200
        with httpx.Client(auth=auth) as client:
            assert client.get(url).status_code == 200
    assert reached(url) == (599, 599)
    assert stub.logins == 1
    paths = [call.path for call in stub.calls]
    assert paths[:2] == paths[3:] == [stub.emulator.sample_path] * 2  # paths[2]: the login


def test_origin_matching_is_scheme_host_and_effective_port() -> None:
    with Stub(FincruxEmulator()) as stub:
        assert reached("https://API.Fincrux.org:443" + SEARCH) == (401, 401)
        assert reached("https://api.fincrux.org" + SEARCH) == (401, 401)
        assert reached("http://api.fincrux.org" + SEARCH) == (599, 599)
        assert reached("https://api.fincrux.org:8443" + SEARCH) == (599, 599)
        assert reached("https://fincrux.org" + SEARCH) == (599, 599)
    assert len(stub.calls) == 4


def test_one_stub_per_origin() -> None:
    with Stub(FincruxEmulator()):
        with pytest.raises(
            ValueError, match=r"a stub already answers https://API\.FINCRUX\.ORG:443"
        ):
            Stub(FincruxEmulator(), base_url="https://API.FINCRUX.ORG:443/").start()
        with Stub(FincruxEmulator(), base_url="https://other.fincrux.test") as other:
            assert reached("https://other.fincrux.test" + SEARCH) == (401, 401)
            assert len(other.calls) == 2
    with Stub(FincruxEmulator()) as again:  # free once the first one stopped
        assert reached("https://api.fincrux.org" + SEARCH) == (401, 401)
        assert len(again.calls) == 2


@pytest.mark.parametrize("base_url", ["ftp://api.fincrux.org", "not a url", "https://"])
def test_base_url_must_be_http(base_url: str) -> None:
    with pytest.raises(ValueError, match="Fincrux stub: base_url must be an http"):
        Stub(FincruxEmulator(), base_url=base_url)


def test_a_stub_raises_unmatched_requests_at_the_call_and_on_exit() -> None:
    stub = Stub(FinveraEmulator())
    # Leaving the stub fails as well: the code under test may have hidden the first error.
    message = r"^stub: no route for GET https://api\.finvera\.news/nothing\n"
    at_the_call = pytest.raises(UnmatchedRequest, match=message)
    at_exit = pytest.raises(UnmatchedRequest, match=message)
    with at_exit as raised, stub, at_the_call:
        requests.get(stub.base_url + "/nothing", timeout=5)
    assert "Registered: GET /kms/api/v1/auth/validate, " in str(raised.value)


def test_unmatched_request_is_public_under_finauth_testing() -> None:
    """Tracebacks print the class's module: it must be the one a test imports it from."""
    assert UnmatchedRequest.__module__ == "finauth.testing"
    assert issubclass(UnmatchedRequest, AssertionError)  # a failure, not an error, in pytest


def test_an_unmatched_request_outside_a_base_url_path_says_routes_are_under_it() -> None:
    with (
        pytest.raises(UnmatchedRequest) as raised,
        open_stub("Fincrux", base_url="https://api.fincrux.org/v2") as stub,
    ):
        httpx.get("https://api.fincrux.org/api/search/RELIANCE")
    assert str(raised.value) == (
        "stub: no route for GET https://api.fincrux.org/api/search/RELIANCE\n"
        "Registered: GET /v2/api/search/RELIANCE, POST /v2/api/auth/login, "
        "POST /v2/api/auth/token/refresh/\n"
        "Routes are relative to the stub's base_url, https://api.fincrux.org/v2"
    )
    assert stub.emulator.unmatched == []  # reported once, at the call: not again on exit


def test_register_refuses_unknown_mocks() -> None:
    stub = Stub(FincruxEmulator())
    with pytest.raises(TypeError, match="cannot register into object; it knows responses"):
        stub.register(object())


def test_open_stub_takes_provider_names_case_insensitively_and_options() -> None:
    with open_stub("fINhUB", token_ttl=42, tenant_id="t-1") as stub:
        assert stub.emulator.name == "FinHub"
        assert stub.token_ttl == 42
        assert stub.tenant_id == "t-1"
        url = stub.base_url + stub.emulator.sample_path
        assert reached(url) == (401, 401)
    assert reached(url) == (599, 599)


def test_open_stub_reports_a_swallowed_unmatched_request_on_exit() -> None:
    with pytest.raises(UnmatchedRequest) as caught, open_stub("Fincrux") as stub:  # noqa: PT012
        stub.route("PUT", "/api/watchlist")
        with contextlib.suppress(UnmatchedRequest):  # the code under test swallows it
            httpx.get(stub.base_url + "/api/watchlist")
    assert str(caught.value) == (
        "stub: no route for GET https://api.fincrux.org/api/watchlist\n"
        "Registered: GET /api/search/RELIANCE, POST /api/auth/login, "
        "POST /api/auth/token/refresh/, PUT /api/watchlist\n"
        'Add it in the test: stub.route("GET", "/api/watchlist", json=<answer>)'
    )
    assert reached(PRODUCTION["Fincrux"] + SEARCH) == (599, 599)


def test_open_stub_names_an_unknown_provider() -> None:
    """An unknown provider should be a clear error, not `RuntimeError: generator raised
    StopIteration` from the bare next() inside the generator."""
    with pytest.raises((ValueError, LookupError), match="Fincrocks"), open_stub("Fincrocks"):
        pass


def test_the_recipes_for_almost_right_answers(fincrux_stub: Stub) -> None:
    """docs/pytest-plugin.md: a refresh that fails, an answer cut short, opaque tokens."""
    auth = fincrux_stub.auth()
    url = fincrux_stub.base_url + SEARCH
    fincrux_stub.opaque_tokens = True
    assert requests.get(url, auth=auth).status_code == 200
    assert auth.token is not None
    assert not auth.token.access_token.startswith("eyJ")

    fincrux_stub.expire_tokens()
    fincrux_stub.fail_next_refresh(500)
    assert requests.get(url, auth=auth).status_code == 200
    assert (fincrux_stub.logins, fincrux_stub.refreshes) == (2, 1)

    fincrux_stub.revoke_tokens()
    fincrux_stub.tamper_next("login", lambda reply: replace(reply, body=reply.body[:20]))
    with pytest.raises(ProviderResponseError):
        requests.get(url, auth=auth)


def test_a_skewed_stub_clock_changes_no_token_lifetime(finhub_stub: Stub) -> None:
    """R7: the lifetime exp - iat counts from when the token arrived, whatever the clocks."""
    finhub_stub.clock_skew = -7200
    auth = finhub_stub.auth()
    url = finhub_stub.base_url + finhub_stub.emulator.sample_path
    assert httpx.get(url, auth=auth).status_code == 200
    assert auth.token is not None
    assert 3500 < auth.token.expires_in <= 3600
