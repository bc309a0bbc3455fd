"""`run_outlook`: the Monte Carlo over the scenario ranges, summarised as percentiles per year.

Every figure it returns is `projected`; the ranges it drew from are echoed with their sources (`assumed`).

The futures are simulated chunk by chunk (`simulate_chunk`, sampling.CHUNK_SAMPLES futures each), the per-sample
arrays joined in chunk order, and only then summarised. The serial run maps the chunks in this process; a
parallel run hands the same chunks to Ray (`map_chunks`), so both join the same arrays and give the same
statistics, bit for bit, for a given seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qscale.io import Result
from qscale.outlook import DEFAULT_YEARS
from qscale.outlook.campus import OPTIONS, campus_year
from qscale.outlook.sampling import check_samples_seed, chunks, draw
from qscale.outlook.scenarios import Scenarios, check_years, load_scenarios
from qscale.outlook.tasks import task_year
from qscale.progress import track

PERCENTILES = (5, 25, 50, 75, 95)
CAMPUS_FIELDS = ("energy_mwh", "cost_usd_per_year", "cost_usd_per_mwh", "co2_t_per_year", "it_mw", "quantum_mw",
                 "qubits_per_system", "supply_usd_per_mwh", "storage_usd_per_year")  # fmt: skip
TASK_FIELDS = ("classical_j", "qpu_j", "mode", "saves")
MAJORITY = 0.5

PerSample = dict[str, Any]  # {"campus": {year: {field: array}}, "tasks": {key: {year: {field: array}}}}
ChunkMap = Callable[[Callable[..., PerSample], Sequence[tuple]], list[PerSample]]


def percentiles(values: np.ndarray) -> dict[str, float | None]:
    """p5..p95 and the mean of the finite values (None when there are none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {f"p{q}": None for q in PERCENTILES} | {"mean": None, "n": 0}
    qs = np.percentile(v, PERCENTILES)
    out: dict[str, float | None] = {f"p{q}": float(x) for q, x in zip(PERCENTILES, qs, strict=True)}
    return out | {"mean": float(v.mean()), "n": int(v.size)}


def simulate_chunk(sc: Scenarios, years: list[int], seed: int, index: int, samples: int) -> PerSample:
    """Draw chunk `index` (of `samples` futures) and return the per-sample arrays the summary needs."""
    base, modality = sc.meta.base_year, sc.meta.modality
    d = draw(sc, samples, seed, chunk=index)
    campus = {}
    for y in years:
        c = campus_year(d, y, base, modality)
        campus[y] = {f: c[f] for f in (*CAMPUS_FIELDS, "shares")}
    tasks = {}
    for key, task in sc.selected_tasks().items():
        per_year = {y: task_year(task, modality, d, y, base) for y in years}
        tasks[key] = {y: {f: per_year[y][f] for f in TASK_FIELDS} for y in years}
    return {"campus": campus, "tasks": tasks}


def join_chunks(parts: list[PerSample]) -> PerSample:
    """Concatenate the chunks' arrays in chunk order along the sample axis (the last one)."""
    if len(parts) == 1:
        return parts[0]

    def join(items: list) -> Any:
        if isinstance(items[0], dict):
            return {k: join([it[k] for it in items]) for k in items[0]}
        return np.concatenate(items, axis=-1)

    return join(parts)


def _campus(per_year: dict[int, dict[str, np.ndarray]], years: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {f: {str(y): percentiles(per_year[y][f]) for y in years} for f in CAMPUS_FIELDS}
    out["supply_share"] = {
        str(y): {name: float(per_year[y]["shares"][i].mean()) for i, name in enumerate(OPTIONS)} for y in years
    }
    out["kind"] = "projected"
    return out


def _task(task, per_year: dict[int, dict[str, np.ndarray]], years: list[int]) -> dict[str, Any]:
    p_save = {str(y): float(per_year[y]["saves"].mean()) for y in years}
    first = next((y for y in years if p_save[str(y)] >= MAJORITY), None)
    ratio = {}
    for y in years:
        r = per_year[y]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio[str(y)] = percentiles(np.log10(r["qpu_j"] / r["classical_j"]))
    return {
        "family": task.family,
        "label": task.label,
        "scale": task.scale,
        "kind": "projected",
        "classical_method": task.classical_method,
        "classical_energy_j": {str(y): percentiles(per_year[y]["classical_j"]) for y in years},
        "qpu_energy_j": {str(y): percentiles(per_year[y]["qpu_j"]) for y in years},
        "log10_qpu_over_classical": ratio,
        "p_qpu_feasible": {str(y): float(np.isfinite(per_year[y]["qpu_j"]).mean()) for y in years},
        "p_qpu_saves_energy": p_save,
        "first_year_majority_saves": first,
        "qpu_mode_share": {
            str(y): {m: float((per_year[y]["mode"] == m).mean()) for m in ("nisq", "ft", "none")} for y in years
        },
        "quality_supported": task.quality_supported,
        "quality_note": task.quality_note,
        "counts_source": task.source,
        "classical_source": task.classical_source,
    }


def _verdict(key: str, t: dict[str, Any]) -> str:
    best_year = max(t["p_qpu_saves_energy"], key=lambda y: t["p_qpu_saves_energy"][y])
    best = t["p_qpu_saves_energy"][best_year]
    if best == 0:
        text = f"{key}: the QPU never uses less energy than the classical baseline in any sampled future"
    else:
        text = f"{key}: the QPU uses less energy in {best:.0%} of sampled futures at best ({best_year})"
    if best > 0 and not t["quality_supported"]:
        text += "; this rests on an assumption no source supports: " + t["quality_note"]
    return text


class OutlookResult(Result):
    """`run_outlook`'s answer: the `qscale outlook` JSON (percentiles per year, verdicts, where the chunks ran)."""

    def write_plots(self, folder: Path) -> None:
        """Write the fan charts as PNGs into `folder` and list their paths in the report under `plots`."""
        from qscale.outlook.plots import write_plots

        self.report["plots"] = write_plots(self.report, folder)


def run_outlook(
    samples: int = 2000,
    seed: int = 1,
    years: list[int] | tuple[int, ...] = DEFAULT_YEARS,
    scenarios: Scenarios | Path | str | dict | None = None,
    map_chunks: ChunkMap | None = None,
    parallel: bool = False,
    address: str | None = None,
) -> OutlookResult:
    """Draw `samples` futures and summarise campus energy, cost, carbon and each task's QPU-vs-classical energy.

    `map_chunks(simulate_chunk, [args, ...])` runs the chunks and returns their results in order; the default
    runs them here, one after another. `parallel` or an `address` (auto or HOST:PORT) runs them as Ray tasks
    (qscale.distributed.ray_map); the report's `execution` says which (`custom` for a caller's own map).
    """
    if map_chunks is None and (parallel or address is not None):
        from functools import partial

        from qscale.distributed import ray_map

        map_chunks = partial(ray_map, address=address)
        backend = "ray"
    else:
        backend = "serial" if map_chunks is None else "custom"
    t0 = time.perf_counter()
    sc = scenarios if isinstance(scenarios, Scenarios) else load_scenarios(scenarios)
    base = sc.meta.base_year
    yrs = check_years(list(years), base)
    check_samples_seed(samples, seed)
    plan = chunks(int(samples))
    args = [(sc, yrs, int(seed), i, n) for i, n in plan]
    with track("outlook: sampled futures", total=int(samples)) as bar:
        if map_chunks is None:  # chunk by chunk here, so the display moves with them
            parts = []
            for a in args:
                parts.append(simulate_chunk(*a))
                bar.advance(a[-1])
        else:
            parts = map_chunks(simulate_chunk, args)
            bar.update(int(samples))
    joined = join_chunks(parts)
    tasks = {k: _task(t, joined["tasks"][k], yrs) for k, t in sc.selected_tasks().items()}
    unsupported = [k for k, t in tasks.items() if not t["quality_supported"]]
    return OutlookResult({
        "kind": "projected",
        "samples": int(samples),
        "seed": int(seed),
        "chunks": len(plan),
        "years": yrs,
        "base_year": base,
        "modality": sc.meta.modality,
        "percentiles": list(PERCENTILES),
        "campus": _campus(joined["campus"], yrs),
        "tasks": tasks,
        "verdicts": [_verdict(k, t) for k, t in tasks.items()],
        "unsupported_quality_assumptions": unsupported,
        "assumed_ranges": sorted(k for k, r in sc.ranges.items() if r.assumed),
        "scenarios": sc.echo(),
        "notes": NOTES,
        "seconds": time.perf_counter() - t0,
        "execution": {"backend": backend, "address": address or "local"},
    })


NOTES = [
    "All outlook figures are projected: a Monte Carlo over the stated ranges (scenarios), each range drawn "
    "independently and uniformly (or log-uniformly); percentiles are over samples, not confidence intervals.",
    "Campus supply is a screening model (cheapest firm option, grid up to its share), not the `qscale site` "
    "optimum; carbon is operational only.",
    "QPU energy: qscale.energy.qpu's power model times the offload planner's device time (qscale.coproc.pricing: "
    "shots, jobs, lanes and round trips on today's device of the modality; no classical host, dedicated machine) "
    "with NISQ error-mitigation overhead or a fault-tolerant run in the Azure estimator's model at the sampled "
    "error rate; QPU percentiles are over the samples where some QPU path is feasible.",
    "Classical energy: device energy of the task's counted FLOPs and memory traffic at the year's sampled "
    "accelerator efficiency; facility overhead (PUE) is left out on both sides.",
    "A task 'saves energy' in a sample when a feasible QPU run uses less energy than the classical baseline; "
    "where a task's quality_supported is false, that comparison assumes the quantum run matches the classical "
    "result, which no source supports.",
]
