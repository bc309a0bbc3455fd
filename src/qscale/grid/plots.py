"""Figures for the campus and smoothing results, as PNG bytes the study report and `--plots DIR` share."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from qscale.figures import Figure, figure_png, pyplot
from qscale.io import atomic_write_bytes

COLORS = {
    "grid": "#7f7f7f",
    "smr": "#9467bd",
    "fusion": "#e377c2",
    "solar": "#ffbf00",
    "wind": "#1f77b4",
    "gas": "#8c564b",
    "unserved": "#d62728",
    "li-ion": "#2ca02c",
    "smes": "#17becf",
    "flywheel": "#bcbd22",
    "rydberg": "#ff7f0e",
    "smes cryoplant": "#17becf",
    "supercap": "#ff9896",
}


def _color(name: str) -> str:
    return COLORS.get(name.replace(" discharge", "").replace(" charge", ""), "#333333")


def _tag(summary: dict) -> str:
    return " [speculative, unverified]" if summary.get("speculative") else ""


def dispatch_week_figure(outcome, start: int | None = None) -> Figure:
    """Stacked hourly supply for one week (the middle week of the window by default), load on top."""
    plt = pyplot()

    from qscale.grid.results import dispatch_frame

    frame = dispatch_frame(outcome.built)
    hours = len(frame)
    span = min(168, hours)
    start = max(0, hours // 2 - span // 2) if start is None else max(0, min(start, hours - span))
    week = frame.iloc[start : start + span]
    x = np.arange(span)
    fig, ax = plt.subplots(figsize=(9, 4))
    pos_cols = [c for c in week.columns if c != "load" and (week[c] > 1e-6).any()]
    neg_cols = [c for c in week.columns if c != "load" and (week[c] < -1e-6).any()]
    if pos_cols:
        ax.stackplot(
            x,
            *[week[c].clip(lower=0).to_numpy() for c in pos_cols],
            labels=pos_cols,
            colors=[_color(c) for c in pos_cols],
            alpha=0.85,
        )
    if neg_cols:
        ax.stackplot(
            x,
            *[week[c].clip(upper=0).to_numpy() for c in neg_cols],
            labels=[f"{c} (use)" for c in neg_cols],
            colors=[_color(c) for c in neg_cols],
            alpha=0.45,
        )
    ax.plot(x, week["load"].to_numpy(), color="black", lw=1.5, label="load (x PUE)")
    ax.set_xlabel(f"hour (from {week.index[0]:%Y-%m-%d %H:%M})")
    ax.set_ylabel("MW")
    ax.axhline(0, color="black", lw=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title(f"Campus dispatch, one week{_tag(outcome.report)}")
    return Figure(
        "Dispatch (one week)",
        figure_png(fig),
        f"Hourly supply by technology (projected); storage charging below zero.{_tag(outcome.report)}",
    )


def capacity_figure(outcome) -> Figure:
    """Optimal power capacities (MW) and storage energy (MWh) side by side."""
    plt = pyplot()

    s = outcome.report
    caps = {("grid (peak import)" if k == "grid" else k): v for k, v in s["capacities_mw"].items() if v > 1e-3}
    stor = {k: v for k, v in s["storage_mwh"].items() if v > 1e-3}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [3, 1.4]})
    a1.bar(list(caps), list(caps.values()), color=[_color(k.split(" (")[0]) for k in caps])
    a1.set_ylabel("MW")
    a1.set_title("power capacity")
    a1.tick_params(axis="x", rotation=30)
    if stor:
        a2.bar(list(stor), list(stor.values()), color=[_color(k) for k in stor])
    else:
        a2.text(0.5, 0.5, "no storage built", ha="center", va="center", transform=a2.transAxes)
        a2.set_xticks([])
        a2.set_yticks([])
    a2.set_ylabel("MWh")
    a2.set_title("storage energy")
    a2.tick_params(axis="x", rotation=30)
    fig.suptitle(f"Optimal capacity mix, {s['year']} ({s['cost_case']}){_tag(s)}")
    fig.tight_layout()
    return Figure("Capacity mix", figure_png(fig), f"Capacities chosen by the optimiser (projected).{_tag(s)}")


def cost_figure(outcome) -> Figure:
    """Annual cost by technology, split into annualised capex+FOM and operating cost."""
    plt = pyplot()

    s = outcome.report
    items = {k: v for k, v in s["cost_breakdown_per_year"].items() if v["capex_usd"] + v["opex_usd"] > 1.0}
    names = list(items)
    capex = np.array([items[k]["capex_usd"] for k in names]) / 1e6
    opex = np.array([items[k]["opex_usd"] for k in names]) / 1e6
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.6))
    y = np.arange(len(names))
    ax.barh(y, capex, color="#4c72b0", label="capex (annualised) + fixed O&M")
    ax.barh(y, opex, left=capex, color="#dd8452", label="fuel, energy, VOM, carbon, VOLL")
    ax.set_yticks(y, names)
    ax.set_xlabel("million $ per year")
    cpm = s["cost_per_mwh"]
    ax.set_title(
        f"Annual cost {s['total_cost_per_year'] / 1e6:.1f} M\\$/yr"
        + (f", {cpm:.1f} \\$/MWh delivered" if cpm is not None else "")
        + _tag(s)
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return Figure("Cost breakdown", figure_png(fig), f"Annual system cost by technology (projected).{_tag(s)}")


def site_figures(outcome) -> list[Figure]:
    """The three campus figures, for the study report or `qscale site --plots DIR`."""
    return [dispatch_week_figure(outcome), capacity_figure(outcome), cost_figure(outcome)]


def stabilize_figure(result: dict, traces: dict, window_s: float = 10.0) -> Figure:
    """Load and grid-side power per technology over the first seconds, and each storage's energy."""
    plt = pyplot()

    t = traces["t_s"]
    sel = t <= t[0] + window_s
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    a1.plot(t[sel], traces["load_mw"][sel], color="black", lw=1.0, label="load (no storage)")
    for name, tr in traces["technologies"].items():
        if tr is None:
            continue
        a1.plot(t[sel], tr["grid_mw"][sel], lw=1.2, color=_color(name), label=f"grid side with {name}")
        e = tr["energy_mwh"][sel]
        a2.plot(t[sel], (e - e.min()) * 3600.0, lw=1.0, color=_color(name), label=name)
    a1.set_ylabel("MW")
    a1.legend(fontsize=8, loc="upper right")
    a1.set_title(
        f"Power-swing smoothing: ramp limit {result['ramp_limit_mw_per_s']:.3g} MW/s, "
        f"band limit {result['band_limit_mw']:.3g} MW"
    )
    a2.set_ylabel("stored energy above min (MJ)")
    a2.set_xlabel("time (s)")
    a2.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return Figure(
        "Power-swing smoothing",
        figure_png(fig),
        "Simulated load and grid-side power with each storage at its smallest sufficient size (projected).",
    )


def write_figures(figures: list[Figure], folder: Path, prefix: str) -> list[str]:
    """Write each figure as <folder>/<prefix>_<slug>.png; return the paths."""
    folder = Path(folder)
    paths = []
    for fig in figures:
        slug = re.sub(r"[^a-z0-9]+", "_", fig.title.lower()).strip("_")
        path = folder / f"{prefix}_{slug}.png"
        atomic_write_bytes(path, fig.png)
        paths.append(str(path))
    return paths
