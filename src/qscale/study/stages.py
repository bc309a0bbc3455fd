"""The study's stages in pipeline order: the one list to extend when a stage is added."""

from __future__ import annotations

from qscale.study import (
    coprocessor_stage,
    generative_stage,
    outlook_stage,
    qaoa_stage,
    qnn_stage,
    qpca_stage,
    quantization_stage,
    site_stage,
)
from qscale.study.registry import Stage

STAGES: tuple[Stage, ...] = tuple(
    m.STAGE
    for m in (
        qaoa_stage,
        quantization_stage,
        qpca_stage,
        generative_stage,
        qnn_stage,
        site_stage,
        outlook_stage,
        coprocessor_stage,
    )
)
