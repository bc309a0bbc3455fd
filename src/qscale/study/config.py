"""Config building blocks shared by every stage: the [study] section (the strict base is qscale.config's)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from qscale.config import Strict

__all__ = ["ModelName", "Strict", "StudySection"]


def _model_name(name: str) -> str:
    """A model the LLM stages load: checked when the config is read, before any stage starts."""
    from qscale.errors import QscaleUserError
    from qscale.llm.models import check_model_name

    try:
        check_model_name(name)
    except QscaleUserError as exc:
        raise ValueError(str(exc)) from None
    return name


# smollm2-135m, tiny-random or a local Llama/Qwen2/Mistral folder (qscale.llm.models.check_model_name)
ModelName = Annotated[str, AfterValidator(_model_name)]


class StudySection(Strict):
    name: str = "default"
    seed: int = Field(1, ge=0)
    device: Literal["auto", "cpu", "cuda"] = "auto"
