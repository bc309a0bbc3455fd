"""Run a sweep's unfinished cells as Ray tasks and write each one into its own folder as soon as it ends.

Each cell is one `run_study` call inside a Ray task that declares its CPUs (and GPUs). The task builds the run
folder in a temporary directory on whatever node runs it and hands the files back, so the cluster needs no
shared disk: the driver writes them under `<out>/cells/<id>/` (see store.py). A cell that raises is caught in
the task and comes back as an error with its log; a task lost to a dead worker or node comes back as a Ray
error. Either way the other cells go on and the failure is recorded under `<out>/failed/<id>/`.

At most as many cells are in flight as the cluster has room for (its CPUs and GPUs divided by a cell's, looked
at again every few seconds as nodes come and go) or `max_parallel`, so "running" means running, not queued.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import platform
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qscale import __version__
from qscale.distributed import check_address, ray_session
from qscale.errors import QscaleUserError
from qscale.study.sweep.grid import Cell, SweepPlan
from qscale.study.sweep.store import SweepStore

RUN_FILES = ("config.toml", "results.json", "report.html")
CAPACITY_REFRESH_S = 5.0


def execute_cell(config_data: dict, quick: bool, cpus: float) -> dict[str, Any]:
    """Run one cell's study (in a Ray worker): {"status": "done", "files": {...}} or {"status": "failed", ...}."""
    t0 = time.perf_counter()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    root.addHandler(handler)
    where = _where()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            import torch

            torch.set_num_threads(max(1, int(cpus)))
            from qscale.study.run import run_study
            from qscale.study.schema import StudyConfig

            def progress(msg: str) -> None:
                log.write(f"[{time.perf_counter() - t0:8.1f} s] {msg}\n")

            config = StudyConfig.model_validate(config_data)
            with tempfile.TemporaryDirectory(prefix="qscale-cell-") as tmp:
                folder, results = run_study(config, Path(tmp) / "run", quick, progress, as_given=True)
                files = {name: (folder / name).read_bytes() for name in RUN_FILES}
        return {
            "status": "done",
            "files": files,
            "study_seconds": results["seconds"],
            "seconds": time.perf_counter() - t0,
            "started_utc": started,
            "log": log.getvalue(),
            **where,
        }
    except (Exception, SystemExit) as exc:  # a cell's failure is data for the sweep, not the end of it
        return {
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
            "traceback": traceback.format_exc(),
            "seconds": time.perf_counter() - t0,
            "started_utc": started,
            "log": log.getvalue(),
            **where,
        }
    finally:
        root.removeHandler(handler)


def _where() -> dict[str, Any]:
    """The node running this cell; outside Ray (tests call execute_cell directly) this machine. Checks
    is_initialized first: Ray's API calls would otherwise start a Ray instance on their own."""
    import ray

    if not ray.is_initialized():
        return {"node_id": None, "node_ip": platform.node(), "pid": os.getpid()}
    ctx = ray.get_runtime_context()
    return {"node_id": ctx.get_node_id(), "node_ip": ray.util.get_node_ip_address(), "pid": os.getpid()}


@dataclass
class CellOutcome:
    id: str
    status: str  # done, failed, skipped
    seconds: float | None = None  # the cell's own time, measured inside its task
    driver_seconds: float | None = None  # submit to result on the driver: the cell plus Ray's overhead
    node_id: str | None = None
    node_ip: str | None = None
    error: str | None = None


@dataclass
class SweepRun:
    outcomes: dict[str, CellOutcome]
    seconds: float
    ray_start_seconds: float | None = None
    address: str = "local"
    notes: list[str] = field(default_factory=list)


class Events:
    """What the runner reports while it works (the CLI shows it as a progress display); defaults do nothing."""

    def start(self, total: int, skipped: int) -> None: ...

    def update(self, done: int, running: int, failed: int) -> None: ...

    def cell(self, cell: Cell, outcome: CellOutcome) -> None: ...


def _capacity(ray: Any, cpus: float, gpus: float) -> tuple[int, float, float]:
    """(cells that fit at once across live nodes, largest node CPU count, largest node GPU count)."""
    fit, max_cpu, max_gpu = 0, 0.0, 0.0
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        res = node.get("Resources", {})
        ncpu, ngpu = res.get("CPU", 0.0), res.get("GPU", 0.0)
        max_cpu, max_gpu = max(max_cpu, ncpu), max(max_gpu, ngpu)
        by_cpu = math.floor(ncpu / cpus + 1e-9) if cpus > 0 else 10**6
        by_gpu = math.floor(ngpu / gpus + 1e-9) if gpus > 0 else 10**6
        fit += min(by_cpu, by_gpu)
    return fit, max_cpu, max_gpu


def run_sweep(
    plan: SweepPlan,
    store: SweepStore,
    address: str | None = None,
    cpus_per_cell: float = 1.0,
    gpus_per_cell: float = 0.0,
    max_parallel: int | None = None,
    events: Events | None = None,
) -> SweepRun:
    """Run the plan's unfinished cells; finished ones are skipped. Returns every cell's outcome."""
    events = events or Events()
    t0 = time.perf_counter()
    outcomes = {c.id: CellOutcome(c.id, "skipped") for c in plan.cells if store.is_finished(c.id)}
    todo = [c for c in plan.cells if c.id not in outcomes]
    for cid, outcome in outcomes.items():
        meta = store.cell_meta(cid) or {}
        outcome.seconds, outcome.node_ip, outcome.node_id = (
            meta.get("seconds"),
            meta.get("node_ip"),
            meta.get("node_id"),
        )
    checked = check_address(address) if address is not None else None  # a bad address: exit 2 before anything
    run = SweepRun(outcomes, 0.0, address=checked or "local")
    with store.locked():
        events.start(len(todo), len(outcomes))
        if todo:
            run.ray_start_seconds = _run_cells(plan, todo, store, checked, cpus_per_cell, gpus_per_cell,
                                               max_parallel, events, outcomes)  # fmt: skip
    run.outcomes = {c.id: outcomes[c.id] for c in plan.cells}  # in plan order
    run.seconds = time.perf_counter() - t0
    return run


def _run_cells(
    plan: SweepPlan,
    todo: list[Cell],
    store: SweepStore,
    address: str | None,
    cpus: float,
    gpus: float,
    max_parallel: int | None,
    events: Events,
    outcomes: dict[str, CellOutcome],
) -> float:
    t_start = time.perf_counter()
    with ray_session(address, probe=False) as ray:
        ray_start = time.perf_counter() - t_start
        fit, max_cpu, max_gpu = _capacity(ray, cpus, gpus)
        if cpus > max_cpu:
            raise QscaleUserError(f"--cpus-per-cell {cpus:g}: no Ray node has that many CPUs (largest: {max_cpu:g})")
        if gpus > max_gpu:
            raise QscaleUserError(f"--gpus-per-cell {gpus:g}: no Ray node has that many GPUs (largest: {max_gpu:g})")
        task = ray.remote(execute_cell).options(num_cpus=cpus, num_gpus=gpus, max_retries=1)
        queue = list(todo)
        pending: dict[Any, tuple[Cell, float]] = {}
        done = failed = 0
        refreshed = time.perf_counter()
        while queue or pending:
            if time.perf_counter() - refreshed > CAPACITY_REFRESH_S:
                fit, refreshed = _capacity(ray, cpus, gpus)[0], time.perf_counter()
            limit = max(1, fit if max_parallel is None else min(fit, max_parallel))
            while queue and len(pending) < limit:
                cell = queue.pop(0)
                ref = task.remote(cell.config.model_dump(mode="json"), plan.quick, cpus)
                pending[ref] = (cell, time.perf_counter())
            events.update(done, len(pending), failed)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in ready:
                cell, submitted = pending.pop(ref)
                try:
                    payload = ray.get(ref)
                except ray.exceptions.RayError as exc:  # worker or node lost, task cancelled, out of memory
                    payload = {"status": "failed", "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
                               "log": str(exc)}  # fmt: skip
                outcome = _record(store, plan, cell, payload, time.perf_counter() - submitted)
                outcomes[cell.id] = outcome
                done += outcome.status == "done"
                failed += outcome.status == "failed"
                events.cell(cell, outcome)
                events.update(done, len(pending), failed)
    return ray_start


def _record(store: SweepStore, plan: SweepPlan, cell: Cell, payload: dict, driver_seconds: float) -> CellOutcome:
    meta = {
        "id": cell.id,
        "sweep": plan.name,
        "overrides": cell.overrides,
        "quick": plan.quick,
        "status": payload["status"],
        "seconds": payload.get("seconds"),
        "study_seconds": payload.get("study_seconds"),
        "driver_seconds": driver_seconds,
        "started_utc": payload.get("started_utc"),
        "node_id": payload.get("node_id"),
        "node_ip": payload.get("node_ip"),
        "pid": payload.get("pid"),
        "qscale_version": __version__,
    }
    outcome = CellOutcome(cell.id, payload["status"], payload.get("seconds"), driver_seconds,
                          payload.get("node_id"), payload.get("node_ip"))  # fmt: skip
    if payload["status"] == "done":
        store.write_done(cell.id, payload["files"], meta, payload.get("log", ""))
    else:
        outcome.error = payload.get("error", "unknown error")
        meta |= {"error": outcome.error, "traceback": payload.get("traceback")}
        store.write_failed(cell.id, meta, payload.get("log", ""))
    return outcome
