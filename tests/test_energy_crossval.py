"""Cross-validation of the inference calibration: the stored table covers every row under every scheme and its
summaries follow from its rows; GPUs and engines without rows get the shared parameters; the engine input
carries the generation gap the cross-validation exposed (vLLM 0.5 rows priced as vLLM 0.11)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qscale.energy.inference import infer
from qscale.energy.inference_calibration import (
    SHARED_KEY,
    calibration,
    engine_fit,
    hardware_fit,
    measurements,
)
from qscale.energy.inference_crossval import SCHEMES, crossval, crossval_table, markdown, meets
from qscale.energy.inference_fit import row_errors

CAL = {"pue": 1.0, "intensity": 0.0, "hardware": "H100", "params": 8.03e9, "batch": 64}


def test_every_row_is_scored_under_every_scheme():
    table = crossval()
    ids = {r["id"] for r in measurements()}
    assert {r["id"] for r in table["rows"]} == ids
    for r in table["rows"]:
        assert all(np.isfinite(r[s]) for s in SCHEMES)


def test_stored_summaries_follow_from_the_stored_rows():
    table = crossval()
    errors = {s: {r["id"]: r[s] for r in table["rows"]} for s in SCHEMES}
    fresh = crossval_table(measurements(), errors)["summaries"]
    for s in SCHEMES:
        for part in ("gpu", "release"):
            for key, stored in table["summaries"][s][part].items():
                assert fresh[s][part][key]["median_abs"] == pytest.approx(stored["median_abs"], abs=2e-4)
                assert fresh[s][part][key]["max_abs"] == pytest.approx(stored["max_abs"], abs=2e-4)


def test_held_out_groups_are_harder_than_in_sample():
    s = crossval()["summaries"]
    assert s["in-sample"]["all"]["median_abs"] <= s["leave-one-model-out"]["all"]["median_abs"]
    assert s["in-sample"]["all"]["median_abs"] < s["leave-one-GPU-type-out"]["all"]["median_abs"]


def test_goal_verdicts():
    assert meets("in-sample", {"rows": 100, "median_abs": 0.09, "over_goal": 5, "max_abs": 0.9})
    assert not meets("in-sample", {"rows": 100, "median_abs": 0.09, "over_goal": 6, "max_abs": 0.3})
    assert not meets("leave-one-GPU-type-out", {"rows": 10, "median_abs": 0.1, "over_goal": 2, "max_abs": 0.41})
    assert meets("leave-one-release-out", {"rows": 10, "median_abs": 0.15, "over_goal": 9, "max_abs": 0.4})
    lines = markdown()
    assert sum(line.startswith("| leave-one-GPU-type-out |") for line in lines) >= 1 + 5 + 3


def test_a_gpu_without_rows_gets_the_shared_parameters_scaled_by_its_tdp():
    cal = calibration()
    bare = replace(cal, hardware={k: v for k, v in cal.hardware.items() if k != "V100"}, fallback={})
    hw, fitted_on, source = hardware_fit(bare, "V100")
    assert fitted_on == SHARED_KEY and "shared" in source
    assert hw.static_w == pytest.approx(cal.shared_hardware.static_w * 300)  # V100 SXM2 TDP 300 W
    assert hw.eta_mem == cal.shared_hardware.eta_mem
    assert hardware_fit(cal, "A100-80")[1] == "A100-40"  # same die: borrows, not shared


def test_engine_other_and_version_aliases():
    cal = calibration()
    assert engine_fit(cal, "other") == cal.shared_engine
    assert engine_fit(cal, "vllm-0.5") == engine_fit(cal, "vllm-2024")
    other = infer(**CAL, engine="other").to_json()
    assert other["engine"] == "other" and "cross-validation" in other["expected_error"]["basis"]
    alias = infer(**CAL, engine="vllm-0.5").to_json()
    assert alias["engine"] == "vllm-2024"
    assert alias["energy_per_token_j"] == infer(**CAL, engine="vllm-2024").to_json()["energy_per_token_j"]


def test_engine_generation_is_the_gap_on_vllm_05_rows():
    rows = [r for r in measurements() if r["source"] == "v2"]
    right = [abs(r["error"]) for r in row_errors(calibration(), rows)]
    wrong = [r["error"] for r in row_errors(calibration(), [{**r, "engine": "vllm"} for r in rows])]
    assert np.median(right) <= 0.10
    assert np.median(wrong) < -0.15 and max(wrong) < 0  # vLLM 0.11's speed under-prices every vLLM 0.5 row
