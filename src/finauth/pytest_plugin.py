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
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from finauth.testing.stub import Stub

STUBS = {"fincrux_stub": "Fincrux", "finvera_stub": "Finvera", "finhub_stub": "FinHub"}


def pytest_configure(config: pytest.Config) -> None:
    for fixture, provider in STUBS.items():
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


def _stub(request: pytest.FixtureRequest, fixture: str) -> Iterator[Stub]:
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
        stub = open_stub(STUBS[fixture], **options)
    except (TypeError, ValueError) as error:
        pytest.fail(f"@pytest.mark.{fixture}: {error}", pytrace=False)
    stub.name = fixture
    with stub:
        yield stub


@pytest.fixture
def fincrux_stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    """Fincrux's auth and API, answered in-process; see `finauth.testing.stub.Stub`."""
    yield from _stub(request, "fincrux_stub")


@pytest.fixture
def finvera_stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    """Finvera's auth and API, answered in-process; see `finauth.testing.stub.Stub`."""
    yield from _stub(request, "finvera_stub")


@pytest.fixture
def finhub_stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    """FinHub's auth and API, answered in-process; see `finauth.testing.stub.Stub`."""
    yield from _stub(request, "finhub_stub")
