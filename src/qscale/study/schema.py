"""The study's whole TOML config: one section per stage, validated with pydantic (unknown keys are errors).

Built from the stage registry (study/stages.py): each stage module defines its own section, and this module
gathers them, so the config keys follow the registered stages.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, create_model

from qscale.config import read_toml, validate
from qscale.study.config import Strict, StudySection
from qscale.study.stages import STAGES


class _StudyConfigBase(Strict):
    study: StudySection = Field(default_factory=StudySection)

    def quick(self) -> StudyConfig:
        """A reduced copy that keeps every stage but shrinks sizes so the whole study takes seconds."""
        update = {s.name: getattr(self, s.name).quick() for s in STAGES}
        return self.model_copy(update=update)


# [study] first, then one section per registered stage, in pipeline order (the order config.toml is written in).
StudyConfig = create_model(
    "StudyConfig",
    __base__=_StudyConfigBase,
    __doc__="The study's whole config: [study] and one section per stage.",
    **{s.name: (s.section, Field(default_factory=s.section)) for s in STAGES},
)


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
