"""The study's whole TOML config: one section per stage, validated with pydantic (unknown keys are errors).

Kept apart from `config.py` because each stage module defines its own section and imports the shared base
from there; this module gathers them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import Field, ValidationError

from qscale.errors import QscaleUserError
from qscale.study.config import QAOAStage, Strict, StudySection
from qscale.study.generative_stage import GenerativeStage
from qscale.study.outlook_stage import OutlookStage
from qscale.study.qnn_stage import QNNStage
from qscale.study.qpca_stage import QPCAStage
from qscale.study.quantization_stage import QuantizationStage
from qscale.study.site_stage import SiteStage


class StudyConfig(Strict):
    study: StudySection = Field(default_factory=StudySection)
    qaoa: QAOAStage = Field(default_factory=QAOAStage)
    quantization: QuantizationStage = Field(default_factory=QuantizationStage)
    qpca: QPCAStage = Field(default_factory=QPCAStage)
    generative: GenerativeStage = Field(default_factory=GenerativeStage)
    qnn: QNNStage = Field(default_factory=QNNStage)
    site: SiteStage = Field(default_factory=SiteStage)
    outlook: OutlookStage = Field(default_factory=OutlookStage)

    def quick(self) -> StudyConfig:
        """A reduced copy that keeps every stage but shrinks sizes so the whole study takes seconds."""
        update = {name: getattr(self, name).quick() for name in type(self).model_fields if name != "study"}
        return self.model_copy(update=update)


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

    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))  # TOML has no null: None = default
