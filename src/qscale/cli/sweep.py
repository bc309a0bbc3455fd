"""`qscale sweep`: a grid of study runs as Ray tasks .

Exit codes: 0 every cell finished; 1 some cells failed (listed on stderr and in the JSON); 2 bad input found
before anything ran (unknown grid key, a value the config refuses, an empty grid, an unreachable --address).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from qscale.cli.common import JsonOpt, emit, guarded
from qscale.errors import QscaleUserError


def register(app: typer.Typer) -> None:
    app.command("sweep")(guarded(sweep_cmd))  # grids of studies on Ray


def sweep_cmd(
    config: Annotated[Path, typer.Argument(help="Study TOML; its optional \\[sweep] table adds grid axes and seeds.")],
    grid: Annotated[
        list[str] | None,
        typer.Option("--grid", help="KEY=V1,V2,... over a study config key, e.g. qaoa.nodes=10,12 (repeatable)."),
    ] = None,
    seeds: Annotated[int | None, typer.Option(help="Add N seeds (study.seed, study.seed+1, ...) as an axis.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Shrink the base config as `study --quick` does.")] = False,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster: auto or HOST:PORT (default: Ray on this machine, stopped after).")
    ] = None,
    cpus_per_cell: Annotated[float, typer.Option(help="CPUs a cell declares to Ray.")] = 1.0,
    gpus_per_cell: Annotated[float, typer.Option(help="GPUs a cell declares to Ray.")] = 0.0,
    max_parallel: Annotated[int | None, typer.Option(help="At most N cells at once (default: what fits).")] = None,
    out: Annotated[Path | None, typer.Option(help="Sweep folder (default sweeps/<name>/).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a grid of studies on Ray, resumably: cells/<id>/ per cell, a table, sweep.json and report.html."""
    from qscale.progress import logger
    from qscale.study.sweep.grid import build_plan
    from qscale.study.sweep.progress import ProgressEvents
    from qscale.study.sweep.report import write_outputs
    from qscale.study.sweep.runner import run_sweep
    from qscale.study.sweep.store import SweepStore

    if cpus_per_cell <= 0:
        raise QscaleUserError(f"--cpus-per-cell must be > 0, got {cpus_per_cell:g}")
    if gpus_per_cell < 0:
        raise QscaleUserError(f"--gpus-per-cell must be >= 0, got {gpus_per_cell:g}")
    if max_parallel is not None and max_parallel < 1:
        raise QscaleUserError(f"--max-parallel must be >= 1, got {max_parallel}")
    plan = build_plan(config, grid or [], seeds, quick)
    store = SweepStore(out if out is not None else Path("sweeps") / plan.name)
    for note in plan.notes:
        logger("sweep").warning(note)
    with ProgressEvents() as events:
        run = run_sweep(plan, store, address, cpus_per_cell, gpus_per_cell, max_parallel, events)
    info = write_outputs(plan, run, store)
    result = {k: info[k] for k in ("cells_total", "executed", "skipped", "failed", "nodes", "table", "seconds")}
    result |= {k: info[k] for k in ("sweep", "out", "report", "address", "ray_start_seconds")}

    def human(r: dict) -> None:
        print(f"sweep {r['sweep']}: {r['cells_total']} cells, {r['executed']} run, {r['skipped']} skipped, "
              f"{len(r['failed'])} failed in {r['seconds']:.1f} s")  # fmt: skip
        print(f"  table: {r['table']}\n  report: {r['report']}")

    emit(result, as_json, human)
    if result["failed"]:
        for f in result["failed"]:
            sys.stderr.write(f"failed cell {f['id']}: {f['reason']} (log: {store.failed / f['id'] / 'log.txt'})\n")
        raise typer.Exit(1)
