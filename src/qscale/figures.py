"""Figures and tables as the report and the commands hand them around, with matplotlib loaded only when drawn.

Neutral ground for every package that draws (study, grid, outlook): none of them imports another's figures.
matplotlib is imported, and its non-interactive Agg backend chosen, on the first `pyplot()` call, so that
importing a module that can draw costs nothing until it does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure


@dataclass
class Figure:
    title: str
    png: bytes
    caption: str = ""


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list]


@cache
def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend (no display needed); imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_png(fig: MplFigure) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (reports embed them inline)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buf.getvalue()
