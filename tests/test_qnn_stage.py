"""The qnn study stage in its quick form: heads and adapters side by side, plots, projected QPU cost."""

from __future__ import annotations

import pytest

from qscale.study.config import StudySection
from qscale.study.qnn_stage import QNNStage, run


def test_quick_stage_reports_heads_and_adapters():
    messages: list[str] = []
    out = run(QNNStage().quick(), StudySection(device="cpu"), messages.append)
    s = out.summary
    assert set(s["classify"]) == {"quantum", "linear", "mlp"}
    assert set(s["finetune"]) == {"quantum", "lora", "mlp"}
    counts = [a["trainable_params"] for a in s["finetune"].values()]
    assert max(counts) <= 1.05 * min(counts)
    q = s["finetune"]["quantum"]
    assert q["circuits_per_step"] > 0 and q["projected_qpu_per_step"]["kind"] == "projected"
    assert s["finetune"]["lora"]["circuits_per_step"] is None
    assert len(out.figures) == 2 and all(f.png.startswith(b"\x89PNG") for f in out.figures)
    assert len(out.tables) == 2 and any("projected" in n.lower() for n in out.notes) and messages


def test_config_rejects_bad_values():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        QNNStage(targets=["qkv"])
    with pytest.raises(ValidationError):
        QNNStage(adapters=["dora"])
    with pytest.raises(ValidationError):
        QNNStage(steps=0)
    with pytest.raises(ValidationError):
        QNNStage(unknown=1)
