"""Fan charts of the outlook: percentile bands over years (p5-p95 light, p25-p75 dark, median line)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.figures import Figure, figure_png, pyplot
from qscale.io import atomic_write_bytes

CAMPUS_PANELS = (
    ("energy_mwh", 1e-6, "campus energy (TWh/yr)"),
    ("cost_usd_per_mwh", 1.0, "cost (USD/MWh)"),
    ("co2_t_per_year", 1e-6, "operational CO2 (Mt/yr)"),
)


def _band(series: dict[str, dict], years: list[int], scale: float = 1.0) -> dict[str, np.ndarray]:
    def col(key: str) -> np.ndarray:
        vals = [series[str(y)][key] for y in years]
        return np.array([np.nan if v is None else v * scale for v in vals], dtype=float)

    return {k: col(k) for k in ("p5", "p25", "p50", "p75", "p95")}


def fan(ax, years: list[int], band: dict[str, np.ndarray], color: str, label: str) -> None:
    """Draw one fan (two bands and the median) on `ax`."""
    ax.fill_between(years, band["p5"], band["p95"], color=color, alpha=0.18, linewidth=0)
    ax.fill_between(years, band["p25"], band["p75"], color=color, alpha=0.38, linewidth=0)
    ax.plot(years, band["p50"], "o-", color=color, markersize=3, label=label)


def campus_figure(result: dict[str, Any]) -> Figure:
    plt = pyplot()

    years = result["years"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for ax, (field, scale, title) in zip(axes, CAMPUS_PANELS, strict=True):
        fan(ax, years, _band(result["campus"][field], years, scale), "tab:blue", "median")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(years)
        ax.grid(alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return Figure(
        "Campus outlook (projected)",
        figure_png(fig),
        f"Percentile bands over {result['samples']} sampled futures (p5-p95 light, p25-p75 dark, median line) of the "
        "campus's yearly energy, cost per MWh delivered and operational CO2.",
    )


def tasks_figure(result: dict[str, Any]) -> Figure:
    plt = pyplot()

    years, tasks = result["years"], result["tasks"]
    cols = 2
    rows = max(1, math.ceil(len(tasks) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.7 * rows), squeeze=False)
    for ax, (key, t) in zip(axes.flat, tasks.items(), strict=False):
        fan(ax, years, _band(t["classical_energy_j"], years), "tab:blue", "classical baseline")
        fan(ax, years, _band(t["qpu_energy_j"], years), "tab:orange", "QPU (feasible samples)")
        ax.set_yscale("log")
        flag = "" if t["quality_supported"] else " [quality unsupported]"
        ax.set_title(f"{key} ({t['scale']}){flag}", fontsize=8)
        ax.set_xticks(years)
        ax.set_ylabel("energy (J)", fontsize=8)
        ax.grid(alpha=0.3, which="both")
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    if tasks:
        axes.flat[0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return Figure(
        "Task energy: classical baseline vs projected QPU",
        figure_png(fig),
        "Per task, percentile bands of the classical baseline's energy and of the QPU's (over samples where a QPU "
        "run is feasible), log scale. Tasks marked 'quality unsupported' assume the QPU matches the classical result.",
    )


def advantage_figure(result: dict[str, Any]) -> Figure:
    plt = pyplot()

    years = result["years"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for key, t in result["tasks"].items():
        p = [t["p_qpu_saves_energy"][str(y)] for y in years]
        style = "-" if t["quality_supported"] else "--"
        ax.plot(years, p, style, marker="o", markersize=3, label=key + ("" if t["quality_supported"] else " *"))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xticks(years)
    ax.set_ylabel("P(QPU energy < classical)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return Figure(
        "Probability that a quantum co-processor saves energy",
        figure_png(fig),
        "Share of sampled futures in which a feasible QPU run uses less energy than the classical baseline, per task "
        "and year; * (dashed) = rests on a quality assumption no source supports.",
    )


def outlook_figures(result: dict[str, Any]) -> list[Figure]:
    figs = [campus_figure(result)]
    if result["tasks"]:
        figs += [tasks_figure(result), advantage_figure(result)]
    return figs


FILE_NAMES = {"Campus outlook": "outlook_campus.png", "Task energy": "outlook_tasks.png",
              "Probability": "outlook_advantage.png"}  # fmt: skip


def write_plots(result: dict[str, Any], folder: Path) -> list[str]:
    """Write the fan charts as PNG files into `folder`; returns their paths."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise QscaleUserError(f"--plots {folder} exists and is not a folder")
    paths = []
    for fig in outlook_figures(result):
        name = next(v for k, v in FILE_NAMES.items() if fig.title.startswith(k))
        atomic_write_bytes(folder / name, fig.png)
        paths.append(str(folder / name))
    return paths
