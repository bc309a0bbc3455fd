"""Meter any command: run it as a child process and report the energy and carbon of its run, part by part.

What each part uses (the same counters and constants as the run's own ledger, energy/ledger.py):
- GPU: NVML's total-energy counter per device where the GPU has one (Volta and newer), else NVML board power
  sampled every `interval_s` and integrated; no NVIDIA GPU, no GPU part. Both are device-wide: other processes
  on the same GPU count too.
- CPU: RAPL package counters under /sys/class/powercap where this user can read them (socket-wide), else
  the CPU's TDP × the measured utilisation of the child's process tree (psutil), labelled estimated; the TDP
  is watts per core × logical cores (data/measurement.toml or QSCALE_CPU_W_PER_CORE).
- Memory: resident size of the child's process tree (sampled) × watts per GB (data/measurement.toml),
  labelled estimated.

`--csv FILE` appends one row in CodeCarbon's emissions.csv columns (CODECARBON_COLUMNS), so dashboards that
read CodeCarbon's files read qscale's too; nothing else is ever written.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from qscale.energy.data import Sourced, measurement_constants
from qscale.energy.ledger import cpu_power_per_core
from qscale.energy.meters import NvmlMeter, NvmlPowerProbe, RaplMeter, nvml_meters, nvml_power_probes, rapl_meters
from qscale.errors import QscaleUserError

J_PER_KWH = 3.6e6
# The columns of CodeCarbon's emissions.csv, in its order: the fields of
# codecarbon.output_methods.emissions_data.EmissionsData in codecarbon 3.3.2 (github.com/mlco2/codecarbon).
# Units as CodeCarbon writes them: duration s, emissions kg CO2e, emissions_rate kg/s, powers W, energies kWh.
CODECARBON_COLUMNS = (
    "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate",
    "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed",
    "water_consumed", "country_name", "country_iso_code", "region", "cloud_provider", "cloud_region", "os",
    "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
    "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
    "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
)  # fmt: skip


@dataclass
class _Tree:
    """CPU seconds and resident memory of the child's process tree, sampled while it runs."""

    root: int
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    rss_gb: list[float] = field(default_factory=list)

    def sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.root)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:  # the child has already gone
            return
        rss = 0.0
        for p in procs:
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    self.cpu_by_pid[p.pid] = max(self.cpu_by_pid.get(p.pid, 0.0), t.user + t.system)
                    rss += p.memory_info().rss / 1e9
            except psutil.Error:
                continue
        self.rss_gb.append(rss)

    @property
    def cpu_seconds(self) -> float:
        return sum(self.cpu_by_pid.values())


@dataclass
class _Sampler:
    """Samples the tree (and GPU power where there is no energy counter) every `interval_s` seconds."""

    tree: _Tree
    probes: list[NvmlPowerProbe]
    interval_s: float
    gpu_j: list[float] = field(default_factory=list)
    _last: tuple[float, list[float]] | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def tick(self) -> None:
        self.tree.sample()
        if not self.probes:
            return
        now = time.perf_counter()
        watts = []
        for p in self.probes:
            try:
                watts.append(p.read_w())
            except Exception:  # a failed reading keeps the previous one (trapezoid over the gap)
                watts.append(self._last[1][len(watts)] if self._last else 0.0)
        if self._last is None:
            self.gpu_j = [0.0] * len(watts)
        else:
            t0, w0 = self._last
            self.gpu_j = [j + (a + b) / 2 * (now - t0) for j, a, b in zip(self.gpu_j, w0, watts, strict=True)]
        self._last = (now, watts)

    def run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()

    def stop(self) -> None:
        self._stop.set()


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _resolve(command: list[str]) -> str:
    if not command:
        raise QscaleUserError("no command to measure: give it after --, e.g. qscale energy measure -- python x.py")
    exe = command[0]
    found = shutil.which(exe)
    if found is None:
        raise QscaleUserError(f"command not found: {exe}")
    return found


def check_csv(path: Path) -> None:
    """Refuse (before anything runs) a CSV file whose header is not CodeCarbon's, or a folder that is missing."""
    if not path.parent.is_dir():
        raise QscaleUserError(f"--csv folder does not exist: {path.parent}")
    if path.is_dir():
        raise QscaleUserError(f"--csv is a folder: {path}")
    if path.exists() and path.stat().st_size > 0:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        if tuple(header) != CODECARBON_COLUMNS:
            raise QscaleUserError(f"--csv {path} has another header than CodeCarbon's emissions.csv; use a new file")


def _measured(names: list[str], joules: list[float], method: str) -> dict[str, Any]:
    return {
        "kind": "measured",
        "energy_j": sum(joules),
        "method": method,
        "devices": [{"device": n, "energy_j": j} for n, j in zip(names, joules, strict=True)],
    }


def _exit_code(returncode: int) -> int:
    """The shell's convention: a child killed by signal N exits 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode


def measure(
    command: list[str],
    *,
    interval_s: float = 0.5,
    intensity: Sourced,
    region: str | None = None,
    child_stdout: IO[str] | None = None,
) -> dict[str, Any]:
    """Run `command` to completion and return its energy (J, kWh), carbon and the method of each part.

    `child_stdout` receives the child's standard output (None: inherited), so that `--json` keeps stdout to
    one JSON object. The child's exit code is in the result; a failing child is metered all the same.
    """
    if not interval_s > 0:
        raise QscaleUserError(f"--interval must be > 0 seconds, got {interval_s}")
    exe = _resolve(command)
    gpu_meters: list[NvmlMeter] = nvml_meters()
    probes: list[NvmlPowerProbe] = [] if gpu_meters else nvml_power_probes()
    rapl: list[RaplMeter] = rapl_meters()

    gpu0 = [m.read_j() for m in gpu_meters]
    rapl0 = [m.read_j() for m in rapl]
    rusage0 = _children_cpu_s()
    start = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    try:
        child = subprocess.Popen([exe, *command[1:]], stdout=child_stdout)
    except OSError as exc:  # not executable, wrong format
        raise QscaleUserError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    sampler = _Sampler(_Tree(child.pid), probes, interval_s)
    sampler.tick()
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        returncode = child.wait()
    except KeyboardInterrupt:  # pass Ctrl-C on, then meter what ran
        child.send_signal(signal.SIGINT)
        returncode = child.wait()
    wall = time.perf_counter() - t0
    sampler.stop()
    thread.join()
    sampler.tick()  # a last GPU power reading closes the integral
    cpu_s = max(sampler.tree.cpu_seconds, _children_cpu_s() - rusage0)
    ncpu = os.cpu_count() or 1
    util = min(1.0, cpu_s / (wall * ncpu)) if wall > 0 else 0.0

    parts: dict[str, dict[str, Any]] = {}
    if gpu_meters:
        per = [m.read_j() - a for m, a in zip(gpu_meters, gpu0, strict=True)]
        parts["gpu"] = _measured([m.name for m in gpu_meters], per, gpu_meters[0].method)
    elif probes:
        method = f"{probes[0].method}, every {interval_s} s"
        parts["gpu"] = _measured([p.name for p in probes], sampler.gpu_j, method)
    else:
        parts["gpu"] = {"kind": "none", "energy_j": 0.0, "method": "no NVIDIA GPU answered NVML", "devices": []}
    if rapl:
        parts["cpu"] = _measured([m.name for m in rapl], [m.read_j() - a for m, a in zip(rapl, rapl0, strict=True)],
                                 rapl[0].method)  # fmt: skip
    else:
        w_core, src = cpu_power_per_core()
        tdp = w_core * ncpu
        parts["cpu"] = {
            "kind": "estimated",
            "energy_j": tdp * util * wall,
            "method": f"CPU TDP {tdp:.4g} W ({ncpu} logical cores x {w_core} W, {src}) x utilisation {util:.3f} of "
            f"the child's process tree (psutil; {cpu_s:.3f} CPU-s over {wall:.3f} s); RAPL not readable",
        }
    mem = measurement_constants()["memory"]
    rss = sum(sampler.tree.rss_gb) / len(sampler.tree.rss_gb) if sampler.tree.rss_gb else 0.0
    parts["memory"] = {
        "kind": "estimated",
        "energy_j": rss * float(mem["w_per_gb"]) * wall,
        "method": f"mean resident size of the child's process tree {rss:.4f} GB x {mem['w_per_gb']} W/GB "
        f"x {wall:.3f} s ({mem['source']})",
    }
    for p in parts.values():
        p["power_w"] = p["energy_j"] / wall if wall > 0 else 0.0
    energy = sum(p["energy_j"] for p in parts.values())
    kinds = {p["kind"] for p in parts.values()} - {"none"}
    kwh = energy / J_PER_KWH
    return {
        "command": list(command),
        "exit_code": _exit_code(returncode),
        "started_utc": start.isoformat(timespec="seconds"),
        "wall_s": wall,
        "cpu_seconds": cpu_s,
        "cpu_utilization": util,
        "logical_cores": ncpu,
        "ram_used_gb": rss,
        "energy_j": energy,
        "energy_kwh": kwh,
        "co2_kg": kwh * intensity.value,
        "intensity_kg_per_kwh": intensity.value,
        "intensity_source": intensity.source,
        "region": region,
        "kind": "measured" if kinds == {"measured"} else "estimated" if "measured" not in kinds else "mixed",
        "parts": parts,
        "interval_s": interval_s,
        "note": "device-wide counters (NVML, RAPL) include other processes on the same devices",
    }


def codecarbon_row(result: dict[str, Any], project: str = "qscale") -> dict[str, Any]:
    """One emissions.csv row (CodeCarbon's columns and units) for a `measure` result."""
    import psutil

    parts, wall = result["parts"], result["wall_s"]
    kwh = {k: parts[k]["energy_j"] / J_PER_KWH for k in ("cpu", "gpu", "memory")}
    gpus = parts["gpu"].get("devices", [])
    total_gb = psutil.virtual_memory().total / 1e9
    row = {
        "timestamp": result["started_utc"],
        "project_name": project,
        "run_id": str(uuid.uuid4()),
        "experiment_id": "",
        "duration": wall,
        "emissions": result["co2_kg"],
        "emissions_rate": result["co2_kg"] / wall if wall > 0 else 0.0,
        "cpu_power": parts["cpu"]["power_w"],
        "gpu_power": parts["gpu"]["power_w"],
        "ram_power": parts["memory"]["power_w"],
        "cpu_energy": kwh["cpu"],
        "gpu_energy": kwh["gpu"],
        "ram_energy": kwh["memory"],
        "energy_consumed": result["energy_kwh"],
        "water_consumed": 0.0,
        "country_name": result["region"] or "",
        "country_iso_code": "",
        "region": "",
        "cloud_provider": "",
        "cloud_region": "",
        "os": platform.platform(),
        "python_version": platform.python_version(),
        "codecarbon_version": "",
        "cpu_count": result["logical_cores"],
        "cpu_model": _cpu_model(),
        "gpu_count": len(gpus),
        "gpu_model": ", ".join(d["device"] for d in gpus),
        "longitude": "",
        "latitude": "",
        "ram_total_size": total_gb,
        "tracking_mode": "process",
        "cpu_utilization_percent": 100.0 * result["cpu_utilization"],
        "gpu_utilization_percent": "",
        "ram_utilization_percent": 100.0 * result["ram_used_gb"] / total_gb if total_gb else 0.0,
        "ram_used_gb": result["ram_used_gb"],
        "on_cloud": "N",
        "pue": 1.0,
        "wue": 0.0,
    }
    assert tuple(row) == CODECARBON_COLUMNS
    return row


def append_csv(path: Path, row: dict[str, Any]) -> None:
    """Append `row`, writing CodeCarbon's header first when the file is new or empty."""
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CODECARBON_COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def default_child_stdout(as_json: bool) -> IO[str] | None:
    """Where the child's stdout goes: stderr under --json (stdout holds one JSON object), else inherited."""
    return sys.stderr if as_json else None
