"""Config building blocks shared by every stage: the [study] section (the strict base is qscale.config's)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qscale.config import Strict

__all__ = ["QAOAStage", "Strict", "StudySection"]


class StudySection(Strict):
    name: str = "default"
    seed: int = Field(1, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class QAOAStage(Strict):
    """QAOA on MaxCut: ratio vs depth for optimised and fixed angles, beside classical solvers."""

    enabled: bool = True
    problem: Literal["maxcut"] = "maxcut"
    graph: str = "regular:3"
    nodes: int = Field(16, ge=2, le=34)
    depths: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    restarts: int = Field(4, ge=1, le=64)
    shots: int = Field(1024, ge=1)
    dtype: Literal["complex64", "complex128"] = "complex128"

    def quick(self) -> QAOAStage:
        return self.model_copy(update={"nodes": min(self.nodes, 10), "depths": self.depths[:2], "restarts": 2})
