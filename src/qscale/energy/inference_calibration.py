"""The fitted inference parameters and the measurements they were fitted to, looked up by GPU and engine.

Three packaged files, all under qscale/energy/data:
- inference_measurements.json: published ML.ENERGY rows with their provenance and the fit/hold-out split
  (rebuilt by scripts/build_inference_measurements.py);
- inference_models.toml: the architecture (layers, width, KV heads) of each model in those rows;
- inference_calibration.toml: the parameters per GPU and per serving engine, the date and rows of the fit,
  and the errors of every row (written by scripts/fit_inference.py; never edited by hand).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from qscale.energy.data import accelerator
from qscale.energy.inference_crossval import crossval
from qscale.energy.inference_model import (
    BYTES_PER_PARAM,
    KV_BYTES_PER_ELEMENT,
    Architecture,
    EngineFit,
    Estimate,
    HardwareFit,
    estimate,
    serving_peak,
)
from qscale.errors import QscaleUserError

MEASUREMENTS_FILE = "inference_measurements.json"
MODELS_FILE = "inference_models.toml"
CALIBRATION_FILE = "inference_calibration.toml"
HARDWARE_PARAMS = ("static_w", "mem_level", "eta_mem", "eta_att", "eta_cmp")
ENGINE_PARAMS = ("step_s", "layer_s", "seq_s", "allreduce_s")
ENGINES = {
    "vllm": "vLLM 0.11 with asynchronous scheduling (ML.ENERGY Benchmark v3.0, 2025)",
    "vllm-2024": "vLLM 0.4-0.5 (ML.ENERGY Leaderboard v2.0, 2024)",
    "transformers": "PyTorch + Hugging Face transformers generate(), one request at a time (ML.ENERGY 2023)",
    "other": "a serving stack none of the above: the parameters shared by every fitted engine",
}
SHARED_KEY = "shared"
CALIBRATIONS = ("default", "none")


def _data_text(filename: str) -> str:
    return resources.files("qscale.energy").joinpath("data", filename).read_text(encoding="utf-8")


@cache
def measurement_table() -> dict[str, Any]:
    """{"about": provenance, selection and split; "rows": one dict per published configuration}."""
    return json.loads(_data_text(MEASUREMENTS_FILE))


def measurements() -> list[dict[str, Any]]:
    return measurement_table()["rows"]


@cache
def model_architectures() -> dict[str, dict[str, Any]]:
    return tomllib.loads(_data_text(MODELS_FILE))


@dataclass(frozen=True)
class Calibration:
    """Parameters per GPU key and per engine, GPUs that borrow another's, and the stored error summaries."""

    hardware: dict[str, HardwareFit]
    engines: dict[str, EngineFit]
    fallback: dict[str, str]
    errors: dict[str, dict[str, Any]]
    meta: dict[str, Any]
    shared_hardware: HardwareFit | None = None  # static_w as a fraction of TDP
    shared_engine: EngineFit | None = None


def calibration_from_dict(raw: dict[str, Any]) -> Calibration:
    shared = raw.get("shared", {})
    return Calibration(
        shared_hardware=HardwareFit(**{p: float(shared["hardware"][p]) for p in HARDWARE_PARAMS})
        if "hardware" in shared
        else None,
        shared_engine=EngineFit(**{p: float(shared["engine"][p]) for p in ENGINE_PARAMS}, overlap=False)
        if "engine" in shared
        else None,
        hardware={k: HardwareFit(**{p: float(v[p]) for p in HARDWARE_PARAMS}) for k, v in raw["hardware"].items()},
        engines={
            k: EngineFit(**{p: float(v[p]) for p in ENGINE_PARAMS}, overlap=bool(v["overlap"]))
            for k, v in raw["engine"].items()
        },
        fallback=dict(raw.get("fallback", {})),
        errors=dict(raw.get("errors", {})),
        meta=dict(raw.get("meta", {})),
    )


@cache
def calibration() -> Calibration:
    """The packaged calibration (data/inference_calibration.toml)."""
    return calibration_from_dict(tomllib.loads(_data_text(CALIBRATION_FILE)))


# Version names of the same engines: vLLM's 2024 releases (ML.ENERGY v2) and 2025 releases (v3), HF transformers
ENGINE_ALIASES = {"vllm-0.11": "vllm", "vllm-0.5": "vllm-2024", "vllm-0.4": "vllm-2024", "hf": "transformers"}


def check_engine(name: str) -> str:
    """The engine's key in ENGINES (a version alias such as vllm-0.5 resolves to its key)."""
    name = ENGINE_ALIASES.get(name, name)
    if name not in ENGINES:
        known = ", ".join([*ENGINES, *ENGINE_ALIASES])
        raise QscaleUserError(f"unknown --engine {name!r}; known: {known}")
    return name


def check_calibration(name: str) -> str:
    if name not in CALIBRATIONS:
        raise QscaleUserError(f"unknown --calibration {name!r}; known: {', '.join(CALIBRATIONS)}")
    return name


def hardware_fit(cal: Calibration, key: str) -> tuple[HardwareFit, str, str]:
    """(parameters, GPU key they were fitted on, source text) for accelerator `key`."""
    if key in cal.hardware:
        return cal.hardware[key], key, f"fitted to the ML.ENERGY rows on {key} ({CALIBRATION_FILE})"
    if key in cal.fallback:
        other = cal.fallback[key]
        return (
            cal.hardware[other],
            other,
            f"no measurements on {key}: parameters fitted on {other} ({CALIBRATION_FILE})",
        )
    acc = accelerator(key)
    if cal.shared_hardware is not None and acc.kind == "gpu" and acc.tdp_w:
        h = cal.shared_hardware
        return (
            HardwareFit(**{**vars(h), "static_w": h.static_w * acc.tdp_w}),
            SHARED_KEY,
            f"no measurements on {key}: the parameters shared by every calibrated GPU, static power "
            f"{h.static_w:.3g} x TDP ({CALIBRATION_FILE}, [shared.hardware])",
        )
    known = ", ".join(sorted({*cal.hardware, *cal.fallback}))
    raise QscaleUserError(f"no inference calibration for {key} (calibrated: {known}); pass --calibration none")


def engine_fit(cal: Calibration, name: str) -> EngineFit:
    """The engine's own fitted parameters, else (an engine the fit did not see) the shared ones."""
    name = check_engine(name)
    if name in cal.engines:
        return cal.engines[name]
    if cal.shared_engine is None:
        raise QscaleUserError(f"no calibration for --engine {name}")
    return cal.shared_engine


def expected_error(cal: Calibration, fitted_on: str, engine: str) -> dict[str, Any]:
    """The hold-out errors of the matching GPU and engine (at least 3 rows), else of every hold-out row; for a GPU
    or engine with no rows of its own, the leave-one-GPU-type-out or leave-one-release-out cross-validation."""
    if fitted_on == SHARED_KEY or engine not in cal.engines:
        scheme = "leave-one-GPU-type-out" if fitted_on == SHARED_KEY else "leave-one-release-out"
        s = crossval()["summaries"][scheme]["all"]
        return {**s, "basis": f"|error| in the {scheme} cross-validation (parameters shared, not fitted to this setup)"}
    group = cal.errors.get(f"holdout {fitted_on}/{engine}")
    if group and group.get("rows", 0) >= 3:
        return {**group, "basis": f"|error| on the held-out ML.ENERGY rows on {fitted_on} with {engine}"}
    return {**cal.errors["holdout"], "basis": "|error| on every held-out ML.ENERGY row (no group of 3 for this setup)"}


def row_architecture(row: dict[str, Any]) -> Architecture:
    """The architecture of a measurement row's model (inference_models.toml) at the row's weight precision."""
    a = model_architectures()[row["model"]]
    kv = 2.0 * a["layers"] * a["kv_heads"] * a["head_dim"] * KV_BYTES_PER_ELEMENT
    return Architecture(
        params=a["params"],
        active_params=a["params"],
        layers=a["layers"],
        d_model=a["d_model"],
        kv_bytes_per_token=kv,
        bytes_per_param=BYTES_PER_PARAM[row["precision"]],
    )


def predict_row(row: dict[str, Any], cal: Calibration) -> Estimate:
    """The calibrated model's GPU energy for a measurement row, from the row's own settings."""
    acc = accelerator(row["gpu"])
    hw, _, _ = hardware_fit(cal, acc.key)
    peak, _ = serving_peak(acc, row["precision"])
    return estimate(
        row_architecture(row),
        acc,
        peak,
        hw,
        engine_fit(cal, row["engine"]),
        batch=row["avg_batch"],
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        context=row["decode_context_tokens"],
        devices=row["tensor_parallel"],
    )
