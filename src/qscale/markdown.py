"""Markdown tables: the one helper every generated table in docs/ and the energy validation goes through.

Generated pages are diffed in review and checked for staleness in tests, so every table must come out in
one fixed shape: `| a | b |` rows and a `|---|---:|` rule with no padding. Cells are written with `str()`,
so callers format numbers themselves (units and precision belong to the caller).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

_RULES = {None: "---", "": "---", "l": ":---", "r": "---:", "c": ":---:"}


def markdown_table(
    headers: Sequence[Any], rows: Iterable[Sequence[Any]], align: Sequence[str | None] | None = None
) -> str:
    """A GitHub-flavoured Markdown table, lines joined by newlines, no trailing newline.

    `align` gives one entry per column: "l", "r", "c", or None/"" for the default (left, no colon);
    a string such as "rrl" works too. Every row must have as many cells as there are headers.
    """
    n = len(headers)
    if n == 0:
        raise ValueError("a table needs at least one column")
    align = [None] * n if align is None else list(align)
    if len(align) != n:
        raise ValueError(f"align has {len(align)} entries for {n} columns")
    unknown = [a for a in align if a not in _RULES]
    if unknown:
        raise ValueError(f"align entries must be 'l', 'r', 'c' or None, got {unknown[0]!r}")
    lines = [_row(headers), "|" + "".join(f"{_RULES[a]}|" for a in align)]
    for i, row in enumerate(rows):
        if len(row) != n:
            raise ValueError(f"row {i} has {len(row)} cells for {n} columns")
        lines.append(_row(row))
    return "\n".join(lines)


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"
