"""LLM inference estimates: the roofline's two regimes, the EcoLogits fit, and the per-request totals."""

from __future__ import annotations

import math

import pytest

from qscale.energy.inference import ecologits_token_j, infer
from qscale.errors import QscaleUserError


def test_memory_bound_decode_streams_the_weights_once_per_step():
    r = infer(params=8e9, batch=1, hardware="H100", pue=1.0, intensity=0.4)
    step = 8e9 * 2 / 3.35e12  # bf16 weights over HBM3 bandwidth
    assert r["estimate"]["bound"] == "memory"
    assert r["estimate"]["step_seconds"] == pytest.approx(step)
    assert r["energy_per_token_j"] == pytest.approx(700 * step)
    assert r["method"] == "roofline" and r["cross_check"]["model"] == "ecologits"


def test_compute_bound_at_large_batch_and_fp8_halves_traffic():
    r = infer(params=8e9, batch=4096, hardware="H100", pue=1.0, intensity=0.4)
    assert r["estimate"]["bound"] == "compute"
    assert r["estimate"]["step_seconds"] == pytest.approx(2 * 8e9 * 4096 / 989e12)
    bf16 = infer(params=8e9, batch=1, hardware="H100", pue=1.0, intensity=0.4)
    fp8 = infer(params=8e9, batch=1, hardware="H100", pue=1.0, intensity=0.4, precision="fp8")
    assert fp8["energy_per_token_j"] == pytest.approx(bf16["energy_per_token_j"] / 2)


def test_kv_cache_and_prefill_add_energy():
    plain = infer(params=8e9, batch=8, pue=1.0, intensity=0.0)
    kv = infer(params=8e9, batch=8, pue=1.0, intensity=0.0, context_tokens=1024, kv_bytes_per_token=131072)
    assert kv["energy_per_token_j"] == pytest.approx(plain["energy_per_token_j"] * (16e9 + 8 * 1024 * 131072) / 16e9)
    prompt = infer(params=8e9, batch=8, pue=1.0, intensity=0.0, input_tokens=1000)
    prefill = 700 * 2 * 8e9 * 1000 / 989e12
    assert prompt["energy_per_request_j"] == pytest.approx(plain["energy_per_request_j"] + prefill)


def test_ecologits_fit_and_totals():
    expected_wh = 1.17e-6 * math.exp(-1.12e-2 * 8) * 8.0 + 4.05e-5
    assert ecologits_token_j(8e9, 8, 1.0) == pytest.approx(expected_wh * 3600)
    r = infer(params=8e9, batch=8, pue=1.5, intensity=0.5, method="ecologits", output_tokens=100, requests=1000)
    assert r["energy_per_token_j"] == pytest.approx(expected_wh * 3600 * 1.5)
    assert r["energy_per_request_j"] == pytest.approx(r["energy_per_token_j"] * 100)
    assert r["energy_mwh"] == pytest.approx(r["energy_per_request_j"] * 1000 / 3.6e9)
    assert r["co2_t"] == pytest.approx(r["energy_mwh"] * 0.5)


def test_memory_fit_is_reported():
    assert infer(params=70e9, batch=1, hardware="H100", pue=1, intensity=0)["estimate"]["fits_in_memory"] is False
    assert infer(params=70e9, batch=1, hardware="H100", devices=2, pue=1, intensity=0)["estimate"]["fits_in_memory"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch": 0}, "--batch"),
        ({"params": 0}, "--params"),
        ({"method": "magic"}, "roofline"),
        ({"mbu": 0}, "--mbu"),
        ({"hardware": "TPUv5e"}, "--power-w"),
        ({"precision": "fp4"}, "fp4"),
    ],
)
def test_bad_inference_inputs(kwargs, message):
    with pytest.raises(QscaleUserError, match=message):
        infer(**({"params": 8e9, "batch": 8, "pue": 1.0, "intensity": 0.4} | kwargs))
