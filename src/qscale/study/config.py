"""The study's TOML config, validated with pydantic: unknown keys and bad values name the key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qscale.errors import QscaleUserError


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


class StudyConfig(Strict):
    study: StudySection = Field(default_factory=StudySection)
    qaoa: QAOAStage = Field(default_factory=QAOAStage)

    def quick(self) -> StudyConfig:
        """A reduced copy that keeps every stage but shrinks sizes so the whole study takes seconds."""
        return self.model_copy(update={"qaoa": self.qaoa.quick()})


def _format_error(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"]) or "<root>"
    if err["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{source}: bad value for '{key}': {err['msg']}{more}"


def parse_config(data: dict, source: str = "config") -> StudyConfig:
    try:
        return StudyConfig.model_validate(data)
    except ValidationError as exc:
        raise QscaleUserError(_format_error(exc, source)) from None


def load_config(path: Path | None) -> StudyConfig:
    """Read and validate a TOML config; None gives the defaults."""
    if path is None:
        return StudyConfig()
    path = Path(path)
    if not path.is_file():
        raise QscaleUserError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise QscaleUserError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))


def to_toml(config: StudyConfig) -> str:
    import tomli_w

    return tomli_w.dumps(config.model_dump(mode="json"))
