"""What Ray costs `qscale sweep` on this machine: start-up, per-task overhead, and the speed-up of parallel cells.

Three measurements, saved to benchmarks/results/sweep/sweep-overhead-<tag>.json and rendered as the
"Sweep overhead" section of docs/benchmarks.md:

1. Ray itself (in this process): `ray.init` of a local instance as `qscale sweep` starts it, the first task
   (a worker process starts), then no-op tasks one after another (round trip) and 20 at once (throughput),
   and `ray.shutdown`.
2. Cells in parallel: one small study config (QAOA only, 16 nodes, p = 1..3) over 4 seeds, run by
   `qscale sweep` as a user runs it with --max-parallel 1 and then 2: command wall time against the sum of
   the cells' own times (measured inside their tasks).
3. The 4-cell quick study sweep of the issue's acceptance (`configs/default.toml --quick`, qaoa.nodes 10 and 12
   x seeds 1 and 2, every stage), 2 cells at once: wall vs the sum of its cells' own times.

    python benchmarks/sweep_overhead.py                      # all three (~10 min on 2 cores), then the docs section
    python benchmarks/sweep_overhead.py --skip-quick         # 1 and 2 only
    python benchmarks/sweep_overhead.py --docs-only

On a shared machine every figure is noisy; the section says so and names the load average at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_common import BENCH_DIR, ROOT, log, machine_info

DOC = ROOT / "docs" / "benchmarks.md"
RESULTS = BENCH_DIR / "results" / "sweep"
BEGIN, END = "<!-- section:sweep-overhead:begin -->", "<!-- section:sweep-overhead:end -->"
CELL_CONFIG = """
[study]
name = "overhead"
[qaoa]
nodes = 16
depths = [1, 2, 3]
restarts = 2
shots = 256
[quantization]
enabled = false
[qpca]
enabled = false
[generative]
enabled = false
[site]
enabled = false
[outlook]
enabled = false
[qnn]
enabled = false
[coprocessor]
enabled = false
"""


def _noop() -> int:
    return os.getpid()


def ray_micro(repeats: int) -> dict[str, Any]:
    import ray

    from qscale.distributed import ray_session

    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with ray_session() as r:
            t_init = time.perf_counter() - t0
            task = r.remote(num_cpus=1)(_noop)
            t = time.perf_counter()
            ray.get(task.remote())
            first = time.perf_counter() - t
            rt = []
            for _ in range(20):
                t = time.perf_counter()
                ray.get(task.remote())
                rt.append(time.perf_counter() - t)
            t = time.perf_counter()
            ray.get([task.remote() for _ in range(20)])
            batch = time.perf_counter() - t
            t_shut = time.perf_counter()
        shutdown = time.perf_counter() - t_shut
        runs.append({"init_s": t_init, "first_task_s": first, "round_trip_ms": 1e3 * statistics.median(rt),
                     "batch20_s": batch, "shutdown_s": shutdown})  # fmt: skip
        log(f"ray: {runs[-1]}")
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]} | {"repeats": repeats, "runs": runs}


def _cells(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("cells/*/cell.json"))]


def sweep_once(config: Path, out: Path, parallel: int, grid: tuple[str, ...] = ("study.seed=1,2,3,4",),
               quick: bool = False) -> dict[str, Any]:  # fmt: skip
    cmd = [sys.executable, "-m", "qscale.cli", "sweep", str(config), *(f"--grid={g}" for g in grid),
           *(["--quick"] if quick else []), "--max-parallel", str(parallel), "--out", str(out), "--json"]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"HF_HUB_OFFLINE": "1"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed: {proc.stderr[-2000:]}")
    return summarise(json.loads(proc.stdout), _cells(out), wall) | {"max_parallel": parallel}


def summarise(result: dict[str, Any], cells: list[dict[str, Any]], wall: float | None) -> dict[str, Any]:
    own = [c["seconds"] for c in cells]
    driver = [c["driver_seconds"] for c in cells]
    return {
        "cells": len(cells),
        "command_wall_s": wall,
        "sweep_seconds": result["seconds"],
        "ray_start_s": result.get("ray_start_seconds"),
        "sum_cell_own_s": sum(own),
        "mean_cell_own_s": statistics.fmean(own),
        "mean_cell_driver_s": statistics.fmean(driver),
        "mean_per_cell_overhead_s": statistics.fmean(d - o for d, o in zip(driver, own, strict=True)),
        "nodes": result.get("nodes"),
    }


def render(d: dict[str, Any]) -> str:
    m = d["machine"]
    history = d.get("loads") or [{"parts": ["all"], "date_utc": d["date_utc"], "load_avg": d["load_avg_start"]}]
    loads = "; ".join(f"{h['load_avg']:.1f} ({', '.join(h['parts'])}, {h['date_utc'][:16]} UTC)" for h in history)
    lines = [
        BEGIN,
        "## Sweep overhead (Ray) — measured on a shared machine",
        "",
        f"Generated by `python benchmarks/sweep_overhead.py` from `{RESULTS.relative_to(ROOT)}/{d['file']}`; "
        f"{m.get('cpu_model')}, {m.get('usable_cpus')} usable cores; load average at the start of each part: {loads} "
        "(the machine was shared with other jobs: every figure here is noisy and may be re-measured). All figures "
        "measured (wall clock).",
        "",
    ]
    if d.get("ray"):
        r = d["ray"]
        lines += [
            f"**Ray itself** (local instance as `qscale sweep` starts it; median of {r['repeats']}):",
            "",
            "| ray.init | first task (worker start) | no-op round trip | 20 no-op tasks at once | ray.shutdown |",
            "|---:|---:|---:|---:|---:|",
            f"| {r['init_s']:.1f} s | {r['first_task_s']:.2f} s | {r['round_trip_ms']:.1f} ms | {r['batch20_s']:.2f} s "
            f"| {r['shutdown_s']:.1f} s |",
            "",
        ]
    rows = [
        (f"QAOA-only cells (16 nodes, p = 1..3), --max-parallel {s['max_parallel']}", s) for s in d.get("cells", [])
    ]
    if d.get("quick"):
        rows.append(("`qscale sweep configs/default.toml --quick` 4 cells (acceptance), 2 at once", d["quick"]))
    if rows:
        lines += [
            "**Sweeps of 4 cells** (wall time of the command against the sum of the cells' own times inside their "
            "tasks; per-cell overhead = submission-to-result on the driver minus the cell's own time, which "
            "includes starting a worker and importing qscale in it):",
            "",
            "| sweep | wall | Ray start | sum of cells' own times | wall / sum | per-cell overhead |",
            "|:---|---:|---:|---:|---:|---:|",
        ]
        for label, s in rows:
            wall = s["command_wall_s"] or s["sweep_seconds"]
            lines.append(
                f"| {label} | {wall:.1f} s | {s['ray_start_s'] or 0:.1f} s | {s['sum_cell_own_s']:.1f} s | "
                f"{wall / s['sum_cell_own_s']:.2f} | {s['mean_per_cell_overhead_s']:.1f} s |"
            )
        lines.append("")
    by_p = {s["max_parallel"]: s for s in d.get("cells", [])}
    if 1 in by_p and 2 in by_p:
        w1 = by_p[1]["command_wall_s"]
        w2 = by_p[2]["command_wall_s"]
        c1, c2 = w1 - (by_p[1]["ray_start_s"] or 0), w2 - (by_p[2]["ray_start_s"] or 0)
        lines += [
            f"Speed-up of 2 parallel cells over 1 on {m.get('usable_cpus')} cores: **{w1 / w2:.2f}×** for the whole "
            f"command ({w1:.1f} s → {w2:.1f} s), {c1 / c2:.2f}× after Ray's start-up ({c1:.1f} s → {c2:.1f} s); the "
            f"cells' own times went from {by_p[1]['mean_cell_own_s']:.1f} s to {by_p[2]['mean_cell_own_s']:.1f} s "
            "on average as they shared the cores (and the machine).",
            "",
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_doc(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else ""
    if BEGIN in text:
        text = re.sub(f"{re.escape(BEGIN)}.*?{re.escape(END)}\n?", lambda _m: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tag", default="cpu")
    ap.add_argument("--repeats", type=int, default=2, help="Ray start-up measurements")
    ap.add_argument("--skip-micro", action="store_true")
    ap.add_argument("--skip-cells", action="store_true")
    ap.add_argument("--skip-quick", action="store_true", help="skip the 4-cell quick study sweep")
    ap.add_argument("--docs-only", action="store_true")
    args = ap.parse_args()
    path = RESULTS / f"sweep-overhead-{args.tag}.json"
    if not args.docs_only:
        data = json.loads(path.read_text()) if path.exists() else {}
        data |= {"file": path.name, "machine": machine_info(), "date_utc": machine_info()["date_utc"],
                 "load_avg_start": os.getloadavg()[0]}  # fmt: skip
        parts = [n for n, skip in (("ray", args.skip_micro), ("cells", args.skip_cells), ("quick", args.skip_quick))
                 if not skip]  # fmt: skip
        data.setdefault("loads", []).append(
            {"parts": parts, "date_utc": data["date_utc"], "load_avg": data["load_avg_start"]}
        )
        if not args.skip_micro:
            data["ray"] = ray_micro(args.repeats)
        if not args.skip_cells:
            with tempfile.TemporaryDirectory(prefix="qscale-overhead-") as tmp:
                config = Path(tmp) / "cells.toml"
                config.write_text(CELL_CONFIG)
                data["cells"] = [sweep_once(config, Path(tmp) / f"p{p}", p) for p in (1, 2)]
                for s in data["cells"]:
                    log(f"cells: {s}")
        if not args.skip_quick:
            with tempfile.TemporaryDirectory(prefix="qscale-overhead-") as tmp:
                grid = ("qaoa.nodes=10,12", "study.seed=1,2")
                data["quick"] = sweep_once(ROOT / "configs" / "default.toml", Path(tmp) / "q", 2, grid, quick=True)
                log(f"quick: {data['quick']}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=1) + "\n")
        log(f"wrote {path}")
    write_doc(render(json.loads(path.read_text())))
    log(f"wrote {DOC}")


if __name__ == "__main__":
    main()
