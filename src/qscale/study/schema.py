"""The study's whole TOML config: one section per stage, validated with pydantic (unknown keys are errors).

Kept apart from `config.py` because each stage module defines its own section and imports the shared base
from there; this module gathers them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from qscale.config import read_toml, validate
from qscale.study.config import QAOAStage, Strict, StudySection
from qscale.study.generative_stage import GenerativeStage
from qscale.study.outlook_stage import OutlookStage
from qscale.study.qpca_stage import QPCAStage
from qscale.study.quantization_stage import QuantizationStage
from qscale.study.site_stage import SiteStage


class StudyConfig(Strict):
    study: StudySection = Field(default_factory=StudySection)
    qaoa: QAOAStage = Field(default_factory=QAOAStage)
    quantization: QuantizationStage = Field(default_factory=QuantizationStage)
    qpca: QPCAStage = Field(default_factory=QPCAStage)
    generative: GenerativeStage = Field(default_factory=GenerativeStage)
    site: SiteStage = Field(default_factory=SiteStage)
    outlook: OutlookStage = Field(default_factory=OutlookStage)

    def quick(self) -> StudyConfig:
        """A reduced copy that keeps every stage but shrinks sizes so the whole study takes seconds."""
        update = {name: getattr(self, name).quick() for name in type(self).model_fields if name != "study"}
        return self.model_copy(update=update)


def parse_config(data: dict, source: str = "config") -> StudyConfig:
    return validate(StudyConfig, data, source)


def load_config(path: Path | None) -> StudyConfig:
    """Read and validate a TOML config; None gives the defaults."""
    if path is None:
        return StudyConfig()
    return parse_config(read_toml(path), str(path))


def to_toml(config: StudyConfig) -> str:
    import tomli_w

    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))  # TOML has no null: None = default
