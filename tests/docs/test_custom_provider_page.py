"""docs/custom-provider.md, run as written: its blocks titled after a file of
examples/oauth2 are that file, line for line (so what the page builds is what the whole
rule matrix runs, tests/conftest.py), its use of the provider prints what the API answers,
and its conftest.py and test module pass as a user's suite, in a pytest of their own.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest
from oauth2_emulator import OAuth2Emulator

from finauth.testing import open_stub
from inner_runs import UNUSED_PLUGINS

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "custom-provider.md"
EXAMPLE = ROOT / "examples" / "oauth2"


def blocks(title: str) -> list[str]:
    """The python blocks of the page titled `title`, in order."""
    pattern = rf'^```python title="{re.escape(title)}"\n(.*?)^```$'
    return re.findall(pattern, PAGE.read_text(), re.M | re.S)


def written(text: str) -> list[str]:
    """The lines of `text` that are not blank: blocks part where the file has a blank line."""
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["oauth2_auth.py", "oauth2_emulator.py"])
def test_the_page_builds_the_example_line_for_line(name: str) -> None:
    assert len(blocks(name)) > 3
    assert written("".join(blocks(name))) == written((EXAMPLE / name).read_text())


def test_the_provider_in_use_prints_what_the_api_answers() -> None:
    (program,) = blocks("use")
    printed = io.StringIO()
    with open_stub(OAuth2Emulator) as stub, contextlib.redirect_stdout(printed):
        exec(compile(program, "use", "exec"), {})

    assert printed.getvalue() == "{'username': 'demo-user'}\n"
    assert (stub.logins, stub.refreshes) == (1, 0)


def test_the_fixture_and_the_tests_pass_as_a_users_suite(pytester: pytest.Pytester) -> None:
    for name in ("oauth2_auth.py", "oauth2_emulator.py"):
        shutil.copy(EXAMPLE / name, pytester.path / name)
    ((conftest,), (tests,)) = blocks("conftest.py"), blocks("test_me.py")
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_me=tests)

    result = pytester.runpytest_subprocess("-W", "error", "--strict-markers", *UNUSED_PLUGINS)

    result.assert_outcomes(passed=2)
