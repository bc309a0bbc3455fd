"""LLM inference energy: the ideal roofline, the calibrated serving model's physics, its fit to the published
ML.ENERGY measurements (errors computed here, from the packaged table and calibration), and the CLI."""

from __future__ import annotations

import json
import math
import re
import tomllib
from importlib import resources

import pytest
from typer.testing import CliRunner

from qscale.cli.energy import energy_app
from qscale.energy.inference import ecologits_token_j, infer
from qscale.energy.inference_calibration import calibration, measurements
from qscale.energy.inference_crossval import GOAL, summarize
from qscale.energy.inference_fit import error_summaries, row_errors
from qscale.errors import QscaleUserError

IDEAL = {"pue": 1.0, "intensity": 0.4, "calibration_name": "none"}
CAL = {"pue": 1.0, "intensity": 0.0, "hardware": "H100"}


# -- the ideal roofline (--calibration none), unchanged from before ---------------------------------------
def test_memory_bound_decode_streams_the_weights_once_per_step():
    r = infer(params=8e9, batch=1, hardware="H100", **IDEAL).to_json()
    step = 8e9 * 2 / 3.35e12  # bf16 weights over HBM3 bandwidth
    assert r["estimate"]["bound"] == "memory"
    assert r["estimate"]["step_seconds"] == pytest.approx(step)
    assert r["energy_per_token_j"] == pytest.approx(700 * step)
    assert r["method"] == "roofline" and r["cross_check"]["model"] == "ecologits"
    assert r["mbu"] == pytest.approx(1.0) and r["power_w_per_device"] == 700


def test_compute_bound_at_large_batch_and_fp8_halves_traffic():
    r = infer(params=8e9, batch=4096, hardware="H100", **IDEAL).to_json()
    assert r["estimate"]["bound"] == "compute"
    assert r["estimate"]["step_seconds"] == pytest.approx(2 * 8e9 * 4096 / 989e12)
    bf16 = infer(params=8e9, batch=1, hardware="H100", **IDEAL).to_json()
    fp8 = infer(params=8e9, batch=1, hardware="H100", precision="fp8", **IDEAL).to_json()
    assert fp8["energy_per_token_j"] == pytest.approx(bf16["energy_per_token_j"] / 2)


def test_kv_cache_and_prefill_add_energy():
    plain = infer(params=8e9, batch=8, **IDEAL).to_json()
    kv = infer(params=8e9, batch=8, context_tokens=1024, kv_bytes_per_token=131072, **IDEAL).to_json()
    assert kv["energy_per_token_j"] == pytest.approx(plain["energy_per_token_j"] * (16e9 + 8 * 1024 * 131072) / 16e9)
    prompt = infer(params=8e9, batch=8, input_tokens=1000, **IDEAL).to_json()
    prefill = 700 * 2 * 8e9 * 1000 / 989e12
    assert prompt["energy_per_request_j"] == pytest.approx(plain["energy_per_request_j"] + prefill)


def test_ecologits_fit_and_totals():
    expected_wh = 1.17e-6 * math.exp(-1.12e-2 * 8) * 8.0 + 4.05e-5
    assert ecologits_token_j(8e9, 8, 1.0) == pytest.approx(expected_wh * 3600)
    r = infer(params=8e9, batch=8, pue=1.5, intensity=0.5, method="ecologits", output_tokens=100, requests=1000)
    r = r.to_json()
    assert r["energy_per_token_j"] == pytest.approx(expected_wh * 3600 * 1.5)
    assert r["energy_per_request_j"] == pytest.approx(r["energy_per_token_j"] * 100)
    assert r["energy_mwh"] == pytest.approx(r["energy_per_request_j"] * 1000 / 3.6e9)
    assert r["co2_t"] == pytest.approx(r["energy_mwh"] * 0.5)


# -- the calibrated model's physics -------------------------------------------------------------------------
def _per_token(batch: int, **kw) -> float:
    return infer(params=8.03e9, batch=batch, output_tokens=400, **{**CAL, **kw}).to_json()["energy_per_token_j"]


def test_energy_per_token_falls_with_batch_then_plateaus():
    e = {b: _per_token(b) for b in (1, 8, 64, 512, 700)}
    assert e[1] > e[8] > e[64] > e[512]
    assert e[1] / e[8] > 4  # weights and software time shared by 8 sequences
    assert e[700] / e[512] > 0.85  # compute and the KV cache grow with the batch: no more to share


def test_power_between_static_floor_and_tdp_and_rises_with_load():
    small = infer(params=8.03e9, batch=1, **CAL).to_json()
    large = infer(params=8.03e9, batch=512, **CAL).to_json()
    static = calibration().hardware["H100"].static_w
    assert static < small["power_w_per_device"] < large["power_w_per_device"] <= 700
    assert small["mbu"] > large["mbu"] and small["mfu"] < large["mfu"]
    assert large["estimate"]["bound"] in ("compute", "software")


def test_batch_that_does_not_fit_is_capped_and_says_so():
    r = infer(params=8.03e9, batch=4096, **CAL).to_json()
    assert r["batch_capped"] and r["batch"] < 4096 and r["batch_requested"] == 4096
    assert "does not fit" in r["notes"][0]
    capacity = r["estimate"]["kv_capacity_tokens"]
    assert r["batch"] == math.floor(capacity / r["inputs"]["context_tokens"]["value"])
    ok = infer(params=8.03e9, batch=64, **CAL).to_json()
    assert not ok["batch_capped"] and ok["notes"] == []


def test_tensor_parallel_costs_communication_and_static_power():
    one = infer(params=8.03e9, batch=64, **CAL).to_json()
    two = infer(params=8.03e9, batch=64, devices=2, **CAL).to_json()
    assert one["estimate"]["step_parts_seconds"]["tensor_parallel"] == 0
    assert two["estimate"]["step_parts_seconds"]["tensor_parallel"] > 0
    assert two["energy_per_token_j"] > one["energy_per_token_j"]  # two static floors, all-reduces


def test_longer_context_and_prompt_cost_more():
    assert _per_token(64, context_tokens=4000) > _per_token(64, context_tokens=500)
    assert _per_token(64, input_tokens=2000) > _per_token(64, input_tokens=100)


def test_defaults_are_labelled():
    r = infer(params=8.03e9, batch=8, **CAL).to_json()
    for key in ("input_tokens", "context_tokens", "layers", "kv_bytes_per_token"):
        assert r["inputs"][key]["source"] != "user input"
    assert r["calibration"] == "default" and r["engine"] == "vllm"
    assert r["expected_error"]["median_abs"] > 0 and "held-out" in r["expected_error"]["basis"]


# -- calibration against the stored measurement table --------------------------------------------------------
@pytest.fixture(scope="module")
def scored():
    return row_errors(calibration(), measurements())


def test_measurement_table_meets_the_coverage_asked_for():
    rows = measurements()
    assert len(rows) >= 40
    batches = [r["avg_batch"] for r in rows]
    assert min(batches) <= 1 and max(batches) >= 2048
    sizes = {r["model"]: tomllib.loads(_models())[r["model"]]["params"] for r in rows}
    assert min(sizes.values()) <= 3e9 and max(sizes.values()) >= 70e9 and len(sizes) >= 4
    assert len({r["gpu"] for r in rows}) >= 3
    for r in rows:
        assert re.fullmatch(r"[0-9a-f]{40}", r["commit"]) and r["repo"].startswith("ml-energy/") and r["path"]
        assert r["split"] in ("fit", "holdout") and r["measured_j_per_token"] > 0


def _models() -> str:
    return resources.files("qscale.energy").joinpath("data", "inference_models.toml").read_text(encoding="utf-8")


def test_anchor_rows_are_the_published_figures():
    rows = {(r["model"], r["gpu"], r["max_batch"]): r for r in measurements() if r["source"] == "v3"}
    b8 = rows[("meta-llama/Llama-3.1-8B-Instruct", "H100", 8)]
    b512 = rows[("meta-llama/Llama-3.1-8B-Instruct", "H100", 512)]
    assert round(b8["measured_j_per_token"], 3) == 0.455 and round(b8["output_tokens"]) == 389
    assert round(b512["measured_j_per_token"], 4) == 0.0702 and round(b512["output_tokens"]) == 397


def test_errors_meet_the_median_goal_in_sample_and_held_out(scored):
    summary = error_summaries(scored)
    assert summary["fit"]["median_abs"] <= 0.10
    assert summary["holdout"]["median_abs"] <= 0.10
    within = sum(abs(r["error"]) <= GOAL for r in scored) / len(scored)
    assert within >= 0.9  # docs/energy.md lists the rows outside 25 % and why
    assert summary["ideal_roofline"]["median_abs"] > 3 * summary["all"]["median_abs"]


def test_stored_error_summaries_match_a_fresh_computation(scored):
    stored = calibration().errors
    fresh = error_summaries(scored)
    for key in ("fit", "holdout", "all"):
        assert stored[key]["median_abs"] == pytest.approx(fresh[key]["median_abs"], abs=1e-3)
        assert stored[key]["over_goal"] == fresh[key]["over_goal"]
    assert set(calibration().meta["rows_holdout"]) == {r["id"] for r in scored if r["split"] == "holdout"}


def test_summarize():
    s = summarize([0.1, -0.3, 0.05])
    assert s == {"rows": 3, "median_abs": 0.1, "p90_abs": pytest.approx(0.26), "max_abs": 0.3, "over_goal": 1}


@pytest.mark.slow
def test_refit_reproduces_the_stored_calibration():
    from qscale.energy.inference_fit import fit

    cal, _ = fit([r for r in measurements() if r["split"] == "fit"])
    for key, hw in calibration().hardware.items():
        assert cal.hardware[key].static_w == pytest.approx(hw.static_w, rel=0.02)


# -- bad input ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch": 0}, "--batch"),
        ({"params": 0}, "--params"),
        ({"method": "magic"}, "roofline"),
        ({"mbu": 0}, "--mbu"),
        ({"hardware": "TPUv5e", "devices": 2, "calibration_name": "none"}, "--power-w"),
        ({"hardware": "TPUv4"}, "no inference calibration for TPUv4"),
        ({"precision": "fp4"}, "fp4"),
        ({"calibration_name": "best"}, "known: default, none"),
        ({"engine": "tgi"}, "known: vllm"),
        ({"params": 70e9}, "bytes"),
    ],
)
def test_bad_inference_inputs(kwargs, message):
    with pytest.raises(QscaleUserError, match=message):
        infer(**({"params": 8e9, "batch": 8, "pue": 1.0, "intensity": 0.4} | kwargs))


# -- the CLI ----------------------------------------------------------------------------------------------------
def _run(*args: str):
    return CliRunner().invoke(energy_app, ["infer", *args])


@pytest.mark.parametrize(
    "batch, tokens, measured",
    [("512", "397", 0.0702), ("8", "389", 0.455)],
)
def test_acceptance_llama_8b_on_h100(batch, tokens, measured):
    res = _run("--params", "8.03e9", "--hardware", "H100", "--batch", batch, "--output-tokens", tokens, "--pue", "1",
               "--json")  # fmt: skip
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout)
    assert r["energy_per_token_j"] == pytest.approx(measured, rel=GOAL)
    for key in ("energy_per_token_j", "power_w_per_device", "mbu", "mfu", "expected_error", "batch_capped"):
        assert key in r
    none = json.loads(_run("--params", "8.03e9", "--batch", batch, "--output-tokens", tokens, "--pue", "1",
                           "--calibration", "none", "--json").stdout)  # fmt: skip
    assert none["energy_per_token_j"] < r["energy_per_token_j"]


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--hardware", "GTX1080"], "known: V100, A100-40"),
        (["--batch", "0"], "--batch"),
        (["--params", "405e9"], "8.1e+11 bytes"),
        (["--calibration", "magic"], "unknown --calibration 'magic'; known: default, none"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, reason):
    res = _run("--params", "8e9", *args, "--json")
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and reason in lines[0]


# -- consumers: the campus's inference load -------------------------------------------------------------------
def test_fleet_power_falls_less_than_traffic_and_feeds_the_site():
    from qscale.energy.fleet import inference_trough, serving_power_fraction
    from qscale.grid.config import CampusSection

    half, quarter = serving_power_fraction(0.5), serving_power_fraction(0.25)
    assert 0.5 < quarter <= half < 1.0  # static floor and busier GPUs per token: power is not traffic
    assert CampusSection().inference_min_fraction == inference_trough().value == round(half, 3)
    assert "calibrated serving model" in inference_trough().source
