"""LLM training energy and carbon, with LLMCarbon's formulas (Faiz et al., ICLR 2024), echoing every input.

Two entry points: from model size and tokens (compute -> time -> energy) and from device-hours and power
(what model cards publish). Both are projections: they model hardware we did not run on.
"""

from __future__ import annotations

from typing import Any

from qscale.energy.data import Accelerator, Sourced, accelerator
from qscale.energy.inputs import assumed, intensity_value, pue_value
from qscale.errors import QscaleUserError
from qscale.io import Result
from qscale.validation import check_count, check_fraction, check_positive

SECONDS_PER_DAY = 86_400.0
HOURS_PER_YEAR = 8_760.0
DEFAULT_LIFETIME_YEARS = 5.0
LIFETIME_SOURCE = "LLMCarbon: embodied carbon amortised over a 5-year hardware life"

FORMULAS = {
    "flops": "6 * active_params * tokens",
    "days": "flops / (devices * peak_flops * hw_efficiency * 86400)",
    "energy_mwh": "avg_power_w * devices * hours * pue / 1e6",
    "co2_t": "energy_mwh * intensity_kg_per_kwh",
    "co2_embodied_t": "die_area_cm2 * carbon_per_area * devices * hours / (lifetime_years * 8760) / 1000",
}
METHOD = "LLMCarbon (Faiz et al., ICLR 2024)"


def _power(acc: Accelerator | None, avg_power_w: float | None) -> Sourced:
    if avg_power_w is not None:
        return Sourced(value=check_positive(avg_power_w, "--avg-power-w"), source="user input")
    if acc is not None and acc.avg_power_w is not None:
        return Sourced(value=acc.avg_power_w, source=acc.avg_power_source)
    if acc is not None and acc.tdp_w is not None:
        return Sourced(value=acc.tdp_w, source=f"TDP as average power (assumption): {acc.tdp_source}")
    name = acc.key if acc is not None else "this estimate (no --hardware)"
    raise QscaleUserError(f"no published average power for {name}; pass --avg-power-w")


def _embodied_t(acc: Accelerator | None, device_hours: float, lifetime_years: float) -> tuple[float | None, str]:
    if acc is None:
        return None, "no hardware given: embodied carbon not estimated"
    chip_kg = acc.chip_embodied_kg
    if chip_kg is None:
        return None, f"{acc.key}: {acc.embodied_source}"
    share = device_hours / (lifetime_years * HOURS_PER_YEAR)
    return chip_kg * share / 1000.0, acc.embodied_source


def _energy_block(
    device_hours: float, power: Sourced, pue: Sourced, grid: Sourced, acc: Accelerator | None, lifetime: float
) -> dict[str, Any]:
    energy_mwh = power.value * device_hours * pue.value / 1e6
    co2_t = energy_mwh * grid.value
    embodied_t, embodied_source = _embodied_t(acc, device_hours, lifetime)
    return {
        "energy_mwh": energy_mwh,
        "co2_t": co2_t,
        "co2_embodied_t": embodied_t,
        "co2_total_t": co2_t + (embodied_t or 0.0),
        "embodied_basis": embodied_source,
    }


class TrainingResult(Result):
    """The `qscale energy train` JSON: energy, time, carbon and every input with its source."""


def train_from_compute(
    *,
    params: float,
    tokens: float,
    hardware: str,
    devices: float,
    hw_efficiency: float,
    pue: float | Sourced,
    intensity: float | Sourced,
    active_params: float | None = None,
    avg_power_w: float | None = None,
    precision: str | None = None,
    lifetime_years: float = DEFAULT_LIFETIME_YEARS,
) -> TrainingResult:
    """Training energy from model size and tokens: FLOPs -> days on `devices` -> MWh -> tCO2e."""
    total = check_positive(params, "--params")
    active = check_positive(active_params, "--active-params") if active_params is not None else total
    if active > total:
        raise QscaleUserError(f"--active-params ({active:g}) cannot exceed --params ({total:g})")
    n_tokens = check_positive(tokens, "--tokens")
    n_devices = check_count(devices, "--devices")
    eff = check_fraction(hw_efficiency, "--hw-efficiency")
    acc = accelerator(hardware)
    peak, prec = acc.peak(precision)
    power = _power(acc, avg_power_w)
    pue_s, grid = pue_value(pue), intensity_value(intensity)
    lifetime = check_positive(lifetime_years, "lifetime_years")

    flops = 6.0 * active * n_tokens
    seconds = flops / (n_devices * peak * eff)
    device_hours = n_devices * seconds / 3600.0
    result: dict[str, Any] = {
        "kind": "projected",
        "method": METHOD,
        "form": "compute",
        "flops": flops,
        "days": seconds / SECONDS_PER_DAY,
        "device_hours": device_hours,
        **_energy_block(device_hours, power, pue_s, grid, acc, lifetime),
    }
    result["inputs"] = {
        "params": assumed(total),
        "active_params": assumed(active, "user input" if active_params is not None else "= params (dense model)"),
        "tokens": assumed(n_tokens),
        "hardware": assumed(acc.name, f"qscale accelerators.toml [{acc.key}]"),
        "devices": assumed(n_devices),
        "precision": assumed(prec, acc.peak_source),
        "peak_flops_per_device": assumed(peak, acc.peak_source),
        "hw_efficiency": assumed(eff),
        "avg_power_w": assumed(power.value, power.source),
        "pue": assumed(pue_s.value, pue_s.source),
        "intensity_kg_per_kwh": assumed(grid.value, grid.source),
        "lifetime_years": assumed(lifetime, LIFETIME_SOURCE),
    }
    result["formulas"] = FORMULAS
    return TrainingResult(result)


def train_from_device_hours(
    *,
    device_hours: float,
    pue: float | Sourced,
    intensity: float | Sourced,
    avg_power_w: float | None = None,
    hardware: str | None = None,
    devices: float | None = None,
    lifetime_years: float = DEFAULT_LIFETIME_YEARS,
) -> TrainingResult:
    """Training energy from published GPU-hours and average power (the model-card form)."""
    hours = check_positive(device_hours, "--gpu-hours")
    acc = accelerator(hardware) if hardware is not None else None
    power = _power(acc, avg_power_w)
    pue_s, grid = pue_value(pue), intensity_value(intensity)
    lifetime = check_positive(lifetime_years, "lifetime_years")
    n_devices = check_count(devices, "--devices") if devices is not None else None
    result: dict[str, Any] = {
        "kind": "projected",
        "method": METHOD,
        "form": "device_hours",
        "flops": None,
        "days": hours / n_devices / 24.0 if n_devices else None,
        "device_hours": hours,
        **_energy_block(hours, power, pue_s, grid, acc, lifetime),
    }
    result["inputs"] = {
        "gpu_hours": assumed(hours),
        "hardware": assumed(acc.name if acc else None, f"qscale accelerators.toml [{acc.key}]" if acc else "not given"),
        "devices": assumed(n_devices, "user input" if n_devices else "not given: days not computed"),
        "avg_power_w": assumed(power.value, power.source),
        "pue": assumed(pue_s.value, pue_s.source),
        "intensity_kg_per_kwh": assumed(grid.value, grid.source),
        "lifetime_years": assumed(lifetime, LIFETIME_SOURCE),
    }
    result["formulas"] = {k: v for k, v in FORMULAS.items() if k not in ("flops", "days")} | {
        "days": "gpu_hours / devices / 24"
    }
    return TrainingResult(result)
