"""What a study stage hands back: numbers for results.json, and figures/tables for the report."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


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


@dataclass
class StageOutput:
    name: str
    title: str
    summary: dict
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    energy: dict = field(default_factory=dict)


def figure_png(fig: plt.Figure) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it (reports embed them inline)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
