"""Developer tasks. `nox` alone runs lint, typecheck and tests, as CI does."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite against an installed finauth."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "tests"))
    session.run("pytest", *session.posargs)


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
    """Issue #8's benchmarks: writes benchmarks/results.json and docs/benchmarks.md."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "bench"))
    session.run("python", "-m", "benchmarks", *session.posargs)
