"""A Griffe extension for the API reference: show what a reader needs, in their terms.

mkdocs.yml loads it beside doctest_blocks.py; the docs site excludes this folder. It
changes what the reference shows, never the code:

- A default that names a module constant (`base_url: str = DEFAULT_BASE_URL`) shows the
  constant's value (`base_url: str = "https://api.fincrux.org"`), for literals only.
- `Stub` hands its fault controls and records on to its `Emulator`: a member of `Stub`
  without a docstring of its own takes the text in STUB_DOCSTRINGS, or else the
  emulator's member's docstring. A docstring written in `finauth/testing/stub.py`
  always wins.
- A parenthesis that holds nothing but the specification's rule or section numbers, as
  `(R13)`, `(R1, R10)` or `(SPEC §3)`, is dropped: they are maintainers' references, and
  the sentence around them already says what the rule is. Docstrings of the public API
  are written without them; this covers what a public class inherits from an internal
  module, and any docstring that still cites one.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import griffe

STUB = "finauth.testing.stub.Stub"
EMULATOR = "finauth.testing._emulator.Emulator"
STUB_DOCSTRINGS = {
    "base_url": "Where the stub answers: the provider's production URL unless the "
    "fixture's marker or `open_stub` was given another.",
    "fail_next_login": "The next login is answered `status`, with the provider's own error "
    "body, or `body`: bytes or a str as an HTML page, anything else as JSON. Calls queue "
    "up: each one answers one more login, in order.",
    "fail_next_refresh": "The next refresh is answered `status`, as `fail_next_login` "
    "answers a login; finauth then logs in instead.",
    "calls": "Every request the stub received, oldest first: a `Call` each, with its "
    "`method`, `path`, `headers` (a case-insensitive mapping) and `body` (bytes), "
    "credentials as your code sent them.",
}
"""What the reference says of a Stub member that has no docstring of its own, where the
Emulator's would not do: it documents no `calls` or `base_url`, and its `fail_next_*`
take `headers`, which a Stub's do not."""

RULE = r"(?:R\d{1,2}|§\d+)"
RULE_NUMBERS = re.compile(rf"\s*\((?:SPEC )?{RULE}(?:(?:,| and| to) {RULE})*\)")


class ReferenceView(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "finauth":
            return
        for obj in walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = RULE_NUMBERS.sub("", obj.docstring.value)
            if isinstance(obj, griffe.Function):
                for parameter in obj.parameters:
                    parameter.default = shown_default(pkg, parameter.default)
        document_stub(pkg)

    # griffe before 1.6 called this hook on_package_loaded; it is idempotent.
    on_package_loaded = on_package


def walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    """`obj` and every object defined under it (aliases are not followed)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from walk(member)


def lookup(pkg: griffe.Module, path: str) -> griffe.Object | None:
    """The object at `path` (a dotted path from the package down), aliases followed."""
    try:
        found = pkg.modules_collection[path]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return found.final_target if found.is_alias else found


def shown_default(pkg: griffe.Module, default: Any) -> Any:
    """The literal value of a module constant named as a default; anything else as it is."""
    if not isinstance(default, griffe.ExprName):
        return default
    target = lookup(pkg, default.canonical_path)
    if not isinstance(target, griffe.Attribute) or not isinstance(target.value, str):
        return default
    try:
        ast.literal_eval(target.value)
    except (ValueError, SyntaxError):
        return default
    return target.value


def document_stub(pkg: griffe.Module) -> None:
    """Give each undocumented Stub member STUB_DOCSTRINGS' text, or the Emulator's docstring."""
    stub, emulator = lookup(pkg, STUB), lookup(pkg, EMULATOR)
    if stub is None or emulator is None:
        return
    for name, member in stub.members.items():
        if member.is_alias or member.docstring is not None:
            continue
        source = emulator.members.get(name)
        if name in STUB_DOCSTRINGS:
            text = STUB_DOCSTRINGS[name]
        elif source is not None and not source.is_alias and source.docstring is not None:
            text = source.docstring.value
        else:
            continue
        member.docstring = griffe.Docstring(text, parent=member)
