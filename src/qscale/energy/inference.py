"""LLM inference energy per output token and per request, by two models that the output names.

- `roofline`: each decode step moves the weights (and the KV cache) through memory and does 2·P_active·B
  FLOPs; its time is the larger of the two at the given efficiencies, at the given device power.
  Prefill is compute-bound (2·P_active FLOPs per input token).
- `ecologits`: EcoLogits' fitted per-token energy (Wh) = α·e^{β·B}·P_active[B] + γ, times PUE; it does not
  depend on the hardware or on input length.
Both are projections of hardware we did not run on; the one not chosen is reported as a cross-check.
"""

from __future__ import annotations

import math
from typing import Any

from qscale.energy.data import Accelerator, Sourced, accelerator
from qscale.energy.figures import USER, assumed, count, fraction, intensity_value, non_negative, positive, pue_value
from qscale.errors import QscaleUserError

BYTES_PER_PARAM = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "fp4": 0.5}
ECOLOGITS = {"alpha": 1.17e-6, "beta": -1.12e-2, "gamma": 4.05e-5}
ECOLOGITS_SOURCE = (
    "EcoLogits per-token model (Wh) = alpha*exp(beta*B)*P_active[B] + gamma, alpha=1.17e-6, beta=-1.12e-2, "
    "gamma=4.05e-5 (EcoLogits LLM-inference methodology, https://ecologits.ai), times PUE"
)
ROOFLINE_SOURCE = "qscale roofline: step = max(2*P_active*B/(peak*mfu), bytes/(bandwidth*mbu)) per decode step"
METHODS = ("roofline", "ecologits")


def ecologits_token_j(active_params: float, batch: int, pue: float) -> float:
    """Energy per output token (J) of the EcoLogits fit, facility included through PUE."""
    wh = ECOLOGITS["alpha"] * math.exp(ECOLOGITS["beta"] * batch) * (active_params / 1e9) + ECOLOGITS["gamma"]
    return wh * 3600.0 * pue


def _roofline(
    acc: Accelerator,
    *,
    total: float,
    active: float,
    batch: int,
    prec: str,
    peak: float,
    devices: int,
    power_w: float,
    mfu: float,
    mbu: float,
    input_tokens: int,
    output_tokens: int,
    context_tokens: int,
    kv_bytes: float,
    pue: float,
) -> dict[str, Any]:
    bytes_per_param = BYTES_PER_PARAM.get(prec)
    if bytes_per_param is None:
        raise QscaleUserError(f"no weight size known for precision {prec!r}; known: {', '.join(BYTES_PER_PARAM)}")
    weight_bytes = total * bytes_per_param
    kv_total = batch * context_tokens * kv_bytes
    bandwidth = acc.memory_bandwidth_gb_s * 1e9 * devices * mbu
    compute = peak * devices * mfu
    t_memory = (weight_bytes + kv_total) / bandwidth
    t_compute = 2.0 * active * batch / compute
    step = max(t_memory, t_compute)
    prefill_per_request = 2.0 * active * input_tokens / compute
    batch_seconds = batch * prefill_per_request + output_tokens * step
    watts = power_w * devices
    per_token = watts * step / batch * pue
    per_request = watts * batch_seconds / batch * pue
    return {
        "model": "roofline",
        "step_seconds": step,
        "bound": "memory" if t_memory >= t_compute else "compute",
        "output_tokens_per_second": batch / step,
        "energy_per_token_j": per_token,
        "prefill_j_per_request": watts * prefill_per_request * pue,
        "energy_per_request_j": per_request,
        "seconds_per_batch": batch_seconds,
        "memory_needed_gb": (weight_bytes + kv_total) / 1e9,
        "fits_in_memory": (weight_bytes + kv_total) / 1e9 <= acc.memory_gb * devices,
        "source": ROOFLINE_SOURCE,
    }


def infer(
    *,
    params: float,
    batch: float,
    pue: float | Sourced,
    intensity: float | Sourced,
    hardware: str = "H100",
    active_params: float | None = None,
    precision: str | None = None,
    devices: float = 1,
    power_w: float | None = None,
    mfu: float = 1.0,
    mbu: float = 1.0,
    input_tokens: float = 0,
    output_tokens: float = 256,
    context_tokens: float = 0,
    kv_bytes_per_token: float = 0.0,
    requests: float = 1,
    method: str = "roofline",
) -> dict[str, Any]:
    """Energy per output token and per request; `method` picks the headline model, the other cross-checks."""
    if method not in METHODS:
        raise QscaleUserError(f"unknown --method {method!r}; known: {', '.join(METHODS)}")
    total = positive("--params", params)
    active = positive("--active-params", active_params) if active_params is not None else total
    if active > total:
        raise QscaleUserError(f"--active-params ({active:g}) cannot exceed --params ({total:g})")
    b = count("--batch", batch)
    n_devices = count("--devices", devices)
    n_in, n_out = count("--input-tokens", input_tokens, 0), count("--output-tokens", output_tokens)
    ctx = count("--context-tokens", context_tokens, 0)
    kv = non_negative("--kv-bytes-per-token", kv_bytes_per_token)
    n_requests = count("--requests", requests)
    eff_c, eff_m = fraction("--mfu", mfu), fraction("--mbu", mbu)
    acc = accelerator(hardware)
    peak, prec = acc.peak(precision)
    if power_w is not None:
        power = Sourced(value=positive("--power-w", power_w), source="user input")
    elif acc.tdp_w is not None:
        power = Sourced(value=acc.tdp_w, source=f"TDP, an upper bound on average power: {acc.tdp_source}")
    else:
        raise QscaleUserError(f"no published power for {acc.key}; pass --power-w")
    pue_s, grid = pue_value(pue), intensity_value(intensity)

    roof = _roofline(
        acc,
        total=total,
        active=active,
        batch=b,
        prec=prec,
        peak=peak,
        devices=n_devices,
        power_w=power.value,
        mfu=eff_c,
        mbu=eff_m,
        input_tokens=n_in,
        output_tokens=n_out,
        context_tokens=ctx,
        kv_bytes=kv,
        pue=pue_s.value,
    )
    eco_token = ecologits_token_j(active, b, pue_s.value)
    eco = {
        "model": "ecologits",
        "energy_per_token_j": eco_token,
        "energy_per_request_j": eco_token * n_out,
        "source": ECOLOGITS_SOURCE,
    }
    head, other = (roof, eco) if method == "roofline" else (eco, roof)
    per_request = head["energy_per_request_j"]
    energy_mwh = per_request * n_requests / 3.6e9
    embodied = None
    if method == "roofline" and acc.chip_embodied_kg is not None:
        device_hours = roof["seconds_per_batch"] / b * n_requests * n_devices / 3600.0
        embodied = acc.chip_embodied_kg * device_hours / (5.0 * 8760.0) / 1000.0
    return {
        "kind": "projected",
        "method": method,
        "energy_per_token_j": head["energy_per_token_j"],
        "energy_per_request_j": per_request,
        "energy_mwh": energy_mwh,
        "co2_t": energy_mwh * grid.value,
        "co2_per_request_g": per_request / 3.6e6 * grid.value * 1000.0,
        "co2_embodied_t": embodied,
        "days": None,
        "estimate": head,
        "cross_check": other,
        "inputs": {
            "params": assumed(total),
            "active_params": assumed(active, "user input" if active_params is not None else "= params (dense model)"),
            "batch": assumed(b),
            "hardware": assumed(acc.name, f"qscale accelerators.toml [{acc.key}]"),
            "devices": assumed(n_devices),
            "precision": assumed(prec, acc.peak_source),
            "peak_flops_per_device": assumed(peak, acc.peak_source),
            "memory_bandwidth_gb_s": assumed(acc.memory_bandwidth_gb_s, acc.memory_source),
            "power_w": assumed(power.value, power.source),
            "mfu": assumed(eff_c, "user input (1.0 = ideal roofline)" if mfu == 1.0 else "user input"),
            "mbu": assumed(eff_m, "user input (1.0 = ideal roofline)" if mbu == 1.0 else "user input"),
            "input_tokens": assumed(n_in),
            "output_tokens": assumed(n_out),
            "context_tokens": assumed(ctx, "user input (0 = KV-cache traffic not counted)" if ctx == 0 else USER),
            "kv_bytes_per_token": assumed(kv),
            "requests": assumed(n_requests),
            "pue": assumed(pue_s.value, pue_s.source),
            "intensity_kg_per_kwh": assumed(grid.value, grid.source),
        },
    }
