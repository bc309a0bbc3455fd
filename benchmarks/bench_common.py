"""Helpers shared by the benchmark scripts.

Only the standard library and numpy are imported at module level, because the same scripts run as
workers inside the peer virtual environments (.bench-venvs/*), which have neither torch nor qscale.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
VENVS = ROOT / ".bench-venvs"

# Amplitudes processed per pass over memory in the "blocked" traffic model below. QOKit's C backend uses
# 10 (2^10 complex128 = 16 KiB, fits in L1); the floor of ~225 GB for n=28, p=6 follows from it.
BLOCK_QUBITS = 10
BYTES_C128 = 16  # one complex128 amplitude
BYTES_F64 = 8  # one float64 diagonal entry


def qaoa_floor_bytes(n: int, p: int, amp_bytes: int = BYTES_C128, diag_bytes: int = BYTES_F64) -> int:
    """Ideal memory traffic of one QAOA objective evaluation on a precomputed diagonal.

    Per layer: one phase pass (read + write the state, read the diagonal) and ceil(n/10) mixer passes
    (read + write the state, 10 qubits rotated per pass, as a cache-blocked simulator does); at the end one
    expectation pass (read the state and the diagonal). The initial |+> fill is not counted.
    n=28, p=6, complex128 gives 225.5 GB (QOKit's blocking, Lykov et al., arXiv 2309.04841).
    """
    dim = 2**n
    phase = (2 * amp_bytes + diag_bytes) * dim
    mixer = math.ceil(n / BLOCK_QUBITS) * 2 * amp_bytes * dim
    expect = (amp_bytes + diag_bytes) * dim
    return p * (phase + mixer) + expect


def layered_floor_bytes(n: int, layers: int, amp_bytes: int = BYTES_C128) -> int:
    """Ideal traffic of a layered circuit whose every layer acts on all n qubits: ceil(n/10) passes of
    read + write per layer (same blocked model as qaoa_floor_bytes); initial state and read-out not counted."""
    return layers * math.ceil(n / BLOCK_QUBITS) * 2 * amp_bytes * 2**n


THREAD_VARS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_threads(n: int) -> None:
    """Give every simulator the same thread count (0 = each library's default, usually all cores).

    Set in the environment, so that the worker subprocesses inherit it: OpenMP (QOKit, lightning), numba
    and torch read these variables; Aer gets it as max_parallel_threads via BENCH_THREADS.
    """
    if n > 0:
        for var in (*THREAD_VARS, "BENCH_THREADS"):
            os.environ[var] = str(n)


def time_call(fn: Callable[[], Any], repeats: int, warmup: int) -> tuple[list[float], Any]:
    """Wall-clock seconds of fn() after `warmup` untimed calls; returns (times, last result)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def maxcut_energy(idx: np.ndarray, edges: Sequence[Sequence[int]]) -> np.ndarray:
    """-cut(x) for the basis indices idx (int64), straight from the edge list."""
    cut = np.zeros(idx.shape, dtype=np.int64)
    for i, j in edges:
        cut += ((idx >> i) ^ (idx >> j)) & 1
    return -cut.astype(np.float64)


def maxcut_diagonal(n: int, edges: Sequence[Sequence[int]]) -> np.ndarray:
    """Energy = -cut(x) for every basis index (qubit 0 = least significant bit), float64.

    The peers' own (independent) construction of the diagonal that qscale builds from a dimod BQM.
    """
    diag = np.empty(2**n, dtype=np.float64)
    chunk = 1 << min(n, 22)  # bounded temporaries, even at n = 30
    for start in range(0, 2**n, chunk):
        diag[start : start + chunk] = maxcut_energy(np.arange(start, start + chunk, dtype=np.int64), edges)
    return diag


def ramp_angles(p: int, scale: float = 0.75) -> tuple[list[float], list[float]]:
    """Linear-ramp QAOA angles (|gamma| rises, |beta| falls), an annealing-like path, so the compared
    expectation is a good cut rather than noise. beta < 0 because we minimise C = -cut with the +ΣX mixer,
    whose top eigenstate |+> we start in (p=6 gives ~0.86 of the maximum cut on 3-regular graphs)."""
    t = [(k + 0.5) / p for k in range(p)]
    return [scale * x for x in t], [-scale * (1 - x) for x in t]


def versions(packages: Sequence[str]) -> dict[str, str]:
    """Installed versions of the given distributions (missing ones are left out)."""
    out = {"python": platform.python_version()}
    for name in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, caches and OS of this machine, for the results file."""
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["usable_cpus"] = os.cpu_count()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        models = [ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")]
        info["cpu_model"] = models[0] if models else platform.processor()
        flags = next((ln for ln in cpuinfo.splitlines() if ln.startswith("flags")), "")
        info["simd"] = [f for f in ("avx2", "avx512f", "fma") if f" {f}" in flags]
    except OSError:
        info["cpu_model"] = platform.processor()
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(ln for ln in mem if ln.startswith("MemTotal")).split()[1])
        info["ram_gib"] = round(kb / 2**20, 1)
    except (OSError, StopIteration):
        pass
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for ln in lscpu.splitlines():
            key = ln.split(":", 1)[0].strip()
            if key in ("L1d cache", "L2 cache", "L3 cache", "Core(s) per socket", "Socket(s)"):
                info[key.lower().replace(" ", "_").replace("(s)", "s")] = ln.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        os_release = dict(ln.split("=", 1) for ln in Path("/etc/os-release").read_text().splitlines() if "=" in ln)
        info["os"] = os_release.get("PRETTY_NAME", info["os"]).strip('"') + f" ({platform.release()})"
    except OSError:
        pass
    return info


def emit(obj: dict[str, Any]) -> None:
    """Workers print exactly one JSON object on stdout (logs go to stderr)."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def run_workers(
    script: Path,
    sims: Sequence[str],
    worker_venv: dict[str, str | None],
    job_file: Path,
    timeout_s: float,
    label: str,
    summary: Callable[[dict[str, Any]], str],
) -> dict[str, dict[str, Any]]:
    """Run `script --worker SIM --job job_file` once per simulator, each in its own venv, in order.

    `worker_venv` names each simulator's venv under .bench-venvs (None = this interpreter). A missing venv
    or a failed worker becomes {"error": ...} for that simulator only; a timed one gets `median_s`.
    `label` prefixes the stderr log lines; `summary(result)` adds the value each driver checks.
    """
    results: dict[str, dict[str, Any]] = {}
    for sim in sims:
        venv = worker_venv[sim]
        python = sys.executable if venv is None else venv_python(venv)
        if venv is not None and not Path(python).exists():
            res = {"error": f"{python} missing: run benchmarks/setup_peers.sh"}
        else:
            log(f"{label} {sim} ...")
            res = run_worker(python, script, ["--worker", sim, "--job", str(job_file)], timeout_s)
        if "seconds" in res:
            res["median_s"] = median(res["seconds"])
            log(f"{label} {sim}: {res['median_s']:.4f} s, {summary(res)}")
        else:
            log(f"{label} {sim}: FAILED {res.get('error')}")
        results[sim] = res
    return results


def run_worker(
    python: Path | str, script: Path, args: Sequence[str], timeout_s: float, prefix: Sequence[str] = ()
) -> dict[str, Any]:
    """Run one worker subprocess and parse its JSON line; failures come back as {"error": ...}
    so one broken peer does not void the whole run. `prefix` wraps the command (e.g. time, prlimit)."""
    cmd = [*prefix, str(python), str(script), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    except OSError as exc:
        return {"error": f"could not start {python}: {exc}"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])
