"""qscale's energy estimates beside published figures (data/validation.toml), as rows and Markdown tables.

`qscale energy validate` and `docs/energy_validation.py` both call `validation_rows()` / `markdown()`, so the
tables in docs/energy.md are regenerated, never hand-typed.
"""

from __future__ import annotations

from typing import Any

from qscale.energy.data import validation_data
from qscale.energy.ft import estimate_ft
from qscale.energy.inference import infer
from qscale.energy.qpu import qpu_job
from qscale.energy.training import train_from_compute, train_from_device_hours
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
        )
    else:
        est = train_from_device_hours(device_hours=row["device_hours"], hardware=row.get("hardware"), **common)
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


def _inference(row: dict[str, Any]) -> list[dict[str, Any]]:
    base = {"params": row["params"], "batch": row["batch"], "hardware": row["hardware"], "pue": 1.0, "intensity": 0}
    variants = [
        ("roofline, weights only", infer(**base, method="roofline")),
        (
            f"roofline, KV cache at {row['context_tokens']} tokens",
            infer(
                **base,
                method="roofline",
                context_tokens=row["context_tokens"],
                kv_bytes_per_token=row["kv_bytes_per_token"],
            ),
        ),
        ("EcoLogits fit", infer(**base, method="ecologits")),
    ]
    return [
        {
            "name": row["name"],
            "model": label,
            "j_per_token": est["energy_per_token_j"],
            "published_j_per_token": row["published_j_per_token"],
            "error": _err(est["energy_per_token_j"], row["published_j_per_token"]),
            "bound": est["estimate"].get("bound"),
            "fits_in_memory": est["estimate"].get("fits_in_memory"),
            "source": row["source"],
            "assumed": row.get("assumed"),
        }
        for label, est in variants
    ]


def _qpu(row: dict[str, Any]) -> dict[str, Any]:
    job = qpu_job(row["modality"], row["qubits"], row["two_qubit_depth"], row["shots"])
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
    )
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


def validation_rows() -> dict[str, list[dict[str, Any]]]:
    data = validation_data()
    return {
        "training": [_training(r) for r in data["training"]],
        "inference": [x for r in data["inference"] for x in _inference(r)],
        "qpu": [_qpu(r) for r in data["qpu"]],
        "ft": [_ft(r) for r in data["ft"]],
    }


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _num(x: float | None, fmt: str = ".4g") -> str:
    return "n/a" if x is None else format(x, fmt)


def _rng(d: dict[str, float], fmt: str = ".3g") -> str:
    return f"{format(d['typical'], fmt)} ({format(d['low'], fmt)}-{format(d['high'], fmt)})"


def markdown(rows: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """The four validation tables, with each row's source in a numbered note under its table."""
    rows = rows or validation_rows()
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

    cells, notes = [], []
    for i, r in enumerate(rows["inference"], 1):
        fits = "n/a" if r["fits_in_memory"] is None else r["fits_in_memory"]
        cells.append([
            i, r["name"], r["model"], f"{r['published_j_per_token']:.3f}", f"{r['j_per_token']:.3f}",
            _pct(r["error"]), r["bound"] or "n/a", fits,
        ])
        notes.append(f"{i}. {r['source']}. Assumed: {r['assumed']}.")
    headers = ["#", "case", "qscale model", "published", "qscale", "error", "bound", "fits in memory"]
    out += ["### Inference, J per output token (published vs qscale)", "", markdown_table(headers, cells), ""]
    out += [*notes, ""]

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
