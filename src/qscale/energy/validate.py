"""qscale's energy estimates beside published figures (data/validation.toml), as rows and Markdown tables.

`qscale energy validate` and `docs/energy_validation.py` both call `validation_rows()` / `markdown()`, so the
tables in docs/energy.md are regenerated, never hand-typed.
"""

from __future__ import annotations

from typing import Any

from qscale.energy.data import accelerator, validation_data
from qscale.energy.ft import estimate_ft
from qscale.energy.inference_calibration import calibration, measurement_table, measurements
from qscale.energy.inference_crossval import GOAL
from qscale.energy.inference_crossval import markdown as crossval_markdown
from qscale.energy.inference_fit import error_summaries, row_errors
from qscale.energy.qpu import qpu_job
from qscale.energy.training import train_from_compute, train_from_device_hours
from qscale.io import Result
from qscale.markdown import markdown_table


def _err(estimate: float | None, published: float | None) -> float | None:
    if estimate is None or published is None or published == 0:
        return None
    return estimate / published - 1.0


def _training(row: dict[str, Any]) -> dict[str, Any]:
    common = {"pue": row["pue"], "intensity": row["intensity"], "avg_power_w": row.get("avg_power_w")}
    if row["form"] == "compute":
        est = train_from_compute(
            params=row["params"],
            active_params=row.get("active_params"),
            tokens=row["tokens"],
            hardware=row["hardware"],
            devices=row["devices"],
            hw_efficiency=row["hw_efficiency"],
            **common,
        ).report
    else:
        est = train_from_device_hours(device_hours=row["device_hours"], hardware=row.get("hardware"), **common).report
    return {
        "name": row["name"],
        "form": row["form"],
        "energy_mwh": est["energy_mwh"],
        "published_mwh": row.get("published_mwh"),
        "energy_error": _err(est["energy_mwh"], row.get("published_mwh")),
        "co2_t": est["co2_t"],
        "published_co2_t": row.get("published_co2_t"),
        "co2_error": _err(est["co2_t"], row.get("published_co2_t")),
        "device_hours": est["device_hours"],
        "published_device_hours": row.get("published_device_hours"),
        "device_hours_error": _err(est["device_hours"], row.get("published_device_hours")),
        "co2_embodied_t": est["co2_embodied_t"],
        "published_embodied_t": row.get("published_embodied_t"),
        "embodied_error": _err(est["co2_embodied_t"], row.get("published_embodied_t")),
        "source": row["source"],
        "assumed": row.get("assumed"),
        "note": row.get("note"),
    }


def inference_rows() -> list[dict[str, Any]]:
    """Every packaged ML.ENERGY measurement with the calibrated prediction and the ideal roofline's beside it."""
    return row_errors(calibration(), measurements())


def _qpu(row: dict[str, Any]) -> dict[str, Any]:
    job = qpu_job(row["modality"], row["qubits"], row["two_qubit_depth"], row["shots"]).report
    p_lo, p_hi = row["published_power_w_low"], row["published_power_w_high"]
    pub_s = row.get("published_seconds")
    pub_kwh = (p_lo * pub_s / 3.6e6, p_hi * pub_s / 3.6e6) if pub_s else None
    mid_kwh = sum(pub_kwh) / 2 if pub_kwh else None
    return {
        "name": row["name"],
        "modality": job["modality"],
        "seconds": job["seconds"] if pub_s else None,
        "published_seconds": pub_s,
        "seconds_error": _err(job["seconds"]["typical"], pub_s),
        "power_w": job["power_w"],
        "published_power_w": [p_lo, p_hi],
        "power_error": _err(job["power_w"]["typical"], (p_lo + p_hi) / 2),
        "energy_kwh": job["energy_kwh"] if pub_s else None,
        "published_energy_kwh": list(pub_kwh) if pub_kwh else None,
        "energy_error": _err(job["energy_kwh"]["typical"], mid_kwh) if pub_s else None,
        "source": row["source"],
        "note": row.get("note"),
    }


def _ft(row: dict[str, Any]) -> dict[str, Any]:
    est = estimate_ft(
        qubit_model_name=row["qubit_model"],
        qec=row.get("qec", "surface_code"),
        logical_qubits=row["logical_qubits"],
        t_count=row.get("t_count", 0),
        rotation_count=row.get("rotation_count", 0),
        logical_depth=row.get("logical_depth"),
        target_per_cycle=row.get("target_per_cycle"),
    ).to_json()
    return {
        "name": row["name"],
        "qubit_model": row["qubit_model"],
        "code_distance": est["code_distance"],
        "published_code_distance": row.get("published_code_distance"),
        "qubits_per_logical": est["physical_qubits_per_logical_qubit"],
        "published_qubits_per_logical": row.get("published_qubits_per_logical"),
        "physical_qubits": est["physical_qubits"],
        "t_factories": est["t_factories"],
        "runtime_s": est["runtime_s"],
        "energy_kwh": est["energy_kwh"],
        "modality": est["modality"],
        "source": row["source"],
    }


class ValidationResult(Result):
    """The `qscale energy validate` JSON: every published figure beside qscale's estimate, per area."""


def validation_rows() -> ValidationResult:
    data = validation_data()
    return ValidationResult({
        "training": [_training(r) for r in data["training"]],
        "inference": inference_rows(),
        "qpu": [_qpu(r) for r in data["qpu"]],
        "ft": [_ft(r) for r in data["ft"]],
    })  # fmt: skip


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _num(x: float | None, fmt: str = ".4g") -> str:
    return "n/a" if x is None else format(x, fmt)


def _rng(d: dict[str, float], fmt: str = ".3g") -> str:
    return f"{format(d['typical'], fmt)} ({format(d['low'], fmt)}-{format(d['high'], fmt)})"


def markdown(rows: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """The four validation tables, with each row's source in a numbered note under its table."""
    rows = rows or validation_rows().to_json()
    out: list[str] = []

    cells, notes = [], []
    for i, r in enumerate(rows["training"], 1):
        cells.append([
            i, r["name"], r["form"], _num(r["published_mwh"]), _num(r["energy_mwh"]), _pct(r["energy_error"]),
            _num(r["published_co2_t"]), _num(r["co2_t"]), _pct(r["co2_error"]), _num(r["published_device_hours"]),
            _num(r["device_hours"]), _pct(r["device_hours_error"]),
        ])
        extra = "; ".join(x for x in (r.get("assumed"), r.get("note")) if x)
        emb = ""
        if r["published_embodied_t"] is not None:
            emb = (
                f" Embodied: published {r['published_embodied_t']} t, qscale {_num(r['co2_embodied_t'])} t "
                f"({_pct(r['embodied_error'])})."
            )
        notes.append(f"{i}. {r['source']}." + (f" Assumed/note: {extra}." if extra else "") + emb)
    headers = [
        "#", "model", "form", "MWh published", "MWh qscale", "error", "tCO2e published", "tCO2e qscale", "error",
        "GPU-h published", "GPU-h qscale", "error",
    ]
    out += ["### Training (published vs qscale)", "", markdown_table(headers, cells), "", *notes, ""]

    out += inference_markdown(rows["inference"])

    cells, notes = [], []
    for i, r in enumerate(rows["qpu"], 1):
        kw = {k: v / 1e3 for k, v in r["power_w"].items()}
        pub_kw = "-".join(f"{p / 1e3:g}" for p in dict.fromkeys(r["published_power_w"]))
        pub_kwh = "-".join(f"{x:.3g}" for x in r["published_energy_kwh"]) if r["published_energy_kwh"] else "n/a"
        cells.append([
            i, r["name"], _num(r["published_seconds"]), _rng(r["seconds"]) if r["seconds"] else "n/a",
            _pct(r["seconds_error"]), pub_kw, _rng(kw), _pct(r["power_error"]), pub_kwh,
            _rng(r["energy_kwh"]) if r["energy_kwh"] else "n/a", _pct(r["energy_error"]),
        ])
        notes.append(f"{i}. {r['source']}." + (f" Note: {r['note']}." if r.get("note") else ""))
    headers = [
        "#", "case", "seconds published", "seconds qscale", "error", "kW published", "kW qscale", "error",
        "kWh published", "kWh qscale", "error",
    ]
    out += ["### Quantum processors (published vs qscale; typical (low-high))", "", markdown_table(headers, cells), ""]
    out += [*notes, ""]

    cells, notes = [], []
    for i, r in enumerate(rows["ft"], 1):
        cells.append([
            i, r["name"], _num(r["published_code_distance"]), r["code_distance"],
            _num(r["published_qubits_per_logical"]), r["qubits_per_logical"], f"{r['physical_qubits']:,}",
            r["t_factories"], f"{r['runtime_s']:.4g}", _rng(r["energy_kwh"]),
        ])
        notes.append(f"{i}. {r['source']} (energy: {r['modality']} power model).")
    headers = [
        "#", "case", "d published", "d qscale", "phys/logical published", "phys/logical qscale", "physical qubits",
        "T factories", "runtime (s)", "kWh typical (low-high)",
    ]
    out += ["### Fault-tolerant estimates", "", markdown_table(headers, cells), "", *notes]
    return "\n".join(out) + "\n"


SOURCE_LABELS = {"v3": "ML.ENERGY v3 (2025)", "v2": "ML.ENERGY v2 (2024)", "v1": "ML.ENERGY v1 (2023)"}


def _summary_cells(name: str, s: dict[str, Any]) -> list[Any]:
    return [name, s["rows"], f"{s['median_abs']:.1%}", f"{s['p90_abs']:.1%}", f"{s['max_abs']:.1%}", s["over_goal"]]


def inference_markdown(scored: list[dict[str, Any]]) -> list[str]:
    """The inference validation: error summaries, then every row with its source file and split."""
    about = measurement_table()["about"]
    cal = calibration()
    summ = error_summaries(scored)
    out = ["### Inference, GPU J per output token (ML.ENERGY measurements vs qscale's calibrated model)", ""]
    out += [
        f"Calibration fitted on {cal.meta['fitted_on']} to the {summ['fit']['rows']} fit rows; the "
        f"{summ['holdout']['rows']} hold-out rows are whole models the fit never saw "
        f"({', '.join(about['holdout_models'])}). "
        f"Goal: every row within {GOAL:.0%}, median |error| at most 10 %, in-sample and held-out.",
        "",
        markdown_table(
            ["rows", "count", "median abs error", "90th percentile", "max", "over 25 %"],
            [
                _summary_cells("in-sample (fit)", summ["fit"]),
                _summary_cells("held-out", summ["holdout"]),
                _summary_cells("all", summ["all"]),
                _summary_cells("ideal roofline at TDP (`--calibration none`), all rows", summ["ideal_roofline"]),
            ],
        ),
        "",
        *crossval_markdown(),
        "Held-out errors per GPU and engine (the `expected_error` that `qscale energy infer` reports):",
        "",
        markdown_table(
            ["GPU / engine", "count", "median", "90th percentile", "max", "over 25 %"],
            [_summary_cells(k.removeprefix("holdout "), v) for k, v in summ.items() if k.startswith("holdout ")],
        ),
        "",
        f"Fitted parameters ({cal.meta['parameters']} in all; `data/inference_calibration.toml`, rows per GPU "
        "and engine in brackets):",
        "",
    ]
    hw_rows = []
    for key, hw in cal.hardware.items():
        tdp = accelerator(key).tdp_w or 1.0
        n = sum(1 for r in scored if r["gpu"] == key and r["split"] == "fit")
        hw_rows.append([f"{key} ({n})", f"{hw.static_w:.0f} ({hw.static_w / tdp:.0%})", f"{hw.mem_level:.2f}",
                        f"{hw.eta_mem:.2f}", f"{hw.eta_att:.2f}", f"{hw.eta_cmp:.2f}"])  # fmt: skip
    if cal.shared_hardware is not None:
        sh = cal.shared_hardware
        hw_rows.append(["shared (any other NVIDIA GPU)", f"{sh.static_w:.0%} of TDP", f"{sh.mem_level:.2f}",
                        f"{sh.eta_mem:.2f}", f"{sh.eta_att:.2f}", f"{sh.eta_cmp:.2f}"])  # fmt: skip
    out.append(markdown_table(
        ["GPU", "static W (share of TDP)", "memory-bound power level", "η weights", "η attention", "η compute"], hw_rows
    ))  # fmt: skip
    engine_rows = []
    for key, en in cal.engines.items():
        n = sum(1 for r in scored if r["engine"] == key and r["split"] == "fit")
        engine_rows.append([f"{key} ({n})", f"{en.step_s * 1e3:.3g} ms", f"{en.layer_s * 1e6:.3g} µs",
                            f"{en.seq_s * 1e6:.3g} µs", f"{en.allreduce_s * 1e6:.3g} µs"])  # fmt: skip
    if cal.shared_engine is not None:
        se = cal.shared_engine
        engine_rows.append(["shared (`--engine other`)", f"{se.step_s * 1e3:.3g} ms", f"{se.layer_s * 1e6:.3g} µs",
                            f"{se.seq_s * 1e6:.3g} µs", f"{se.allreduce_s * 1e6:.3g} µs"])  # fmt: skip
    out += ["", markdown_table(
        ["engine", "per step", "per layer per step", "per sequence per step", "per all-reduce"], engine_rows
    )]  # fmt: skip
    fallback = ", ".join(f"{k} uses {v}'s" for k, v in cal.fallback.items())
    out += [
        "",
        f"GPUs without measurements borrow a measured one's parameters ({fallback}); other NVIDIA GPUs get the "
        "shared parameters; TPUs have no calibration and need `--calibration none`.",
        "",
        "Sources: v3 = github.com/ml-energy/leaderboard at commit "
        f"{next(r['commit'] for r in scored if r['source'] == 'v3')[:12]} (vLLM 0.11); v2 and v1 = "
        "github.com/ml-energy/leaderboard-v2 at commit "
        f"{next(r['commit'] for r in scored if r['source'] != 'v3')[:12]} (v2: vLLM 0.4-0.5; v1: HF transformers, "
        "batch 1). Full commits, the configuration entry of each row and the assumed prompt lengths are in "
        "`src/qscale/energy/data/inference_measurements.json`. Power: all GPUs of the row together, measured "
        "(v3 avg_power_watts; v1 energy/latency) vs qscale's power model.",
        "",
    ]
    row_cells = []
    for r in scored:
        power = f"{r['measured_power_w']:.0f}" if r["measured_power_w"] else "n/a"
        row_cells.append([
            r["id"], r["model"], f"{r['gpu']} x {r['tensor_parallel']}", r["engine"], r["task"],
            f"{r['avg_batch']:.0f} / {r['max_batch']}", f"{r['output_tokens']:.0f}", f"{r['measured_j_per_token']:.4g}",
            f"{r['predicted_j_per_token']:.4g}", _pct(r["error"]), _pct(r["ideal_error"]), power,
            f"{r['predicted_power_w']:.0f}", r["split"], f"{r['source']}: `{r['path']}`",
        ])  # fmt: skip
    out.append(markdown_table(
        ["id", "model", "GPU x n", "engine", "task", "batch (avg / max)", "output tokens", "J/token measured",
         "J/token qscale", "error", "ideal roofline error", "W measured", "W qscale", "split", "source file"],
        row_cells,
    ))  # fmt: skip
    misses = [r for r in scored if abs(r["error"]) > GOAL]
    out += [
        "",
        f"Rows outside {GOAL:.0%}: " + (", ".join(f"{r['id']} ({_pct(r['error'])})" for r in misses) or "none"),
        "",
    ]
    return out
