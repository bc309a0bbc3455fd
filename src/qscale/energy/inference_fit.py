"""Fit the inference model's free parameters to the published measurements, and score every row.

Objective (scipy.optimize.least_squares, parameters in log space within physical bounds):
- log(predicted / measured) energy per output token for every fit row;
- 0.3 × log(predicted / measured) average power where the row gives power (v3 and v1), so the fit splits
  energy into time and power the way the GPUs did, not only in the product;
- weak priors, 0.3 × (log θ − log θ₀) / σ, that keep parameters with little data near typical values
  (V100 and A40 have only batch-1 rows, so their compute efficiency is barely constrained).
Hold-out rows (whole models, listed in the measurement file) are never seen by the fit.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from qscale.energy.data import accelerator
from qscale.energy.inference_calibration import (
    ENGINE_PARAMS,
    HARDWARE_PARAMS,
    Calibration,
    predict_row,
    row_architecture,
)
from qscale.energy.inference_crossval import summarize
from qscale.energy.inference_model import EngineFit, HardwareFit, ideal_roofline

POWER_WEIGHT = 0.3
PRIOR_WEIGHT = 0.3
FALLBACK = {"H200": "H100", "A100-80": "A100-40"}  # same die / same generation, no measurements of their own
SHARED, SHARED_ENGINE = "shared", "shared-engine"  # keys of the shared (all-GPU, all-engine) parameters
# How far one GPU's (index 0) or one engine's (index 1) parameter may stray from the shared value: the σ of
# its log-factor's penalty. GPUs differ less than serving stacks (HF transformers at batch 1 spends ~5x
# vLLM's CPU time per step), hence the wider engine σ.
OFFSET_SIGMA = (0.3, 1.0)
OFFSET_BOUND = 3.0  # |δ| at most 3 (a factor 20) in log
# (centre, log-space sigma, basis) of the shared parameters; static power's centre is a fraction of TDP
PRIORS: dict[str, tuple[float, float, str]] = {
    "static_w": (0.2, 0.5, "20 % of TDP (assumed; qscale measured 132 W idle on an H100, 19 %)"),
    "mem_level": (0.6, 0.5, "assumed: memory-bound kernels draw ~60 % of the dynamic power range"),
    "eta_mem": (0.7, 0.5, "assumed: weight streaming at ~70 % of peak bandwidth"),
    "eta_att": (0.6, 0.7, "assumed: paged attention at ~60 % of peak bandwidth"),
    "eta_cmp": (0.5, 0.7, "assumed: decode GEMMs at ~50 % of peak FLOP/s"),
    "step_s": (1e-3, 3.0, "assumed: ~1 ms of CPU work per step"),
    "layer_s": (1e-5, 3.0, "assumed: ~10 µs of kernel launches per layer"),
    "seq_s": (1e-5, 3.0, "assumed: ~10 µs of scheduling and sampling per sequence"),
    "allreduce_s": (1e-5, 2.0, "assumed: ~10 µs latency of a small NVLink all-reduce"),
}


def _prior_centre(name: str) -> float:
    """Centre of the prior on a shared parameter (static power as a fraction of TDP)."""
    return PRIORS[name][0]


def _bounds(name: str) -> tuple[float, float]:
    if name == "static_w":  # a fraction of TDP
        return math.log(0.03), math.log(0.9)
    if name in ENGINE_PARAMS:
        return math.log(1e-9), 0.0
    return math.log(0.02), 0.0


def _tdp(gpu: str) -> float:
    return accelerator(gpu).tdp_w or 1.0


def fit(
    rows: list[dict[str, Any]], x0: dict[tuple[str, str], float] | None = None
) -> tuple[Calibration, dict[str, Any]]:
    """Calibration fitted to `rows` (the caller passes the fit split), and facts about the fit.

    Hierarchical: each parameter is a shared value (one per parameter for all GPUs, one for all engines) times
    a per-GPU or per-engine factor exp(δ), with δ pulled towards 0 (σ = OFFSET_SIGMA). A GPU or engine the
    rows do not cover gets the shared values: that is what the leave-one-GPU-out and leave-one-release-out
    cross-validation tests. `x0` (the `facts["x"]` of an earlier fit) starts the search there.
    """
    from scipy.optimize import least_squares

    gpus = sorted({r["gpu"] for r in rows})
    engines = sorted({r["engine"] for r in rows})
    names = (
        [(SHARED, p) for p in HARDWARE_PARAMS]
        + [(SHARED_ENGINE, p) for p in ENGINE_PARAMS]
        + [(g, p) for g in gpus for p in HARDWARE_PARAMS]
        + [(e, p) for e in engines for p in ENGINE_PARAMS]
    )
    shared = {SHARED, SHARED_ENGINE}
    lo, hi = zip(*((*_bounds(p),) if k in shared else (-OFFSET_BOUND, OFFSET_BOUND) for k, p in names), strict=True)
    start = np.array([
        (x0 or {}).get((k, p), math.log(_prior_centre(p)) if k in shared else 0.0) for k, p in names
    ])  # fmt: skip
    index = {kp: i for i, kp in enumerate(names)}

    def unpack(x: np.ndarray) -> Calibration:
        def hw(g: str | None) -> HardwareFit:
            v = {p: x[index[(SHARED, p)]] + (x[index[(g, p)]] if g else 0.0) for p in HARDWARE_PARAMS}
            return HardwareFit(**{p: float(math.exp(v[p])) for p in HARDWARE_PARAMS})

        def eng(e: str | None) -> EngineFit:
            v = {p: x[index[(SHARED_ENGINE, p)]] + (x[index[(e, p)]] if e else 0.0) for p in ENGINE_PARAMS}
            return EngineFit(**{p: float(math.exp(v[p])) for p in ENGINE_PARAMS}, overlap=False)

        hardware = {g: hw(g) for g in gpus}
        hardware = {g: HardwareFit(**{**vars(h), "static_w": h.static_w * _tdp(g)}) for g, h in hardware.items()}
        return Calibration(
            hardware=hardware,
            engines={e: eng(e) for e in engines},
            fallback={},
            errors={},
            meta={},
            shared_hardware=hw(None),
            shared_engine=eng(None),
        )

    def residuals(x: np.ndarray) -> np.ndarray:
        cal = unpack(x)
        out = []
        for r in rows:
            est = predict_row(r, cal)
            out.append(math.log(est.energy_per_token_j / r["measured_j_per_token"]))
            if r.get("measured_power_w"):
                power = est.step.power_w_per_device * r["tensor_parallel"]
                out.append(POWER_WEIGHT * math.log(power / r["measured_power_w"]))
        for (k, p), v in zip(names, x, strict=True):
            if k in shared:
                out.append(PRIOR_WEIGHT * (v - math.log(_prior_centre(p))) / PRIORS[p][1])
            else:
                out.append(PRIOR_WEIGHT * v / OFFSET_SIGMA[p in ENGINE_PARAMS])
        return np.array(out)

    sol = least_squares(residuals, np.clip(start, lo, hi), bounds=(lo, hi))
    cal = unpack(sol.x)
    facts = {
        "cost": float(sol.cost),
        "nfev": int(sol.nfev),
        "status": int(sol.status),
        "parameters": len(names),
        "x": {kp: float(v) for kp, v in zip(names, sol.x, strict=True)},
    }
    return cal, facts


def _ideal_j_per_token(row: dict[str, Any]) -> float:
    """The uncalibrated roofline at TDP (what `--calibration none` gives) for a measurement row."""
    acc = accelerator(row["gpu"])
    peak, _ = acc.peak(row["precision"] if row["precision"] in acc.peak_flops else None)
    est = ideal_roofline(
        row_architecture(row),
        acc,
        peak,
        batch=row["avg_batch"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        context=row["decode_context_tokens"],
        devices=row["tensor_parallel"],
        power_w=acc.tdp_w or 0.0,
    )
    return float(est["energy_per_request_j"]) / row["output_tokens"]


def row_errors(cal: Calibration, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with the calibrated prediction, its error, and the ideal roofline's error beside it."""
    out = []
    for r in rows:
        est = predict_row(r, cal)
        ideal = _ideal_j_per_token(r)
        power = est.step.power_w_per_device * r["tensor_parallel"]
        out.append({
            **r,
            "predicted_j_per_token": est.energy_per_token_j,
            "error": est.energy_per_token_j / r["measured_j_per_token"] - 1.0,
            "predicted_power_w": power,
            "power_error": power / r["measured_power_w"] - 1.0 if r.get("measured_power_w") else None,
            "bound": est.step.bound,
            "mbu": est.step.mbu,
            "mfu": est.step.mfu,
            "ideal_j_per_token": ideal,
            "ideal_error": ideal / r["measured_j_per_token"] - 1.0,
        })  # fmt: skip
    return out


def error_summaries(scored: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Summaries for the fit and hold-out splits, per GPU/engine group, and for the ideal roofline."""
    out: dict[str, dict[str, Any]] = {}
    for split in ("fit", "holdout"):
        part = [r for r in scored if r["split"] == split]
        out[split] = summarize([r["error"] for r in part])
        for key in sorted({(r["gpu"], r["engine"]) for r in part}):
            group = [r["error"] for r in part if (r["gpu"], r["engine"]) == key]
            out[f"{split} {key[0]}/{key[1]}"] = summarize(group)
    out["all"] = summarize([r["error"] for r in scored])
    out["ideal_roofline"] = {
        **summarize([r["ideal_error"] for r in scored]),
        "median_signed": round(float(np.median([r["ideal_error"] for r in scored])), 4),
        "under": int(sum(r["ideal_error"] < 0 for r in scored)),
    }
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(float(f"{v:.6g}"))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def _table(parts: tuple[str, ...], values: dict[str, Any]) -> list[str]:
    key = ".".join(p if all(c.isalnum() or c in "_-" for c in p) else _toml_value(p) for p in parts)
    return [f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in values.items()), ""]


def calibration_toml(cal: Calibration, facts: dict[str, Any], rows: list[dict[str, Any]], scored: list) -> str:
    """The calibration file: parameters, fallbacks, the fit's date, rows and objective, and error summaries."""
    fit_ids = [r["id"] for r in rows if r["split"] == "fit"]
    holdout_ids = [r["id"] for r in rows if r["split"] == "holdout"]
    lines = [
        "# qscale inference calibration: written by scripts/fit_inference.py, never edited by hand.",
        "# Parameters of qscale.energy.inference_model per GPU ([hardware.*]) and per serving engine ([engine.*]),",
        "# fitted to the 'fit' rows of inference_measurements.json; [errors.*] summarise |predicted/measured - 1|.",
        "",
    ]
    meta = {
        "fitted_on": dt.date.today().isoformat(),
        "data": "inference_measurements.json",
        "rows_fit": fit_ids,
        "rows_holdout": holdout_ids,
        "objective": "least squares on log(predicted/measured) J per output token, plus "
        f"{POWER_WEIGHT} x log power where measured, plus weak log-space priors (weight {PRIOR_WEIGHT})",
        "priors": "; ".join(f"{k}: {v[2]} (sigma {v[1]} in log)" for k, v in PRIORS.items()),
        "hierarchy": f"per-GPU and per-engine log-factors on shared parameters, penalised with sigma "
        f"{OFFSET_SIGMA[0]} (GPU) and {OFFSET_SIGMA[1]} (engine), weight {PRIOR_WEIGHT}",
        **{k: v for k, v in facts.items() if k != "x"},
    }
    lines += _table(("meta",), meta)
    for g, hw in cal.hardware.items():
        n = sum(1 for r in rows if r["gpu"] == g and r["split"] == "fit")
        lines += _table(("hardware", g), {**{p: getattr(hw, p) for p in HARDWARE_PARAMS}, "fit_rows": n})
    for e, en in cal.engines.items():
        n = sum(1 for r in rows if r["engine"] == e and r["split"] == "fit")
        lines += _table(
            ("engine", e), {**{p: getattr(en, p) for p in ENGINE_PARAMS}, "overlap": en.overlap, "fit_rows": n}
        )
    if cal.shared_hardware is not None and cal.shared_engine is not None:
        lines += _table(("shared", "hardware"), {p: getattr(cal.shared_hardware, p) for p in HARDWARE_PARAMS})
        lines += _table(("shared", "engine"), {p: getattr(cal.shared_engine, p) for p in ENGINE_PARAMS})
    lines += _table(("fallback",), {k: v for k, v in FALLBACK.items() if v in cal.hardware})
    for k, v in error_summaries(scored).items():
        lines += _table(("errors", k), v)
    return "\n".join(lines)
