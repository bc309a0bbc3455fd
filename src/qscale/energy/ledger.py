"""The energy ledger: what this qscale run itself used, measured where the hardware lets us, else estimated.

Wrap a command's work in a ledger and attach `ledger.to_dict()` to its JSON:

    with EnergyLedger("qaoa") as ledger:
        result = run_qaoa(...)
        ledger.add_qpu("superconducting", qubits=12, two_qubit_depth=20, shots=1024)  # optional projection
    emit(with_ledger(result.to_json(), ledger), as_json, human)

Sources, per component: NVIDIA GPUs through NVML's total-energy counter ("measured"); CPU packages through
RAPL when readable ("measured"), otherwise this process's CPU time × a stated watts-per-core ("estimated");
memory as resident size × a stated watts-per-GB ("estimated"). `kind` is "measured" when every component is
measured, "estimated" when none is, "mixed" otherwise. Projected QPU energy of simulated quantum work is
kept apart (`projected_qpu`) and never added to the run's own `energy_j`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from qscale.energy.data import measurement_constants
from qscale.energy.meters import Meter, nvml_meters, rapl_meters
from qscale.energy.qpu import SCENARIOS, qpu_job

_CURRENT: ContextVar[EnergyLedger | None] = ContextVar("qscale_energy_ledger", default=None)
CPU_ENV = "QSCALE_CPU_W_PER_CORE"


def _cpu_seconds() -> float:
    """CPU time of this process (all threads, fine-grained) plus its waited-for children."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _rss_gb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 1e9
    except Exception:  # psutil missing or the process table unreadable: no memory component
        return 0.0


def cpu_power_per_core() -> tuple[float, str]:
    """Watts per busy core (QSCALE_CPU_W_PER_CORE, else the TDP-per-core constant) and its source."""
    const = measurement_constants()["cpu"]
    override = os.environ.get(CPU_ENV)
    if override:
        try:
            value = float(override)
            if value > 0:
                return value, f"environment variable {CPU_ENV}"
        except ValueError:
            pass
    return float(const["w_per_core"]), str(const["source"])


class EnergyLedger:
    """Energy and time of a block of work, by source, plus projected QPU work attached to it."""

    def __init__(self, label: str = "run", *, meters: list[Meter] | None = None) -> None:
        self.label = label
        self._meters = meters
        self._start: dict[str, Any] | None = None
        self._stop: dict[str, Any] | None = None
        self._qpu: list[dict[str, Any]] = []

    # -- lifecycle -------------------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        assert self._meters is not None
        return {
            "wall": time.perf_counter(),
            "cpu": _cpu_seconds(),
            "rss_gb": _rss_gb(),
            "meters": [m.read_j() for m in self._meters],
        }

    def start(self) -> EnergyLedger:
        if self._meters is None:
            self._meters = [*nvml_meters(), *rapl_meters()]
        self._start, self._stop = self._snapshot(), None
        return self

    def stop(self) -> EnergyLedger:
        if self._start is None:
            raise RuntimeError("EnergyLedger.stop() before start()")
        if self._stop is None:
            self._stop = self._snapshot()
        return self

    def __enter__(self) -> EnergyLedger:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._start is not None and self._stop is None

    # -- projected quantum work ------------------------------------------------------------------------
    def add_qpu(
        self,
        modality: str,
        qubits: int,
        two_qubit_depth: int,
        shots: int,
        circuits: int = 1,
        iterations: int = 1,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Record simulated quantum work as projected QPU time and energy on `modality` hardware."""
        job = qpu_job(modality, qubits, two_qubit_depth, shots, circuits, iterations).report
        entry = {
            "label": label or f"{job['modality']} job",
            "kind": "projected",
            "modality": job["modality"],
            "qubits": job["qubits"],
            "two_qubit_depth": job["two_qubit_depth"],
            "shots": job["shots"],
            "circuits": job["circuits"],
            "iterations": job["iterations"],
            "energy_j": job["energy_j"],
            "seconds": job["seconds"],
            "power_w": job["power_w"],
            "model": "qscale.energy.qpu (parameters and sources: qscale/energy/data/qpu.toml)",
        }
        self._qpu.append(entry)
        return entry

    # -- report ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON block for a command's output (reads the counters now if the ledger still runs)."""
        if self._start is None:
            raise RuntimeError("EnergyLedger.to_dict() before start()")
        assert self._meters is not None
        end = self._stop or self._snapshot()
        seconds = end["wall"] - self._start["wall"]
        breakdown: list[dict[str, Any]] = []
        has_rapl = False
        for meter, a, b in zip(self._meters, self._start["meters"], end["meters"], strict=True):
            has_rapl = has_rapl or meter.domain == "cpu"
            breakdown.append({"source": meter.name, "kind": "measured", "energy_j": b - a, "method": meter.method})
        cpu_s = max(0.0, end["cpu"] - self._start["cpu"])
        if not has_rapl:
            w_core, src = cpu_power_per_core()
            breakdown.append(
                {
                    "source": "cpu (this process)",
                    "kind": "estimated",
                    "energy_j": cpu_s * w_core,
                    "method": f"process CPU time {cpu_s:.3f} s x {w_core} W per core ({src})",
                }
            )
        mem_gb = (self._start["rss_gb"] + end["rss_gb"]) / 2
        if mem_gb > 0:
            mem = measurement_constants()["memory"]
            breakdown.append(
                {
                    "source": "memory (this process)",
                    "kind": "estimated",
                    "energy_j": mem_gb * float(mem["w_per_gb"]) * seconds,
                    "method": f"mean resident size {mem_gb:.3f} GB x {mem['w_per_gb']} W/GB x {seconds:.3f} s "
                    f"({mem['source']})",
                }
            )
        kinds = {item["kind"] for item in breakdown}
        kind = "measured" if kinds == {"measured"} else "estimated" if "measured" not in kinds else "mixed"
        out: dict[str, Any] = {
            "label": self.label,
            "energy_j": sum(item["energy_j"] for item in breakdown),
            "seconds": seconds,
            "cpu_seconds": cpu_s,
            "kind": kind,
            "breakdown": breakdown,
            "running": self._stop is None,
            "projected_qpu": list(self._qpu),
            "projected_qpu_energy_j": (
                {sc: sum(e["energy_j"][sc] for e in self._qpu) for sc in SCENARIOS} if self._qpu else None
            ),
            "note": "energy_j is this run's classical hardware; projected QPU energy is listed apart, not added",
        }
        return out


def current_ledger() -> EnergyLedger | None:
    """The ledger of the innermost `ledger_scope`, if any (lets deep code add projected QPU work)."""
    return _CURRENT.get()


@contextmanager
def ledger_scope(label: str = "run") -> Iterator[EnergyLedger]:
    """Run a block inside a started ledger that `current_ledger()` returns."""
    ledger = EnergyLedger(label).start()
    token = _CURRENT.set(ledger)
    try:
        yield ledger
    finally:
        ledger.stop()
        _CURRENT.reset(token)


def with_ledger(result: dict[str, Any], ledger: EnergyLedger | None = None) -> dict[str, Any]:
    """`result` plus an "energy" entry from `ledger` (default: the current one). Never overwrites a key."""
    ledger = ledger or current_ledger()
    if ledger is None:
        return result
    if "energy" in result:
        raise ValueError("result already has an 'energy' key; rename it before attaching the ledger")
    return {**result, "energy": ledger.to_dict()}


def ledgered(label: str | None = None) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorator for a function returning a result dict: run it in a ledger scope and attach the ledger."""

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> dict[str, Any]:
            with ledger_scope(label or fn.__name__) as ledger:
                result = fn(*args, **kwargs)
            return with_ledger(result, ledger)

        return wrapper

    return deco
