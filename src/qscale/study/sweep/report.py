"""sweep.json and report.html: which cells ran where, and plots across cells picked from what the grid varies.

Cells that differ only in `study.seed` are pooled: plots show their mean with error bars of one standard
deviation over seeds (n is in the legend). A plot appears only where its data exist in the cells:

- quantization ran: perplexity vs bits, one line per method (measured; RTN and GPTQ are the classical rows);
- QAOA ran: approximation ratio vs depth p, optimised and fixed angles (simulated), beside simulated annealing
  (classical, measured) on the same graphs;
- a site key varies (carbon cap or price, year, cost case, hours): cost per MWh and emissions vs that key
  (projected);
- outlook ran in more than one cell: median campus cost per MWh vs year (projected);
- always: each cell's own time and its time as the driver saw it (measured), which shows Ray's overhead.
"""

from __future__ import annotations

import html
import json
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qscale.figures import Figure, figure_png, pyplot
from qscale.io import dumps
from qscale.study.report import _table, page_head
from qscale.study.sweep.grid import SEED_KEY, SweepPlan
from qscale.study.sweep.runner import SweepRun
from qscale.study.sweep.store import SweepStore
from qscale.study.sweep.table import rows_for, write_table

SITE_KEYS = ("site.carbon_cap_t_per_year", "site.carbon_price_usd_per_t", "site.year", "site.cost_case", "site.hours")


def cell_records(plan: SweepPlan, run: SweepRun, store: SweepStore) -> list[dict[str, Any]]:
    """One record per cell of the plan: its grid values, outcome and (when finished) its results.json."""
    records = []
    for cell in plan.cells:
        o = run.outcomes[cell.id]
        records.append(
            {
                "id": cell.id,
                "label": cell.label,
                "overrides": cell.overrides,
                "status": o.status,
                "error": o.error,
                "seconds": o.seconds,
                "driver_seconds": o.driver_seconds,
                "node_id": o.node_id,
                "node_ip": o.node_ip,
                "results": store.results(cell.id) if o.status != "failed" else None,
            }
        )
    return records


def nodes_used(run: SweepRun) -> list[dict[str, Any]]:
    """The Ray nodes that ran cells in this invocation, with how many each ran."""
    counts: dict[tuple, int] = defaultdict(int)
    for o in run.outcomes.values():
        if o.status != "skipped" and o.node_id:
            counts[(o.node_id, o.node_ip)] += 1
    return [{"node_id": nid, "ip": ip, "cells": n} for (nid, ip), n in sorted(counts.items())]


def summary(plan: SweepPlan, run: SweepRun, table: Path, out: Path) -> dict[str, Any]:
    outcomes = run.outcomes.values()
    return {
        "sweep": plan.name,
        "config": plan.source,
        "quick": plan.quick,
        "out": str(out),
        "axes": {a.key: list(a.values) for a in plan.axes},
        "cells_total": len(plan.cells),
        "executed": sum(o.status != "skipped" for o in outcomes),
        "skipped": sum(o.status == "skipped" for o in outcomes),
        "failed": [{"id": o.id, "reason": o.error} for o in outcomes if o.status == "failed"],
        "nodes": nodes_used(run),
        "address": run.address,
        "table": str(table),
        "report": str(out / "report.html"),
        "seconds": run.seconds,
        "ray_start_seconds": run.ray_start_seconds,
        "notes": plan.notes + run.notes,
    }


# ---- aggregation -------------------------------------------------------------------------------------------


def _setting(overrides: dict[str, Any], drop: tuple[str, ...] = ()) -> str:
    """A cell's grid values minus the seed (pooled into error bars) and any key drawn on an axis."""
    parts = [f"{k}={json.dumps(v)}" for k, v in overrides.items() if k != SEED_KEY and k not in drop]
    return " ".join(parts)


def _stats(values: list[float]) -> tuple[float, float, int]:
    vals = [v for v in values if v is not None]
    if not vals:
        return float("nan"), 0.0, 0
    return statistics.fmean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0, len(vals)


def _pool(records: list[dict], points: Callable[[dict], list[tuple[str, Any, float | None]]]) -> dict:
    """{series: {x: [y over seeds]}} from each finished cell's (series, x, y) points."""
    pooled: dict[str, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if r["results"] is None:
            continue
        for series, x, y in points(r):
            if y is not None:
                pooled[series][x].append(float(y))
    return pooled


def _draw(
    ax: Any,
    pooled: dict,
    fmt: str = "o-",
    categorical: list | None = None,
    prefix: str = "",
    colors: dict[str, str] | None = None,
    **kw: Any,
) -> None:
    """Mean and one-standard-deviation bars per x for each series; `colors` keeps a series' colour across calls."""
    for series, by_x in pooled.items():
        xs = sorted(by_x, key=lambda v: categorical.index(v) if categorical else v)
        stats = [_stats(by_x[x]) for x in xs]
        pos = [categorical.index(x) for x in xs] if categorical else xs
        n = max(s[2] for s in stats)
        label = f"{prefix}{series or 'all cells'}" + (f" (n={n} seeds)" if n > 1 else "")
        if colors is not None:
            kw["color"] = colors.setdefault(series, f"C{len(colors) % 10}")
        ax.errorbar(pos, [s[0] for s in stats], yerr=[s[1] for s in stats], fmt=fmt, capsize=3, ms=4, label=label,
                    **kw)  # fmt: skip
    if categorical:
        ax.set_xticks(range(len(categorical)))
        ax.set_xticklabels([str(c) for c in categorical], fontsize=8)


def _stage(r: dict, name: str) -> dict | None:
    return (r["results"] or {}).get("stages", {}).get(name)


# ---- plots ---------------------------------------------------------------------------------------------------


def _quantization_fig(records: list[dict]) -> Figure | None:
    plt = pyplot()

    ran = [(r, q) for r in records if (q := _stage(r, "quantization"))]
    if not ran:
        return None
    one_width = len({q["bits"] for _, q in ran}) == 1
    methods = list(dict.fromkeys(m for _, q in ran for m in q["methods"]))

    def points(r: dict) -> list:
        q = _stage(r, "quantization")
        if not q:
            return []
        rest = _setting(r["overrides"], drop=("quantization.bits", "quantization.methods"))
        if one_width:  # nothing to draw against bits: one point per method instead
            return [(rest, m, v.get("perplexity")) for m, v in q["methods"].items()]
        return [(f"{m} {rest}".strip(), q["bits"], v.get("perplexity")) for m, v in q["methods"].items()]

    pooled = _pool(records, points)
    fig, ax = plt.subplots(figsize=(7, 4))
    _draw(ax, pooled, fmt="o" if one_width else "o-", categorical=methods if one_width else None)
    ax.axhline(statistics.fmean(q["perplexity_fp"] for _, q in ran), color="grey", ls=":", label="unquantized")
    ax.set_xlabel(f"method ({ran[0][1]['bits']} bits per weight)" if one_width else "bits per weight")
    ax.set_ylabel("held-out perplexity")
    values = [y for by_x in pooled.values() for ys in by_x.values() for y in ys]
    if values and min(values) > 0 and max(values) / min(values) > 10:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    models = sorted({q["model"] for _, q in ran})
    return Figure(
        "Perplexity per method" if one_width else "Perplexity vs bits, per method",
        figure_png(fig),
        f"Measured on {', '.join(models)}; rtn and gptq are the classical baselines, qubo-qaoa's QAOA is "
        "simulated. Mean over seeds, error bars one standard deviation.",
    )


def _qaoa_fig(records: list[dict]) -> Figure | None:
    plt = pyplot()

    def points(kind: str) -> Callable[[dict], list]:
        def get(r: dict) -> list:
            q = _stage(r, "qaoa")
            if not q:
                return []
            series = _setting(r["overrides"])
            if kind == "optimised":
                ratios = q["optimized"]["optimization"]["ratio_by_depth"]
                return [(series, p, y) for p, y in zip(q["depths"], ratios, strict=False)]
            if kind == "fixed angles":
                fixed = q.get("fixed_angles") or {}
                return [(series, int(p), v.get("approximation_ratio")) for p, v in fixed.items() if isinstance(v, dict)]
            sa = q["classical_baselines"].get("simulated_annealing")
            if not sa or not q.get("optimal_energy"):
                return []
            return [(series, p, sa["energy"] / q["optimal_energy"]) for p in q["depths"]]

        return get

    optimised = _pool(records, points("optimised"))
    if not optimised:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    colors: dict[str, str] = {}
    _draw(ax, optimised, prefix="QAOA optimised ", colors=colors)
    _draw(ax, _pool(records, points("fixed angles")), fmt="s--", prefix="QAOA fixed angles ", colors=colors, alpha=0.7)
    _draw(ax, _pool(records, points("sa")), fmt="^:", prefix="simulated annealing ", colors=colors, alpha=0.6)
    ax.set_xticks(sorted({p for by_x in optimised.values() for p in by_x}))
    ax.set_xlabel("QAOA depth p")
    ax.set_ylabel("approximation ratio")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return Figure(
        "QAOA approximation ratio vs depth",
        figure_png(fig),
        "QAOA ratios are simulated (statevector), optimised angles solid, fixed angles dashed; simulated annealing "
        "(dotted, classical, measured) on the same graphs is the baseline: its best energy over the exact optimum. "
        "Mean over seeds, error bars one standard deviation.",
    )


def _site_fig(records: list[dict], varying: list[str]) -> Figure | None:
    plt = pyplot()

    key = next((k for k in SITE_KEYS if k in varying), None)
    if key is None or not any(_stage(r, "site") for r in records):
        return None
    values = []
    for r in records:
        v = r["overrides"].get(key)
        if v not in values:
            values.append(v)
    numeric = all(isinstance(v, int | float) for v in values)
    categorical = None if numeric else values

    def points(field: str) -> Callable[[dict], list]:
        def get(r: dict) -> list:
            s = _stage(r, "site")
            if not s:
                return []
            return [(_setting(r["overrides"], drop=(key,)), r["overrides"].get(key), s["site"].get(field))]

        return get

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    fig.subplots_adjust(wspace=0.35)
    _draw(a1, _pool(records, points("cost_per_mwh")), categorical=categorical)
    _draw(a2, _pool(records, points("co2_t_per_year")), categorical=categorical)
    for ax, label in ((a1, "cost per MWh delivered (USD)"), (a2, "emissions (t CO2 / year)")):
        ax.set_xlabel(key)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    a1.legend(fontsize=7)
    return Figure(
        f"Site cost and emissions vs {key}",
        figure_png(fig),
        "Projected by the PyPSA campus model (HiGHS optimum) from assumed costs; see each cell's report for sources.",
    )


def _outlook_fig(records: list[dict]) -> Figure | None:
    plt = pyplot()

    ran = [r for r in records if _stage(r, "outlook")]
    if len(ran) < 2:
        return None

    def points(r: dict) -> list:
        o = _stage(r, "outlook")
        if not o:
            return []
        series = _setting(r["overrides"])
        return [(series, int(y), v.get("p50")) for y, v in o["campus"]["cost_usd_per_mwh"].items()]

    fig, ax = plt.subplots(figsize=(7, 3.8))
    _draw(ax, _pool(records, points))
    ax.set_xlabel("year")
    ax.set_ylabel("median campus cost (USD / MWh)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return Figure(
        "Outlook: median campus cost per MWh",
        figure_png(fig),
        "Projected: the median over each cell's sampled futures; error bars over seeds are the spread of that "
        "median between Monte Carlo seeds, not the range of futures.",
    )


def _seconds_fig(records: list[dict]) -> Figure | None:
    plt = pyplot()

    ran = [r for r in records if r["seconds"] is not None]
    if not ran:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * len(ran)))
    ys = range(len(ran))
    ax.barh(list(ys), [r["seconds"] for r in ran], color="#4a7", label="cell's own time")
    extra = [max(0.0, (r["driver_seconds"] or r["seconds"]) - r["seconds"]) for r in ran]
    ax.barh(list(ys), extra, left=[r["seconds"] for r in ran], color="#c84", label="seen by the driver, beyond it")
    ax.set_yticks(list(ys))
    ax.set_yticklabels([f"{r['id']} {r['label']}"[:60] for r in ran], fontsize=7)
    ax.set_xlabel("seconds")
    ax.legend(fontsize=7)
    return Figure(
        "Cell times",
        figure_png(fig),
        "Measured. Green: the cell's own time inside its Ray task; orange: the rest of its time from submission "
        "to its result on the driver (Ray's overhead plus moving the files). Skipped cells show their first run's.",
    )


def figures(records: list[dict], varying: list[str]) -> list[Figure]:
    made = [_quantization_fig(records), _qaoa_fig(records), _site_fig(records, varying), _outlook_fig(records),
            _seconds_fig(records)]  # fmt: skip
    return [f for f in made if f is not None]


# ---- HTML ----------------------------------------------------------------------------------------------------


def render(plan: SweepPlan, info: dict[str, Any], records: list[dict]) -> str:
    import base64

    head = {k: info[k] for k in ("sweep", "config", "quick", "cells_total", "executed", "skipped", "seconds",
                                 "ray_start_seconds", "address")}  # fmt: skip
    head["failed"] = len(info["failed"])
    head["nodes"] = ", ".join(f"{n['ip']} ({n['node_id'][:8]}: {n['cells']} cells)" for n in info["nodes"]) or "-"
    meta = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in head.items())
    keys = plan.keys
    rows = [
        [r["id"], *[json.dumps(r["overrides"].get(k)) for k in keys], r["status"],
         "-" if r["seconds"] is None else f"{r['seconds']:.1f}", r["node_ip"] or "-", r["error"] or ""]
        for r in records
    ]  # fmt: skip
    cells = _table("Cells", ["id", *keys, "status", "own seconds", "node", "error"], rows)
    figs = []
    for fig in figures(records, plan.varying):
        data = base64.b64encode(fig.png).decode("ascii")
        figs.append(
            f'<figure><img alt="{html.escape(fig.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(fig.title)}: {html.escape(fig.caption)}</figcaption></figure>"
        )
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in info["notes"])
    title = f"qscale sweep: {plan.name}"
    return f"""{page_head(title)}
<p>Each cell is a full <code>qscale study</code> run in <code>cells/&lt;id&gt;/</code> with its own report.
Figure kinds: <b>measured</b>, <b>simulated</b> (classical simulation of a quantum circuit), <b>projected</b>,
<b>assumed</b>. No simulated quantum time is a quantum speedup.</p>
<table>{meta}</table>
{notes}
<h2>Across cells</h2>
{"".join(figs) or "<p>No cross-cell plot applies to these cells.</p>"}
<h2>Cells</h2>
{cells}
<details><summary>sweep.json</summary><pre>{html.escape(dumps(info))}</pre></details>
</body></html>
"""


def write_outputs(plan: SweepPlan, run: SweepRun, store: SweepStore) -> dict[str, Any]:
    """Write the table, sweep.json and report.html into the sweep folder; returns the sweep.json content."""
    records = cell_records(plan, run, store)
    table = write_table(rows_for(records), store.out)
    info = summary(plan, run, table, store.out)
    info["cells"] = [{k: r[k] for k in r if k != "results"} for r in records]
    store.write_text("sweep.json", dumps(info))
    store.write_text("report.html", render(plan, info, records))
    return info
