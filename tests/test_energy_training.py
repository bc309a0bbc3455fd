"""LLM training estimates: LLMCarbon's five validation rows, the GPU-hours form, and the formula's parts."""

from __future__ import annotations

import pytest

from qscale.energy.training import train_from_compute, train_from_device_hours
from qscale.errors import QscaleUserError

# (name, P total, P active, tokens, hardware, devices, efficiency, avg W, PUE, kg/kWh, published MWh, tCO2e)
# from LLMCarbon's validation table (Faiz et al., ICLR 2024, arXiv 2309.14393); typed here, independent of
# validation.toml.
LLMCARBON = [
    ("T5", 11e9, None, 600e9, "TPUv3", 512, 0.37, 310, 1.12, 0.545, 85.7, 46.7),
    ("GPT-3", 175e9, None, 300e9, "V100", 10_000, 0.197, 330, 1.10, 0.429, 1287, 552.1),
    ("GShard", 619e9, 2.3e9, 1000e9, "TPUv3", 1000, 0.39, 288, 1.09, 0.177, 24.1, 4.3),
    ("Switch", 1500e9, 7.41e9, 2000e9, "TPUv3", 1000, 0.28, 245, 1.10, 0.33, 179, 59.1),
    ("XLM", 0.55e9, None, 7000e9, "V100", 512, 0.212, 342, 1.10, 0.413, 94.4, 39),
]


@pytest.mark.parametrize("row", LLMCARBON, ids=[r[0] for r in LLMCARBON])
def test_llmcarbon_rows_within_ten_percent(row):
    _, total, active, tokens, hw, devices, eff, watts, pue, ci, mwh, co2 = row
    r = train_from_compute(
        params=total,
        active_params=active,
        tokens=tokens,
        hardware=hw,
        devices=devices,
        hw_efficiency=eff,
        avg_power_w=watts,
        pue=pue,
        intensity=ci,
    ).report
    assert r["energy_mwh"] == pytest.approx(mwh, rel=0.10)
    assert r["co2_t"] == pytest.approx(co2, rel=0.10)
    assert r["kind"] == "projected"


def test_gpt3_within_five_percent_with_formula_parts_echoed():
    r = train_from_compute(
        params=175e9,
        tokens=300e9,
        hardware="V100",
        devices=10_000,
        hw_efficiency=0.197,
        avg_power_w=330,
        pue=1.1,
        intensity=0.429,
    ).report
    assert r["energy_mwh"] == pytest.approx(1287, rel=0.05)
    assert r["co2_t"] == pytest.approx(552, rel=0.05)
    assert r["flops"] == pytest.approx(6 * 175e9 * 300e9)
    assert r["days"] == pytest.approx(r["flops"] / (10_000 * 125e12 * 0.197 * 86_400))
    assert r["inputs"]["peak_flops_per_device"]["value"] == 125e12
    assert "V100" in r["inputs"]["peak_flops_per_device"]["source"]
    assert all(v["kind"] == "assumed" and v["source"] for v in r["inputs"].values())
    # embodied: 8.15 cm^2 x 1.2 kg/cm^2 per V100, over 5 years of 8,760 h
    hours = r["device_hours"]
    assert r["co2_embodied_t"] == pytest.approx(8.15 * 1.2 * hours / (5 * 8760) / 1000)


def test_moe_uses_active_parameters_and_precision_changes_peak():
    dense = train_from_compute(
        params=100e9, tokens=1e12, hardware="H100", devices=64, hw_efficiency=0.4, pue=1.0, intensity=0.4
    ).report
    moe = train_from_compute(
        params=100e9,
        active_params=10e9,
        tokens=1e12,
        hardware="H100",
        devices=64,
        hw_efficiency=0.4,
        pue=1.0,
        intensity=0.4,
    ).report
    assert moe["energy_mwh"] == pytest.approx(dense["energy_mwh"] / 10)
    fp8 = train_from_compute(
        params=100e9,
        tokens=1e12,
        hardware="H100",
        devices=64,
        hw_efficiency=0.4,
        pue=1.0,
        intensity=0.4,
        precision="fp8",
    ).report
    assert fp8["days"] == pytest.approx(dense["days"] / 2, rel=1e-3)  # 1,979 vs 989 TFLOP/s
    assert dense["inputs"]["avg_power_w"]["value"] == 700  # the published per-GPU power for H100


def test_device_hours_form():
    r = train_from_device_hours(device_hours=1e6, avg_power_w=400, pue=1.2, intensity=0.4, devices=1000).report
    assert r["energy_mwh"] == pytest.approx(480.0)
    assert r["co2_t"] == pytest.approx(192.0)
    assert r["days"] == pytest.approx(1e6 / 1000 / 24)
    assert r["co2_embodied_t"] is None  # no hardware: not estimated, and said so
    with_hw = train_from_device_hours(device_hours=1e6, hardware="A100-80", pue=1.0, intensity=0.0).report
    assert with_hw["inputs"]["avg_power_w"]["value"] == 400
    assert with_hw["co2_t"] == 0.0
    assert with_hw["co2_embodied_t"] > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"params": -1.0}, "--params"),
        ({"devices": 0}, "--devices"),
        ({"devices": 2.5}, "--devices"),
        ({"hw_efficiency": 1.5}, "--hw-efficiency"),
        ({"pue": 0.95}, "PUE"),
        ({"active_params": 2e12}, "cannot exceed"),
        ({"hardware": "Z80"}, "H100"),
        ({"precision": "fp4"}, "precision"),
    ],
)
def test_bad_training_inputs(kwargs, message):
    base = {
        "params": 1e9,
        "tokens": 1e10,
        "hardware": "V100",
        "devices": 8,
        "hw_efficiency": 0.3,
        "pue": 1.1,
        "intensity": 0.4,
    }
    with pytest.raises(QscaleUserError, match=message):
        train_from_compute(**(base | kwargs))


def test_missing_power_is_a_user_error():
    with pytest.raises(QscaleUserError, match="--avg-power-w"):
        train_from_compute(
            params=1e9, tokens=1e10, hardware="TPUv5e", devices=8, hw_efficiency=0.3, pue=1.1, intensity=0.4
        )
