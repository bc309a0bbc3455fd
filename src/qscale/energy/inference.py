"""LLM inference energy per output token and per request: the public entry, `infer()`.

Two models, the output names which one is the headline (`method`) and carries the other as `cross_check`:
- `roofline`: the decode steps' FLOPs and bytes (weights, KV cache, attention), prefill, tensor-parallel
  communication and serving-software time, with GPU power between a static floor and TDP. With
  `calibration="default"` its efficiencies, power levels and software times are the ones fitted to the
  ML.ENERGY Leaderboard measurements (inference_model.py, inference_fit.py), and the answer carries the
  held-out error of that fit; `calibration="none"` is the ideal roofline (peak bandwidth and FLOP/s at TDP).
- `ecologits`: EcoLogits' fitted per-token energy (Wh) = α·e^{β·B}·P_active[B] + γ, times PUE; it does not
  depend on the hardware or on input length.
Both are projections of hardware we did not run on.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from qscale.energy.data import Sourced, accelerator
from qscale.energy.inference_calibration import (
    ENGINES,
    calibration,
    check_calibration,
    check_engine,
    engine_fit,
    expected_error,
    hardware_fit,
)
from qscale.energy.inference_model import (
    BYTES_PER_PARAM,
    KV_BYTES_PER_ELEMENT,
    Architecture,
    default_architecture,
    estimate,
    ideal_roofline,
    kv_capacity_tokens,
    serving_peak,
    weights_fit,
)
from qscale.energy.inputs import USER, assumed, intensity_value, pue_value
from qscale.errors import QscaleUserError
from qscale.io import Result
from qscale.validation import check_count, check_fraction, check_non_negative, check_positive

__all__ = ["BYTES_PER_PARAM", "METHODS", "ecologits_token_j", "infer"]

ECOLOGITS = {"alpha": 1.17e-6, "beta": -1.12e-2, "gamma": 4.05e-5}
ECOLOGITS_SOURCE = (
    "EcoLogits per-token model (Wh) = alpha*exp(beta*B)*P_active[B] + gamma, alpha=1.17e-6, beta=-1.12e-2, "
    "gamma=4.05e-5 (EcoLogits LLM-inference methodology, https://ecologits.ai), times PUE"
)
ROOFLINE_SOURCE = "qscale roofline: step = max(2*P_active*B/(peak*mfu), bytes/(bandwidth*mbu)) per decode step"
CALIBRATED_SOURCE = (
    "qscale calibrated serving model (qscale.energy.inference_model): decode steps from FLOPs and bytes, "
    "software time, tensor-parallel all-reduces, power between a fitted static floor and TDP; parameters "
    "fitted to ML.ENERGY Leaderboard measurements (data/inference_calibration.toml)"
)
METHODS = ("roofline", "ecologits")
DEFAULT_INPUT_TOKENS = 100
DEFAULT_INPUT_SOURCE = (
    "assumed: a chat prompt (LMSYS-Chat-1M mean prompt 69.5 tokens, Zheng et al. arXiv 2309.11998, "
    "plus ~30 chat-template tokens)"
)


def ecologits_token_j(active_params: float, batch: int, pue: float) -> float:
    """Energy per output token (J) of the EcoLogits fit, facility included through PUE."""
    wh = ECOLOGITS["alpha"] * math.exp(ECOLOGITS["beta"] * batch) * (active_params / 1e9) + ECOLOGITS["gamma"]
    return wh * 3600.0 * pue


def _architecture(
    total: float,
    active: float,
    prec: str,
    layers: float | None,
    d_model: float | None,
    kv_bytes_per_token: float | None,
    calibrated: bool,
) -> tuple[Architecture, dict[str, Any]]:
    """The model's shape: user values where given, else qscale's defaults from the parameter count."""
    bytes_per_param = BYTES_PER_PARAM.get(prec)
    if bytes_per_param is None:
        raise QscaleUserError(f"no weight size known for precision {prec!r}; known: {', '.join(BYTES_PER_PARAM)}")
    d_layers, d_width, d_kv = default_architecture(total)
    n_layers = check_count(layers, "--layers") if layers is not None else d_layers
    width = check_count(d_model, "--d-model") if d_model is not None else d_width
    rule = "qscale default from the parameter count (inference_model.default_architecture)"
    if kv_bytes_per_token is not None:
        kv, kv_src = check_non_negative(kv_bytes_per_token, "--kv-bytes-per-token"), USER
    elif calibrated:
        kv = 2.0 * n_layers * 1024 * KV_BYTES_PER_ELEMENT if layers is not None else d_kv
        kv_src = "assumed: 8 KV heads of 128 in 16 bits per layer (grouped-query attention)"
    else:
        kv, kv_src = 0.0, "not counted (the uncalibrated roofline's default; pass --kv-bytes-per-token)"
    arch = Architecture(total, active, n_layers, width, kv, bytes_per_param)
    echo = {
        "layers": assumed(n_layers, USER if layers is not None else rule),
        "d_model": assumed(width, USER if d_model is not None else rule),
        "kv_bytes_per_token": assumed(kv, kv_src),
    }
    return arch, echo


class InferenceResult(Result):
    """`infer`'s answer: the `qscale energy infer` JSON (energy per token and request, cross-check, inputs)."""


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
    mfu: float | None = None,
    mbu: float | None = None,
    input_tokens: float | None = None,
    output_tokens: float = 256,
    context_tokens: float | None = None,
    kv_bytes_per_token: float | None = None,
    layers: float | None = None,
    d_model: float | None = None,
    requests: float = 1,
    method: str = "roofline",
    calibration_name: str = "default",
    engine: str = "vllm",
) -> InferenceResult:
    """Energy per output token and per request; `method` picks the headline model, the other cross-checks.

    `calibration_name="default"` prices the physics model with the parameters fitted to ML.ENERGY's
    measurements and labels the answer with the fit's held-out error; "none" is the ideal roofline (mfu = mbu
    = 1 and TDP unless given). Unset inputs get realistic defaults under "default" (a 100-token prompt, a
    KV cache sized from the parameter count) and the old zero defaults under "none"; every one is echoed.
    """
    if method not in METHODS:
        raise QscaleUserError(f"unknown --method {method!r}; known: {', '.join(METHODS)}")
    calibrated = check_calibration(calibration_name) == "default"
    engine = check_engine(engine)
    total = check_positive(params, "--params")
    active = check_positive(active_params, "--active-params") if active_params is not None else total
    if active > total:
        raise QscaleUserError(f"--active-params ({active:g}) cannot exceed --params ({total:g})")
    b = check_count(batch, "--batch")
    n_devices = check_count(devices, "--devices")
    n_out = check_count(output_tokens, "--output-tokens")
    if input_tokens is not None:
        n_in, in_src = check_count(input_tokens, "--input-tokens", 0), USER
    else:
        n_in, in_src = (DEFAULT_INPUT_TOKENS, DEFAULT_INPUT_SOURCE) if calibrated else (0, "not counted (default)")
    if context_tokens is not None:
        ctx, ctx_src = check_count(context_tokens, "--context-tokens", 0), USER
    elif calibrated:
        ctx, ctx_src = (
            n_in + n_out,
            (
                "input + output tokens: the time-averaged KV length when output lengths vary as in ML.ENERGY's "
                "chat data (E[out^2]/(2 E[out]) ~ E[out]); pass input + output/2 for equal-length outputs"
            ),
        )
    else:
        ctx, ctx_src = 0, "user input (0 = KV-cache traffic not counted)"
    n_requests = check_count(requests, "--requests")
    eff_c = check_fraction(mfu, "--mfu") if mfu is not None else None
    eff_m = check_fraction(mbu, "--mbu") if mbu is not None else None
    acc = accelerator(hardware)
    peak, prec = acc.peak(precision)
    arch, arch_echo = _architecture(total, active, prec, layers, d_model, kv_bytes_per_token, calibrated)
    fits, weight_bytes, usable = weights_fit(arch, acc, n_devices)
    if not fits:
        raise QscaleUserError(
            f"the weights need {weight_bytes:.4g} bytes ({total:g} parameters x {arch.bytes_per_param:g} bytes, "
            f"{prec}) but {n_devices} x {acc.key} offer {usable:.4g} usable bytes (90 % of {acc.memory_gb:g} GB "
            "less 2 GB each); add --devices or pick a smaller --precision"
        )
    if power_w is not None:
        power = Sourced(value=check_positive(power_w, "--power-w"), source=USER)
    elif acc.tdp_w is not None:
        power = Sourced(value=acc.tdp_w, source=f"TDP, an upper bound on average power: {acc.tdp_source}")
    else:
        raise QscaleUserError(f"no published power for {acc.key}; pass --power-w")
    pue_s, grid = pue_value(pue), intensity_value(intensity)
    cal = calibration()

    common = {"batch": b, "input_tokens": n_in, "output_tokens": n_out, "context": ctx, "devices": n_devices}
    ideal = ideal_roofline(arch, acc, peak, **common, power_w=power.value, mfu=eff_c or 1.0, mbu=eff_m or 1.0)
    notes: list[str] = []
    batch_used = b
    if calibrated:
        hw, fitted_on, hw_src = hardware_fit(cal, acc.key)
        if eff_m is not None:
            hw = replace(hw, eta_mem=eff_m, eta_att=eff_m)
        if eff_c is not None:
            hw = replace(hw, eta_cmp=eff_c)
        capacity = kv_capacity_tokens(arch, acc, n_devices)
        fits_batch = math.floor(capacity / ctx) if ctx > 0 else b
        if fits_batch < 1:
            per_seq = ctx * arch.kv_bytes_per_token
            raise QscaleUserError(
                f"no room for one sequence's KV cache ({per_seq:.4g} bytes at {ctx} tokens) beside the "
                f"{weight_bytes:.4g} bytes of weights on {n_devices} x {acc.key}; add --devices"
            )
        if b > fits_batch:
            batch_used = fits_batch
            notes.append(
                f"batch {b} does not fit: {b} sequences x {ctx} tokens x {arch.kv_bytes_per_token:.4g} bytes of KV "
                f"cache exceed the {capacity * arch.kv_bytes_per_token:.4g} bytes left beside the weights; "
                f"priced at the largest batch that fits, {fits_batch}"
            )
        s_peak, s_prec = serving_peak(acc, prec)
        est = estimate(
            arch,
            acc,
            s_peak,
            hw,
            engine_fit(cal, engine),
            **{**common, "batch": batch_used},
            power_w=power.value if power_w is not None else None,
        )
        model = {
            "model": "calibrated",
            "step_seconds": est.step.seconds,
            "step_parts_seconds": {
                "linear": est.step.linear_s,
                "attention": est.step.attention_s,
                "tensor_parallel": est.step.tp_s,
                "software": est.step.software_s,
            },
            "bound": est.step.bound,
            "output_tokens_per_second": batch_used / est.step.seconds,
            "energy_per_token_j": est.energy_per_token_j * pue_s.value,
            "decode_j_per_token": est.decode_j_per_token * pue_s.value,
            "prefill_j_per_request": est.prefill_j_per_request * pue_s.value,
            "energy_per_request_j": est.energy_per_request_j * pue_s.value,
            "seconds_per_request": est.seconds_per_request,
            "kv_capacity_tokens": capacity,
            "compute_peak_precision": s_prec,
            "parameters": {**vars(hw), **{k: v for k, v in vars(engine_fit(cal, engine)).items()}},
            "parameters_source": hw_src + f"; engine {engine}: {ENGINES[engine]}",
            "source": CALIBRATED_SOURCE,
        }
        power_dev = power.value if power_w is not None else est.step.power_w_per_device
        device_seconds = n_devices * (est.step.seconds * n_out / batch_used + est.prefill_s_per_request)
        err = expected_error(cal, fitted_on, engine)
        mbu_v, mfu_v = est.step.mbu, est.step.mfu
    else:
        model = {
            "model": "roofline",
            **ideal,
            "energy_per_token_j": float(ideal["energy_per_token_j"]) * pue_s.value,
            "prefill_j_per_request": float(ideal["prefill_j_per_request"]) * pue_s.value,
            "energy_per_request_j": float(ideal["energy_per_request_j"]) * pue_s.value,
            "source": ROOFLINE_SOURCE,
        }
        power_dev = power.value
        device_seconds = float(ideal["seconds_per_batch"]) / b * n_devices
        err = {
            **cal.errors["ideal_roofline"],
            "basis": "the ideal roofline at TDP on every ML.ENERGY row (median_signed < 0: it under-estimates)",
        }
        mbu_v, mfu_v = float(ideal["mbu"]), float(ideal["mfu"])
    eco_token = ecologits_token_j(active, batch_used, pue_s.value)
    eco = {
        "model": "ecologits",
        "energy_per_token_j": eco_token,
        "energy_per_request_j": eco_token * n_out,
        "source": ECOLOGITS_SOURCE,
    }
    head, other = (model, eco) if method == "roofline" else (eco, model)
    per_request = head["energy_per_request_j"]
    energy_mwh = per_request * n_requests / 3.6e9
    embodied = None
    if method == "roofline" and acc.chip_embodied_kg is not None:
        embodied = acc.chip_embodied_kg * device_seconds / 3600.0 * n_requests / (5.0 * 8760.0) / 1000.0
    return InferenceResult({
        "kind": "projected",
        "method": method,
        "calibration": calibration_name,
        "engine": engine,
        "energy_per_token_j": head["energy_per_token_j"],
        "energy_per_request_j": per_request,
        "power_w_per_device": power_dev,
        "mbu": mbu_v,
        "mfu": mfu_v,
        "expected_error": err,
        "batch_requested": b,
        "batch": batch_used,
        "batch_capped": batch_used < b,
        "notes": notes,
        "ideal_roofline_j_per_token": float(ideal["energy_per_token_j"]) * pue_s.value,
        "energy_mwh": energy_mwh,
        "co2_t": energy_mwh * grid.value,
        "co2_per_request_g": per_request / 3.6e6 * grid.value * 1000.0,
        "co2_embodied_t": embodied,
        "days": None,
        "estimate": model,
        "cross_check": other,
        "inputs": {
            "params": assumed(total),
            "active_params": assumed(active, USER if active_params is not None else "= params (dense model)"),
            "batch": assumed(b),
            "hardware": assumed(acc.name, f"qscale accelerators.toml [{acc.key}]"),
            "devices": assumed(n_devices),
            "precision": assumed(prec, acc.peak_source),
            "peak_flops_per_device": assumed(peak, acc.peak_source),
            "memory_bandwidth_gb_s": assumed(acc.memory_bandwidth_gb_s, acc.memory_source),
            "power_w": assumed(
                power.value if not calibrated or power_w is not None else None,
                power.source if not calibrated or power_w is not None else "calibrated power model (see estimate)",
            ),
            "mfu": assumed(eff_c, USER)
            if eff_c is not None
            else assumed(None if calibrated else 1.0, "calibrated" if calibrated else "1.0 = ideal roofline"),
            "mbu": assumed(eff_m, USER)
            if eff_m is not None
            else assumed(None if calibrated else 1.0, "calibrated" if calibrated else "1.0 = ideal roofline"),
            "input_tokens": assumed(n_in, in_src),
            "output_tokens": assumed(n_out),
            "context_tokens": assumed(ctx, ctx_src),
            **arch_echo,
            "requests": assumed(n_requests),
            "pue": assumed(pue_s.value, pue_s.source),
            "intensity_kg_per_kwh": assumed(grid.value, grid.source),
        },
    })
