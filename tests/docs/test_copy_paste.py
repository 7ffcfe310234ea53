"""The README's and each quickstart's path from `finauth sandbox` to an authenticated call,
walked by copy and paste: the commands and programs are taken from the Markdown as
written, run in processes of their own against a real `finauth sandbox`, and what the
pages say the sandbox prints is what it prints. The clients page's programs run against
it too, and the README's first command installs every client the demo shows.

The pages use ports 8400 to 8402; the tests move them to free ones, and change nothing else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from finauth._demo import ALL_CLIENTS, package_of
from finauth.testing._clients import OPTIONAL_CLIENT_KINDS
from sandbox_process import Sandbox, environment, exports, three_free_ports

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
QUICKSTARTS = sorted((ROOT / "docs" / "quickstart").glob("*.md"))
CLIENTS_PAGE = ROOT / "docs" / "clients.md"
PROVIDERS = ("Fincrux", "Finvera", "FinHub")
DOC_PORT = 8400
RUN_TIMEOUT = 60


def section(path: Path, heading: str) -> str:
    """The text under the `## heading` of a Markdown page, up to the next `## `."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", path.read_text(), re.M | re.S)
    assert match is not None, f"{path.name} has no section {heading!r}"
    return match.group(1)


def fenced(markdown: str, language: str) -> list[str]:
    """The code blocks of `language` in `markdown`, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```$", markdown, re.M | re.S)


def provider_of(quickstart: Path) -> str:
    return next(name for name in PROVIDERS if name.lower() == quickstart.stem)


def sandbox_command() -> str:
    """The README's command that starts the sandbox, the first of its offline section."""
    return fenced(section(README, "Trying it offline"), "sh")[0].strip()


class Walk:
    """A sandbox started by the pages' own command, and the pages' ports moved to its."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = three_free_ports()
        arguments = self.moved(sandbox_command()).split()
        assert arguments[:2] == ["finauth", "sandbox"], arguments
        self.sandbox = Sandbox(*arguments[2:], stderr=tmp_path / "sandbox-stderr.txt")
        self.printed = {name: self.sandbox.read_block() for name in PROVIDERS}

    def moved(self, text: str) -> str:
        for offset in range(3):
            text = text.replace(str(DOC_PORT + offset), str(self.port + offset))
        return text

    def block(self, provider: str) -> str:
        """What the sandbox printed for `provider`, from its name to its last export."""
        lines = self.printed[provider]
        first = next(i for i, line in enumerate(lines) if line.startswith(f"{provider}: "))
        return "".join(lines[first:]).rstrip("\n") + "\n"

    def run(self, command: list[str], *, source: str, exported: dict[str, str]) -> str:
        """Run `source` through `command` (bash or python) with `exported` set, as pasted
        into the second terminal; its output, once checked that it ran cleanly and printed
        none of the secrets `source` and `exported` hold."""
        env = {
            **environment(),
            **exported,
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        }
        ran = subprocess.run(
            [*command, self.moved(source)],
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert ran.returncode == 0, f"{source}\n---\n{ran.stdout}{ran.stderr}"
        assert "Traceback" not in ran.stderr, ran.stderr
        given = {**exports(source.splitlines()), **exported}
        for name, value in given.items():
            if name.endswith(("PASSWORD", "SECRET", "API_KEY")):
                assert value not in ran.stdout + ran.stderr, f"{name} printed by:\n{source}"
        return ran.stdout


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    walk = Walk(tmp_path_factory.mktemp("sandbox"))
    yield walk
    walk.sandbox.close()


def test_readme_goes_from_the_sandbox_to_an_authenticated_call(walk: Walk) -> None:
    offline = section(README, "Trying it offline")
    (_, shell) = fenced(offline, "sh")
    (program,) = fenced(offline, "python")

    pasted = "\n".join([shell, f"python - <<'PROGRAM'\n{program}PROGRAM"])
    output = walk.run(["bash", "-euc"], source=pasted, exported={})

    # `finauth get --json`, then the program's print: the same search answered twice
    assert output.count('"query": "RELIANCE"') == 1, output
    assert output.count("'query': 'RELIANCE'") == 1, output


def test_readme_opens_with_the_demo_of_every_client_and_the_checks() -> None:
    demo, checks = fenced(README.read_text(), "sh")[0].strip().splitlines()

    assert demo == 'pip install ".[clients]" && finauth demo'
    assert checks == 'pip install "nox[uv]" && nox'
    (extra,) = re.findall(r'pip install "\.\[(\w+)\]"', demo)
    needed = {package_of(kind) for kind in OPTIONAL_CLIENT_KINDS}
    assert needed <= installed_by(extra), f".[{extra}] leaves out some of {sorted(needed)}"


def installed_by(extra: str) -> set[str]:
    """The packages `pip install ".[extra]"` adds, by finauth's metadata as installed."""
    requirements = map(Requirement, metadata.requires("finauth") or [])
    return {
        requirement.name
        for requirement in requirements
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra})
    }


def client_marks(program: str) -> list[pytest.MarkDecorator]:
    """A program with niquests runs where niquests is installed (`nox -s tests-niquests`):
    marked as tests/conftest.py marks the client matrix's niquests runs."""
    return [pytest.mark.niquests] if re.search(r"^import niquests$", program, re.M) else []


CLIENT_PROGRAMS = [
    pytest.param(
        program, id=re.sub(r"\W+", "-", heading.strip().lower()), marks=client_marks(program)
    )
    for heading, text in re.findall(
        r"^## (.+?)\n(.*?)(?=^## |\Z)", CLIENTS_PAGE.read_text(), re.M | re.S
    )
    for program in fenced(text, "python")
]


@pytest.mark.parametrize("program", CLIENT_PROGRAMS)
def test_clients_page_program_runs_against_the_sandbox(walk: Walk, program: str) -> None:
    output = walk.run(
        [sys.executable, "-c"], source=program, exported=exports(walk.printed["Fincrux"])
    )

    assert output.count("'query': 'RELIANCE'") == program.count("print("), output


def test_the_clients_page_has_a_program_per_client() -> None:
    """A section per client kind, named as the demo names it ("niquests async")."""
    assert sorted(str(param.id) for param in CLIENT_PROGRAMS) == sorted(ALL_CLIENTS)


@pytest.mark.parametrize("page", QUICKSTARTS, ids=[page.stem for page in QUICKSTARTS])
def test_quickstart_shows_what_the_sandbox_prints(walk: Walk, page: Path) -> None:
    provider = provider_of(page)
    offline = section(page, "Try it offline")
    start, paste = fenced(offline, "sh")
    (shown,) = fenced(offline, "text")

    assert start.strip() == sandbox_command()
    assert walk.moved(shown) == walk.block(provider)
    assert exports(walk.moved(paste).splitlines()) == exports(walk.printed[provider])


@pytest.mark.parametrize("page", QUICKSTARTS, ids=[page.stem for page in QUICKSTARTS])
def test_quickstart_command_line_runs_against_the_sandbox(walk: Walk, page: Path) -> None:
    provider = provider_of(page)
    (commands,) = fenced(section(page, "From the command line"), "sh")

    output = walk.run(["bash", "-euc"], source=commands, exported=exports(walk.printed[provider]))

    assert f"{provider}: logged in as " in output, output
    assert output.rstrip().endswith("}"), output  # `get --json`: the answer, indented


QUICKSTART_PROGRAMS = [
    pytest.param(page, program, id=f"{page.stem}-{number}", marks=client_marks(program))
    for page in QUICKSTARTS
    for number, program in enumerate(fenced(page.read_text(), "python"), 1)
]


@pytest.mark.parametrize(("page", "program"), QUICKSTART_PROGRAMS)
def test_quickstart_program_runs_against_the_sandbox(walk: Walk, page: Path, program: str) -> None:
    provider = provider_of(page)
    exported = exports(walk.printed[provider])

    output = walk.run([sys.executable, "-c"], source=program, exported=exported)

    assert output.strip() or "print(" not in program, program


OBSERVABILITY_PAGE = ROOT / "docs" / "observability.md"


def test_the_observability_program_prints_finauths_spans_and_metrics(walk: Walk) -> None:
    """SPEC §8 as a user sets it up: the SDK's console exporters, requests' instrumentation."""
    (program,) = fenced(section(OBSERVABILITY_PAGE, "Turn it on"), "python")

    output = walk.run(
        [sys.executable, "-c"], source=program, exported=exports(walk.printed["Fincrux"])
    )

    printed = list(json_documents(output))
    spans = [document for document in printed if "context" in document]
    assert [span["name"] for span in spans] == ["POST", "finauth.login", "GET", "GET"], output
    post, login = spans[:2]
    assert post["parent_id"] == login["context"]["span_id"], output
    assert {"finauth.renewals", "finauth.renewal.duration"} <= set(metric_names(printed))


def json_documents(output: str) -> Iterator[dict[str, Any]]:
    """The JSON documents printed one after the other, as the console exporters do."""
    decoder = json.JSONDecoder()
    position = 0
    while (start := output.find("{", position)) != -1:
        document, position = decoder.raw_decode(output, start)
        yield document


def metric_names(documents: list[dict[str, Any]]) -> Iterator[str]:
    for document in documents:
        for resource in document.get("resource_metrics", []):
            for scope in resource["scope_metrics"]:
                yield from (metric["name"] for metric in scope["metrics"])
