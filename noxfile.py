"""Developer tasks. `nox` alone runs lint, typecheck, the tests on this interpreter and at
the lowest versions allowed, and the docs build, as CI does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
RUNTIME = ("requests", "httpx", "pyjwt", "anyio", "filelock", "idna")
"""finauth's own dependencies, held at their lowest declared versions by tests-lowest."""

nox.options.sessions = [
    "lint",
    "typecheck",
    f"tests-{THIS_PYTHON}",
    "tests-niquests",
    "tests-lowest",
    "docs",
]
nox.options.reuse_existing_virtualenvs = True
# `nox -s tests` runs every interpreter in PYTHONS this machine has, and lists the rest
# as skipped rather than failing on them (nox's default under CI).
nox.options.error_on_missing_interpreters = False

PYPROJECT = nox.project.load_toml("pyproject.toml")


def select_pyenv_pythons() -> None:
    """Let nox find every Python in PYTHONS that pyenv has installed.

    pyenv's `python3.X` shims answer only for the versions selected, so an installed but
    unselected 3.10 would look missing. Selecting them all, the current one first, keeps
    `python` what it was. A PYENV_VERSION already set is the user's choice and stays.
    """
    executable = shutil.which("pyenv")
    if "PYENV_VERSION" in os.environ or executable is None:
        return

    def pyenv(*args: str) -> list[str]:
        command = [executable, *args]  # pyenv itself, with the fixed arguments below
        ran = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        return ran.stdout.split()

    wanted = [v for v in pyenv("versions", "--bare") if v.rpartition(".")[0] in PYTHONS]
    current = pyenv("version-name")
    os.environ["PYENV_VERSION"] = ":".join(dict.fromkeys([*current[:1], *wanted]))


select_pyenv_pythons()


NIQUESTS_MODULE = "--ignore=tests/clients/test_niquests_async.py"
"""niquests' own tests, which import it: `tests-niquests` runs them."""
WORKERS = ("-n", "3")
"""Three pytest workers on the two cores CI machines have, since most tests wait on
sockets: tests-lowest took 329 s with three, 403 s with two."""
PARALLEL = (*WORKERS, "--ignore=tests/soak", NIQUESTS_MODULE, "-m", "not niquests")
"""The suite but the soak, in parallel. The soak measures load, so it runs alone
(`tests/soak`); niquests replaces urllib3 under requests, so its tests run apart
(`tests-niquests`)."""
LOWEST = (
    *PARALLEL[:-2],
    "--ignore=tests/docs",
    "--ignore=tests/telemetry",
    "-m",
    "not load and not niquests and not optional_client and not in_process",
)
"""What the lowest versions must pass: the suite but the soak, the docs' own checks, the
tests of OpenTelemetry's spans and metrics, which need its SDK (finauth runs there without
opentelemetry, as it does for users without `finauth[otel]`), the tests of scale, which
check load, not versions, the client matrix of the clients finauth does not depend on,
whose lowest versions are not its own, and its in-process runs of the tests it runs over
loopback (the main run has them all). Its client matrix runs Finvera and FinHub
(`LOWEST_PROVIDERS`)."""
LOWEST_PROVIDERS = "Finvera,FinHub"
"""The client matrix's providers at the lowest versions, which check what the clients do:
cookies in and out (Finvera), headers, JSON, paths (FinHub). Fincrux's JSON login and
Authorization header are a part of FinHub's, and the OAuth 2.0 example adds no version to
check; the main run has them all."""


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite against an installed finauth; arguments go to one pytest run."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "tests"))
    if session.posargs:
        session.run("pytest", *session.posargs)
        return
    session.run("pytest", *PARALLEL)
    session.run("pytest", "tests/soak")


@nox.session(name="tests-niquests")
def tests_niquests(session: nox.Session) -> None:
    """niquests, sync and async, in an environment of its own: its urllib3-future takes the
    place of urllib3 there, under requests too, so requests runs again on it."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "tests-niquests"))
    args = (*WORKERS, "--ignore=tests/soak", "-m", "niquests or (urllib3 and not load)")
    session.run("pytest", *(session.posargs or args))


@nox.session(name="tests-lowest", venv_backend="uv")
def tests_lowest(session: nox.Session) -> None:
    """The suite with requests, httpx, PyJWT, anyio, filelock and idna at the lowest versions
    pyproject.toml allows (uv's lowest-direct resolution): the lower bounds must be true.

    The test tools then come at whatever versions those allow, never moving finauth's
    own dependencies. So pytest-httpx is older than 0.30, the first the stubs coexist
    with, and those tests skip, saying so; so is urllib3, which the loopback test of a
    body with `read()` alone needs at 2. The soak, the docs' own checks and the tests
    marked `load` are left to the main run (`LOWEST`).
    """
    session.install("--resolution=lowest-direct", ".")
    frozen = session.run("uv", "pip", "freeze", silent=True, external=True)
    pins = [line for line in str(frozen).splitlines() if line.split("==")[0].lower() in RUNTIME]
    constraints = Path(session.create_tmp()) / "lowest.txt"
    constraints.write_text("\n".join(pins) + "\n")
    tools = [
        "pytest",
        "pytest-timeout",
        "trio",
        "responses",
        "pytest-httpx",
        "respx",
        "redis",
        "hypothesis",
        "httpie",
        "pytest-xdist",
        "cryptography",
        "django",
        "djangorestframework",
        "djangorestframework-simplejwt",
        "dj-rest-auth",
        "waitress",
    ]
    session.install("-c", str(constraints), *tools)
    session.run(
        "pytest",
        *(session.posargs or LOWEST),
        env={"FINAUTH_MATRIX_PROVIDERS": LOWEST_PROVIDERS},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's lint rules and formatting."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the library, the tests and this file."""
    session.install("-e", ".", "nox", *nox.project.dependency_groups(PYPROJECT, "typing"))
    session.run("mypy")


@nox.session
def fuzz(session: nox.Session) -> None:
    """The property tests of every provider's parsers, 10,000 examples each."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "tests"))
    session.run(
        "pytest",
        "tests/providers/test_properties.py",
        "--hypothesis-profile=fuzz",
        *session.posargs,
    )


@nox.session
def soak(session: nox.Session) -> None:
    """The soak at full length: 20,000 requests per provider (the suite runs 3,000)."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "tests"))
    session.run("pytest", "tests/soak", *session.posargs, env={"FINAUTH_SOAK_REQUESTS": "20000"})


@nox.session
def bench(session: nox.Session) -> None:
    """Issue #8's benchmarks, on every client finauth works with (the bench group installs
    them all): writes benchmarks/results.json and docs/benchmarks.md."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "bench"))
    # niquests' urllib3-future takes urllib3's place, under requests too, when installed
    # from its wheel: built from source with URLLIB3_NO_OVERRIDE it stays apart, and
    # requests is timed on urllib3 as its users have it.
    session.install(
        "--no-binary",
        "urllib3-future",
        *PYPROJECT["project"]["optional-dependencies"]["niquests"],
        env={"URLLIB3_NO_OVERRIDE": "1"},
    )
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site (mkdocs.yml), built with --strict: a broken link fails it."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "docs"))
    site = session.create_tmp()
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        f"{site}/site",
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},  # material's banner about its successor
    )


@nox.session(name="docs-serve")
def docs_serve(session: nox.Session) -> None:
    """The documentation site at http://127.0.0.1:8000, rebuilt as you edit (`mkdocs serve`);
    arguments go to mkdocs, such as `-a 127.0.0.1:8001`."""
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", "serve", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(name="docs-browser")
def docs_browser(session: nox.Session) -> None:
    """The built site in headless Chromium (tests/docs/test_site.py): every page renders,
    every anchor lands, code blocks and tables fit a phone, a tablet and a laptop.

    Not among the default sessions: it needs Chromium and chromedriver, which it installs
    with apt-get (Debian's `chromium` and `chromium-driver`) when they are missing.
    """
    chromium, chromedriver = browser_binaries(session)
    # every client: the home page shows `finauth demo` as the README's first command runs it
    session.install(".[clients]", *nox.project.dependency_groups(PYPROJECT, "docs"))
    session.install("pytest", "pytest-timeout", "selenium>=4.11")
    site = Path(session.create_tmp()) / "site"
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(site),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )
    session.run(
        "pytest",
        # The suite's conftest wants its test dependencies; this module needs none of them.
        "--noconftest",
        "-p",
        "no:cacheprovider",
        "tests/docs/test_site.py",
        *session.posargs,
        env={
            "FINAUTH_DOCS_SITE": str(site),
            "FINAUTH_CHROMIUM": chromium,
            "FINAUTH_CHROMEDRIVER": chromedriver,
        },
    )


def browser_binaries(session: nox.Session) -> tuple[str, str]:
    """Chromium and its chromedriver, installed with apt-get (as root, or through sudo)
    when either is missing."""

    def found() -> tuple[str | None, str | None]:
        return shutil.which("chromium"), shutil.which("chromedriver")

    chromium, chromedriver = found()
    if chromium is None or chromedriver is None:
        if shutil.which("apt-get") is None:
            session.error("docs-browser needs chromium and chromedriver on PATH")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        session.run(*sudo, "apt-get", "update", external=True)
        session.run(*sudo, "apt-get", "install", "-y", "chromium", "chromium-driver", external=True)
        chromium, chromedriver = found()
        if chromium is None or chromedriver is None:
            session.error("apt-get installed no chromium or chromedriver")
    return chromium, chromedriver
