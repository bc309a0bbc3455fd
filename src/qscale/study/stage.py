"""What a study stage hands back: numbers for results.json, and figures/tables for the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from qscale.figures import Figure, Table


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
