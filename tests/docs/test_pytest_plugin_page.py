"""docs/pytest-plugin.md, run as written: each python block is a complete test module,
which pytest runs in a subprocess as a user's suite would (the plugin loaded through its
entry point, warnings as errors, markers strict) and which must pass whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inner_runs import UNUSED_PLUGINS

PAGE = Path(__file__).parents[2] / "docs" / "pytest-plugin.md"
RUN_OPTIONS = {"Parallel runs with pytest-xdist": ("-n", "2")}
"""What a section's own prose tells the reader to run pytest with (two workers, not four)."""
NEEDS = {
    "With other HTTP mocks": ("pytest_httpx", "0.30"),
    "httpx2": ("httpx2", "2.16"),
    "niquests": ("niquests", "3.14"),
    "aiohttp": ("aiohttp", "3.12"),
    "aioresponses": ("aioresponses", "0.7.6"),
}
"""What a section's own prose says its example needs: `nox -s tests-lowest` has an older
pytest-httpx, whose `httpx_mock` the stubs do not coexist with, and an environment may
lack the clients finauth does not depend on."""
MARKS = {"niquests": (pytest.mark.niquests, pytest.mark.urllib3)}
"""niquests' examples run where niquests does (`nox -s tests-niquests`)."""
RECIPES = [
    "The login is refused",
    "The provider's answer is almost right",
    "The token expires in the middle of a test",
    "Tokens that live a few seconds",
    "The provider rate-limits the login",
    "Counting what happened",
    "Options for a module, a class, a test",
    "A stub for a whole module or session",
]


def examples(markdown: str) -> list[tuple[str, str]]:
    """(nearest heading, code) of each python block of `markdown`, in order."""
    found = []
    heading = ""
    for match in re.finditer(r"^#{2,3} ([^\n]+)$|^```python\n(.*?)^```$", markdown, re.M | re.S):
        if match[1] is not None:
            heading = match[1]
        else:
            found.append((heading, match[2]))
    return found


def fenced_under(heading: str, language: str) -> list[str]:
    """The `language` blocks of the page's section `heading`, up to the next heading."""
    section = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#|\Z)", PAGE.read_text(), re.M | re.S)
    assert section is not None, f"no section {heading!r}"
    return re.findall(rf"^```{language}\n(.*?)^```$", section[1], re.M | re.S)


def run(pytester: pytest.Pytester, code: str, *options: str) -> pytest.RunResult:
    pytester.makepyfile(test_example=code)
    return pytester.runpytest_subprocess(
        "-W", "error", "--strict-markers", *UNUSED_PLUGINS, *options
    )


EXAMPLES = [
    pytest.param(heading, code, id=f"{number}-{heading}", marks=MARKS.get(heading, ()))
    for number, (heading, code) in enumerate(examples(PAGE.read_text()), 1)
]


@pytest.mark.parametrize(("heading", "code"), EXAMPLES)
def test_each_example_is_a_complete_module_that_passes(
    pytester: pytest.Pytester, heading: str, code: str
) -> None:
    assert "..." not in code, f"{heading}: a placeholder where the code should be"
    if heading in NEEDS:
        module, version = NEEDS[heading]
        pytest.importorskip(module, minversion=version)
    options = RUN_OPTIONS.get(heading, ())

    result = run(pytester, code, *options)

    outcomes = result.parseoutcomes()
    assert result.ret == 0, result.stdout.str()
    assert set(outcomes) == {"passed"}, outcomes
    if options:
        result.stdout.fnmatch_lines(["*2 workers*"])


def test_the_page_has_async_and_xdist_examples_and_recipes_as_headings() -> None:
    headings = [heading for heading, _ in examples(PAGE.read_text())]
    assert "Async tests" in headings
    assert "Parallel runs with pytest-xdist" in headings
    for recipe in RECIPES:
        assert re.search(rf"^### {re.escape(recipe)}$", PAGE.read_text(), re.M), recipe


def test_the_unmatched_request_shown_is_what_pytest_shows(pytester: pytest.Pytester) -> None:
    """The page's failure output is that of its own-endpoints example without its route."""
    (example,) = fenced_under("Your own endpoints", "python")
    (shown,) = fenced_under("A request no route answers", "text")
    route = '    finvera_stub.route("POST", "/kms/api/v1/orders", json={"id": 7}, status=201)\n'
    assert route in example

    result = run(pytester, example.replace(route, ""))

    result.assert_outcomes(failed=1)
    # pytest indents the E lines as deep as the source line that raised
    result.stdout.fnmatch_lines([re.sub(r"^E +", "E *", line) for line in shown.splitlines()])
