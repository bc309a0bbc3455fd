"""Config building blocks shared by every stage: the [study] section (the strict base is qscale.config's)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qscale.config import Strict

__all__ = ["Strict", "StudySection"]


class StudySection(Strict):
    name: str = "default"
    seed: int = Field(1, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
