"""The runtime's timeline as a Gantt chart: one lane per host thread, one for job overheads, one for the QPU.

Why: utilisation numbers hide where the time goes; the chart shows host work, host waits, the per-job overhead
and the quantum execution on one clock (host measured, device modelled), so an idle QPU or an idle host is
visible at a glance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {"work": "#4C72B0", "wait": "#DDDDDD", "overhead": "#DD8452", "qpu": "#55A868", "retry": "#C44E52"}


def gantt(timeline: dict[str, Any], path: Path | str, title: str | None = None) -> Path:
    """Write a PNG of `timeline` (HybridRuntime.timeline()) to `path` and return the path."""
    from matplotlib.patches import Patch

    from qscale.figures import pyplot

    plt = pyplot()

    host = timeline["host"]
    lanes = [*host, "job overhead", "QPU"]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.5 * len(lanes)))
    for i, name in enumerate(host):
        for kind in ("work", "wait"):
            bars = [(a, b - a) for a, b, k in host[name] if k == kind and b > a]
            if bars:
                ax.broken_barh(bars, (i - 0.35, 0.7), facecolors=COLOURS[kind])
    y_over, y_qpu = len(host), len(host) + 1
    for j in timeline["jobs"]:
        for k, (o0, o1, q0, q1) in enumerate(j["intervals"]):
            ax.broken_barh([(o0, o1 - o0)], (y_over - 0.35, 0.7), facecolors=COLOURS["overhead"])
            failed = k < len(j["errors"])  # attempts before the last that failed
            ax.broken_barh([(q0, q1 - q0)], (y_qpu - 0.35, 0.7), facecolors=COLOURS["retry" if failed else "qpu"])
    ax.set_yticks(range(len(lanes)), lanes)
    ax.set_xlabel("time (s): host measured, device modelled")
    u = timeline["utilisation"]
    host_u = ", ".join(f"{k} {v:.0%}" for k, v in u["host"].items())
    ax.set_title(title or f"{timeline['device_name']}: QPU busy {u['qpu']:.0%}; {host_u}", fontsize=9)
    ax.legend(
        handles=[Patch(color=COLOURS[k], label=k) for k in ("work", "wait", "overhead", "qpu", "retry")],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25),
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    ax.set_xlim(0, max(timeline["makespan_s"], 1e-9) * 1.02)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
