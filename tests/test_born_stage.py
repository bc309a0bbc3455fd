"""The generative study stage (VQE + Born machine) in its quick form, through the stage API."""

from __future__ import annotations

import pytest

from qscale.study.config import StudySection
from qscale.study.generative_stage import GenerativeStage, run


def test_quick_stage_reports_vqe_and_born_beside_baselines():
    messages: list[str] = []
    out = run(GenerativeStage().quick(), StudySection(device="cpu"), messages.append)
    s = out.summary
    assert abs(s["h2"]["exact"]["error"]) < 1e-6
    assert abs(s["h2"]["shots, parameter shift"]["error"]) < 1.6e-3
    assert [r["depth"] for r in s["ising"]] == [1, 2] and all(r["error"] > -1e-9 for r in s["ising"])
    assert s["born"]["dataset"] == "bas:2x2" and set(s["born"]["classical_baselines"]) == {"histogram", "rbm", "made"}
    assert len(out.figures) == 3 and all(f.png.startswith(b"\x89PNG") for f in out.figures)
    assert [t.headers[0] for t in out.tables] == ["run", "qubits", "model"]
    assert any("simulated" in n for n in out.notes) and messages


def test_config_rejects_unknown_keys_and_bad_values():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        GenerativeStage(born_steps=-1)
    with pytest.raises(ValidationError):
        GenerativeStage(unknown=1)
    with pytest.raises(ValidationError):
        GenerativeStage(ising_qubits=[4, 40])
