"""The stage registry: a stage is one module that declares its config section, quick settings and runner.

Each stage module ends with `STAGE = Stage(name, Section, run)`: `Section` is its strict config section
(its `quick()` gives the settings `--quick` uses) and `run(section, study, progress)` returns a StageOutput.
study/stages.py lists the stage modules in pipeline order; the study config (schema.StudyConfig) and the
run loop (run.run_study) are both built from that list, so adding a stage is one new module plus one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qscale.study.config import Strict, StudySection
from qscale.study.stage import StageOutput

Runner = Callable[[Any, StudySection, Callable[[str], None]], StageOutput]


@dataclass(frozen=True)
class Stage:
    name: str  # config section and results.json key
    section: type[Strict]  # the [name] config section; must have `enabled` and `quick()`
    run: Runner
