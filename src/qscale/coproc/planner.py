"""The offload planner: where should a task's quantum part run, today and in the 2030s and 2040s?

For a task's measured workloads (workloads.py) it prices every platform with the one pricing model
(pricing.py) and decides per row:
- this CPU: the classical best on the same data, measured (the baseline every other row is compared with);
- a GPU: the same classical work projected onto an H100: the part of the CPU time that grows with the data scales
  by the ratio of the two memory bandwidths, the fixed per-round part (Python, small tensors) stays, and each
  dependent round costs at least an assumed 20 us launch-and-sync;
- each QPU modality today (NISQ devices of devices.toml) and the fault-tolerant machines of the 2030s / 2040s.
A row is `offload` only if it fits, takes no longer and no more energy than the CPU, and its quality is within the
task's tolerance of the classical result; otherwise `keep classical` (or `not feasible`) with the reasons.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from qscale.coproc.breakeven import break_even, roadmap_sentence
from qscale.coproc.devices import ERAS, SCENARIOS, Device, devices
from qscale.coproc.pricing import Workload, price_row
from qscale.coproc.workloads import measure, tasks
from qscale.energy.data import accelerator, modalities
from qscale.errors import QscaleUserError

GPU = "H100"
GPU_ROUND_FLOOR_S = 20e-6  # assumed: one kernel launch plus a device sync per dependent round


@cache
def cpu_bandwidth_b_s() -> float:
    """This machine's memory bandwidth (bytes read + written per second), measured with numpy copies."""
    import numpy as np

    a = np.ones(8 * 2**20)  # 64 MiB
    b = np.empty_like(a)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def _quality_ok(q: dict[str, Any], value: float | None) -> tuple[bool | None, str]:
    if value is None:
        return None, "quality not measured"
    gap = (q["classical"] - value) if q["higher_is_better"] else (value - q["classical"])
    text = f"quality {value:.4g} vs classical {q['classical']:.4g} ({q['metric']})"
    return gap <= q.get("tolerance", 0.0) + 1e-12, text


def cpu_row(wl: Workload) -> dict[str, Any]:
    c = wl.classical
    return {"platform": "cpu", "platform_name": "this CPU (classical best on the same data)", "era": "today",
            "kind": "measured", "task": wl.task, "scope": wl.scope, "fits": True, "wall_s": c["seconds"],
            "energy_j": c["energy_j"], "method": c["method"]}  # fmt: skip


def gpu_row(wl: Workload) -> dict[str, Any]:
    acc = accelerator(GPU)
    ratio = cpu_bandwidth_b_s() / (acc.memory_bandwidth_gb_s * 1e9)
    fixed = min(wl.classical.get("fixed_s", wl.classical["seconds"]), wl.classical["seconds"])
    seconds = max(fixed + (wl.classical["seconds"] - fixed) * ratio, wl.iterations * GPU_ROUND_FLOOR_S)
    power = acc.avg_power_w or acc.tdp_w
    assumptions = (
        f"the CPU's per-round fixed time ({fixed:.3g} s: Python, small tensors; all of it where the probe did not "
        f"separate it) stays; the rest is memory-bound and scales by {ratio:.3g} (this CPU's measured copy bandwidth "
        f"/ {acc.memory_bandwidth_gb_s:g} GB/s); at least {GPU_ROUND_FLOOR_S * 1e6:g} us per dependent round "
        f"(assumed); power {power} W ({acc.avg_power_source})"
    )
    return {
        "platform": "gpu", "platform_name": f"{acc.name} (projected classical)", "era": "today", "kind": "projected",
        "task": wl.task, "scope": wl.scope, "fits": True, "wall_s": seconds, "energy_j": seconds * float(power),
        "method": wl.classical["method"], "assumptions": assumptions,
    }  # fmt: skip


def decide(rows: list[dict[str, Any]], wl: Workload) -> None:
    """Fill decision and reason on every row, against the CPU row."""
    base = next(r for r in rows if r["platform"] == "cpu")
    for r in rows:
        if r is base:
            r["quality"] = {"value": wl.quality["classical"], "metric": wl.quality["metric"], "kind": "measured"}
            r["decision"], r["reason"] = "baseline", "the classical best on this CPU, measured"
            continue
        quantum = r["platform"] not in ("cpu", "gpu")
        value = wl.quality["quantum"] if quantum else wl.quality["classical"]
        kind = wl.quality["kind"] if quantum else "as the CPU (same algorithm)"
        noisy = wl.quality.get("noisy")
        if noisy and noisy["device"] == r["platform"]:
            value, kind = noisy["value"], noisy["kind"]
        r["quality"] = {"value": value, "metric": wl.quality["metric"], "kind": kind,
                        **({"fidelity_estimate": r.get("fidelity_estimate"), "note": wl.quality["note"]}
                           if quantum else {})}  # fmt: skip
        if not r["fits"]:
            r["decision"] = "not feasible"
            r.setdefault("wall_s", None)
            r.setdefault("energy_j", None)
            continue
        slower, costlier = r["wall_s"] / base["wall_s"], r["energy_j"] / base["energy_j"]
        ok, qtext = _quality_ok(wl.quality, value)
        good = slower <= 1 and costlier <= 1 and ok is not False
        reasons = [f"{slower:.3g}x the CPU's wall time", f"{costlier:.3g}x its energy"]
        if quantum:
            reasons.append(qtext)
            if wl.quality.get("random_guess") is not None:
                reasons.append(f"uniform random guesses with the same shots score {wl.quality['random_guess']:.3g}")
        if good and ok is None:
            r["decision"] = "undecided"
            reasons.append("offload only once its quality is measured")
        else:
            r["decision"] = "offload" if good else "keep classical"
        r["reason"] = "; ".join(reasons)


def device_table(extra: dict[str, Device] | None = None) -> dict[str, Device]:
    """The built-in devices with a user's devices file on top (same key: the user's entry replaces it)."""
    return devices() | (extra or {})


def rows_for(wl: Workload, eras: list[str], modality: str | None, scenario: str,
             table: dict[str, Device] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    rows = [cpu_row(wl), gpu_row(wl)] if "today" in eras else [cpu_row(wl)]
    priced: list[tuple[Device, dict[str, Any]]] = []
    for dev in (table or devices()).values():
        if dev.era not in eras or (modality is not None and dev.modality != modality):
            continue
        priced.append((dev, price_row(dev, wl, scenario)))
    rows += [r for _, r in priced]
    decide(rows, wl)
    for dev, r in priced:
        r["break_even"] = break_even(dev, wl, r, rows[0], scenario)
    compact = {k: getattr(wl, k) for k in ("qubits", "two_qubit_depth", "shots", "circuits_per_iteration",
                                           "iterations")} | {"circuits": wl.circuits, "scope": wl.scope}  # fmt: skip
    for r in rows:
        r["workload"] = compact
    return rows


def check(task: str, era: str | None, modality: str | None, scenario: str) -> list[str]:
    """Validate the options before any probe runs; returns the eras to price."""
    if task not in tasks():
        raise QscaleUserError(f"unknown task {task!r}; known: {', '.join(tasks())}")
    if era is not None and era not in ERAS:
        raise QscaleUserError(f"unknown era {era!r}; known: {', '.join(ERAS)}")
    if modality is not None and modality not in modalities():
        raise QscaleUserError(f"unknown modality {modality!r}; known: {', '.join(modalities())}")
    if scenario not in SCENARIOS:
        raise QscaleUserError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    return [era] if era else list(ERAS)


def plan(task: str, era: str | None = None, modality: str | None = None, scenario: str = "typical",
         extra_devices: dict[str, Device] | None = None) -> dict[str, Any]:  # fmt: skip
    """Rows (one per platform, era and workload scope) with time, energy, quality, decision, reason and the
    break-even requirements of each QPU row; `extra_devices` (a devices file) adds or replaces device models."""
    eras = check(task, era, modality, scenario)
    t0 = time.perf_counter()
    workloads = measure(task)
    table = device_table(extra_devices)
    rows = [r for wl in workloads for r in rows_for(wl, eras, modality, scenario, table)]
    widest = [r for r in rows if r["scope"] == rows[-1]["scope"]]
    return {
        "task": task,
        "description": tasks()[task].description,
        "eras": eras,
        "modality": modality,
        "scenario": scenario,
        "workloads": [wl.as_dict() for wl in workloads],
        "rows": rows,
        "offload": [f"{r['scope']}: {r['platform']} ({r['era']})" for r in rows if r["decision"] == "offload"],
        "requirement": roadmap_sentence(task, widest, table),
        "devices_file": sorted(extra_devices) if extra_devices else None,
        "kinds": {
            "cpu": "measured",
            "gpu": "projected",
            "qpu": "projected (device models in coproc/devices.toml; fault-tolerant runs from qscale.energy.ft)",
            "workload": "measured from qscale's own run, scaled",
            "quality": "simulated (exact) unless a row says otherwise",
        },
        "notes": [
            "No figure here is a quantum speedup: the quantum rows are projections from device models, the CPU row "
            "is a measurement of the classical method on this (shared) machine.",
            "wall_s includes queue, job overheads and one network round trip per dependent round; energy_j is the "
            "QPU's power at the job's qubits over its device time plus the host's work at one core's power.",
        ],
        "seconds": time.perf_counter() - t0,
    }
