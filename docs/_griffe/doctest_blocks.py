"""A Griffe extension for the API reference: `>>>` examples in docstrings as code blocks.

finauth's docstrings are prose, read with `docstring_style: null`, so Markdown would
take a `>>>` line for three nested quotes. This wraps each run of `>>>` and `...` lines
in a `pycon` fence instead. mkdocs.yml loads it; the docs site excludes this folder.
"""

from __future__ import annotations

from typing import Any

import griffe


class DoctestBlocks(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fenced(obj.docstring.value)


def fenced(text: str) -> str:
    """`text` with every run of lines starting `>>>` or `...` in a ```pycon fence."""
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        example = line.lstrip().startswith((">>>", "..."))
        if example and not inside:
            lines.append("```pycon")
        elif not example and inside:
            lines.append("```")
        inside = example
        lines.append(line)
    if inside:
        lines.append("```")
    return "\n".join(lines)
