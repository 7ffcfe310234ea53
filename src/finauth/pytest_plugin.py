"""finauth's pytest plugin: offline stand-ins for each provider's auth.

Fixtures `fincrux_stub`, `finvera_stub` and `finhub_stub` each answer one
provider's login, refresh and protected API, in-process, for requests and httpx
alike (and httpx2, niquests and aiohttp, when the tests use them), at the
provider's production URL unless told otherwise. Loading the plugin imports pytest
and nothing else; requests and httpx are imported when a fixture is first used, the
other clients never. There are no autouse fixtures.

Options come from a marker of the fixture's name, merged from module, class and
test, the closest winning:

    @pytest.mark.fincrux_stub(token_ttl=5, base_url="https://fincrux.internal")

A request to a stub's origin that no route answers fails the test once, with
`finauth.testing.UnmatchedRequest`, whether or not the code under test caught it.

`stub_fixture` makes such a fixture for a provider of your own, in your conftest.py.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from finauth.testing import Emulator
    from finauth.testing.stub import Stub

STUBS: dict[str, str] = {}
"""Each stub fixture made (`stub_fixture`), to the provider it stubs: its marker's name."""
_configs: list[pytest.Config] = []
"""The running pytest's config, once configured: where a stub fixture made later, in a
conftest.py, registers its marker."""


def pytest_configure(config: pytest.Config) -> None:
    _configs[:] = [config]
    for fixture, provider in STUBS.items():
        _register_marker(config, fixture, provider)


def pytest_unconfigure(config: pytest.Config) -> None:
    _configs.clear()


def _register_marker(config: pytest.Config, fixture: str, provider: str) -> None:
    config.addinivalue_line(
        "markers",
        f"{fixture}(**options): options of the {fixture} fixture: token_ttl, base_url "
        f"(a path in it prefixes every endpoint), or the {provider} account's credentials",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    __tracebackhide__ = True
    return (yield from _reporting_unmatched_requests())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    __tracebackhide__ = True
    return (yield from _reporting_unmatched_requests())


def _reporting_unmatched_requests() -> Generator[None, None, None]:
    """Run a test phase, then fail it for the unmatched requests it left unreported.

    In the phase, not at the stub's teardown: a request the code under test let
    raise is then one failure, not a failure and an error, and one it swallowed
    is a failure of the test that made it.
    """
    __tracebackhide__ = True  # the failure is the test's: pytest shows none of this
    try:
        yield
    except (Exception, pytest.fail.Exception, pytest.skip.Exception) as error:
        _report_unmatched(error)
        raise
    _report_unmatched(None)


def _report_unmatched(error: BaseException | None) -> None:
    __tracebackhide__ = True
    # No stub can be active before its module is imported, and importing it here
    # would cost every test of a suite that uses none.
    stub_module = sys.modules.get("finauth.testing.stub")
    if stub_module is not None:
        stub_module.report_unmatched(error)


def stub_fixture(provider: str | type[Emulator], name: str | None = None) -> Any:
    """A pytest fixture stubbing `provider`, an `Emulator` subclass of yours (or a built-in
    provider's name), as `fincrux_stub` stubs Fincrux. Assign it in a conftest.py:

        oauth2_stub = stub_fixture(OAuth2Emulator)

    Its name is `name`, by default the provider's name in lower case followed by
    `_stub`; a marker of that name sets its options, as for the built-in stubs.
    """
    provider_name = provider if isinstance(provider, str) else provider.name
    fixture = name or f"{provider_name.lower()}_stub"

    def stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
        yield from _stub(request, fixture, provider)

    stub.__name__ = stub.__qualname__ = fixture
    stub.__doc__ = (
        f"{provider_name}'s auth and API, answered in-process; see `finauth.testing.Stub`."
    )
    STUBS[fixture] = provider_name
    for config in _configs:
        _register_marker(config, fixture, provider_name)
    return pytest.fixture(name=fixture)(stub)


def _stub(
    request: pytest.FixtureRequest, fixture: str, provider: str | type[Emulator]
) -> Iterator[Stub]:
    try:
        from finauth.testing.stub import open_stub
    except ImportError as error:
        missing = error.name or "a dependency of finauth"
    else:
        missing = ""
    if missing:
        pytest.fail(f"{fixture} needs {missing}, which is missing: pip install {missing}", False)
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(fixture))):
        if marker.args:
            pytest.fail(f"@pytest.mark.{fixture} takes keyword options only", pytrace=False)
        options.update(marker.kwargs)
    try:
        stub = open_stub(provider, **options)
    except (TypeError, ValueError) as error:
        pytest.fail(f"@pytest.mark.{fixture}: {error}", pytrace=False)
    stub.name = fixture
    with stub:
        yield stub


fincrux_stub = stub_fixture("Fincrux")
finvera_stub = stub_fixture("Finvera")
finhub_stub = stub_fixture("FinHub")
