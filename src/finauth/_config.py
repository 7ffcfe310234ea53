"""Checking what users configure, at construction and before any I/O (R8)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._errors import ConfigurationError


def credential(provider: str, name: str, value: object) -> str:
    """`value`, insisting it is a non-empty string; the error names only `name`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{provider}: {name} is empty; pass the {name} your {provider} account uses",
            provider=provider,
        )
    return value


def seconds(provider: str, name: str, value: float, *, allow_zero: bool) -> float:
    """A non-negative (or positive) finite number of seconds."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not allow_zero)
    ):
        wanted = "zero or more" if allow_zero else "more than zero"
        raise ConfigurationError(
            f"{provider}: {name} must be a number of seconds, {wanted}; got {value!r}",
            provider=provider,
        )
    return float(value)


def from_environ(environ: Mapping[str, str], provider: str, *names: str) -> list[str]:
    """The values of the environment variables `names`, in order.

    Every missing variable is named at once; values are never repeated.
    """
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise ConfigurationError(
            f"{provider}: environment variable(s) {', '.join(missing)} not set; "
            "export them, or pass the credentials as arguments",
            provider=provider,
        )
    return [environ[name] for name in names]
