"""Time and energy of a measured workload on each platform: the one pricing model of qscale.

Why one module: the offload planner's rows, the runtime's device clock and the outlook's per-task break-even
(outlook/tasks.py) must not disagree, so all of them price QPU work here.
- NISQ device (devices.toml): shot = shot_base + depth x layer + readout; per iteration: latency +
  ceil(jobs / lanes) x job_overhead + circuits x (circuit_overhead + shots x shot), jobs by the runtime's packing
  rule; device time = iterations x that; wall = queue + device time + the host's measured work.
- Fault-tolerant device: `qscale energy ft` (qscale.energy.ft.estimate_ft, the Azure estimator's model) times one
  run of a circuit (rotations -> T states) on the era's qubit model; execution = runs x that; plus the same
  per-iteration latency and job overhead; the machine's logical, operation and physical caps must hold.
- Energy = qscale.energy.qpu.power_w (the modality's power model) at the job's qubits (physical qubits for FT)
  x device time, plus the host's work at the CPU's per-core power; a machine dedicated to the job, as in qpu.py.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from qscale.coproc.devices import SCENARIOS, FtDevice, NisqDevice, nisq_for_modality
from qscale.coproc.runtime import jobs_needed
from qscale.energy.data import measurement_constants, modality
from qscale.energy.qpu import power_w
from qscale.errors import QscaleUserError

MIN_FIDELITY = 1e-3  # assumed: below this a NISQ run's signal is lost in noise (mitigation would need >1e6x shots)


@dataclass(frozen=True)
class Workload:
    """A task's quantum work as qscale's own run measured it (then scaled, as `source` says)."""

    task: str
    scope: str
    qubits: int
    two_qubit_depth: int
    two_qubit_gates: int  # per circuit
    rotations: int  # arbitrary-angle gates per circuit (T states on a fault-tolerant machine)
    measurements: int  # per circuit
    shots: int
    circuits_per_iteration: int
    iterations: int  # dependent rounds: each waits for the previous one's results
    host_s_per_iteration: float  # measured classical work between rounds
    classical: dict[str, Any]  # the classical best on the same data: method, seconds, energy_j, kind
    quality: dict[str, Any]  # metric, quantum (simulated), classical, higher_is_better, kind, note
    source: str
    t_count: int = 0
    measured: dict[str, Any] = field(default_factory=dict)  # the raw counts of the probe run, before scaling

    @property
    def circuits(self) -> int:
        return self.circuits_per_iteration * self.iterations

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"circuits": self.circuits, "kind": "measured (probe run), scaled as `source` says"}


def cpu_w() -> float:
    """Power of one busy CPU core (the energy ledger's fallback constant, measurement.toml)."""
    return float(measurement_constants()["cpu"]["w_per_core"])


def nisq_seconds(
    dev: NisqDevice, depth: float, circuits: float, iterations: float, shots: float, scenario: str
) -> dict[str, float]:
    """Device time of `iterations` rounds of `circuits` circuits x `shots` shots (see the module docstring)."""
    p = {k: getattr(dev, k).at(scenario) for k in ("shot_base_s", "layer_s", "readout_s", "circuit_overhead_s",
                                                   "job_overhead_s", "latency_s")}  # fmt: skip
    shot = p["shot_base_s"] + depth * p["layer_s"] + p["readout_s"]
    jobs = jobs_needed(max(1, math.ceil(circuits)), max(0, int(shots)), int(dev.max_circuits_per_job.value),
                       int(dev.max_shots_per_job.value))  # fmt: skip
    rounds_of_jobs = math.ceil(jobs / dev.lanes.value)
    execution = iterations * circuits * shots * shot
    overhead = iterations * (p["latency_s"] + rounds_of_jobs * p["job_overhead_s"] + circuits * p["circuit_overhead_s"])
    return {"shot_s": shot, "jobs_per_iteration": jobs, "execution_s": execution, "overhead_s": overhead,
            "device_s": execution + overhead}  # fmt: skip


@cache
def time_nodes(modality_name: str, depth: float, circuits: float, iterations: float, shots: float):
    """(seconds per shot, overhead seconds of the whole task) at low / typical / high on today's device of the
    modality: what the outlook multiplies by its (mitigated) shot count. Same formula as nisq_seconds."""
    dev = nisq_for_modality(modality_name)
    shot, overhead = [], []
    for sc in SCENARIOS:
        t = nisq_seconds(dev, depth, circuits, iterations, shots, sc)
        shot.append(t["shot_s"])
        overhead.append(t["overhead_s"])
    return tuple(shot), tuple(overhead)


def _fidelity(dev: NisqDevice, wl: Workload, scenario: str) -> float:
    """Circuit fidelity estimate (1 - p2)^(two-qubit gates): gate errors only, no readout or decoherence."""
    return float((1.0 - dev.two_qubit_error.at(scenario)) ** wl.two_qubit_gates)


def nisq_row(dev: NisqDevice, wl: Workload, scenario: str = "typical") -> dict[str, Any]:
    row = _row_base(dev, wl, scenario)
    if wl.qubits > dev.max_qubits.value:
        return row | {"fits": False, "reason": f"needs {wl.qubits} qubits, {dev.key} has {int(dev.max_qubits.value)}"}
    fidelity = _fidelity(dev, wl, scenario)
    if fidelity < MIN_FIDELITY:
        return row | {"fits": False, "fidelity_estimate": fidelity,
                      "reason": f"circuit fidelity (1 - p2)^{wl.two_qubit_gates:.3g} = {fidelity:.2g}: no signal left "
                      f"without error correction (below {MIN_FIDELITY:g})"}  # fmt: skip
    t = nisq_seconds(dev, wl.two_qubit_depth, wl.circuits_per_iteration, wl.iterations, wl.shots, scenario)
    power = power_w(modality(dev.modality), wl.qubits, scenario)["total_w"]
    host_s = wl.host_s_per_iteration * wl.iterations
    queue = dev.queue_s.at(scenario)
    row |= {
        "fits": True,
        "wall_s": queue + t["device_s"] + host_s,
        "energy_j": power * t["device_s"] + cpu_w() * host_s,
        "device_s": t["device_s"],
        "queue_s": queue,
        "host_s": host_s,
        "qpu_power_w": power,
        "jobs": t["jobs_per_iteration"] * wl.iterations,
        "shot_s": t["shot_s"],
        "fidelity_estimate": fidelity,
    }
    if dev.hqc_base is not None and dev.hqc_per is not None:
        ops = wl.rotations + 10 * wl.two_qubit_gates + 5 * wl.measurements
        row["hqc"] = wl.circuits * (dev.hqc_base.value + wl.shots * ops / dev.hqc_per.value)
    return row


@cache
def _ft(model: str, qubits: int, rotations: int, t_count: int, measurements: int) -> dict[str, Any] | None:
    from qscale.energy.ft import estimate_ft

    try:
        r = estimate_ft(logical_qubits=qubits, qubit_model_name=model, rotation_count=rotations, t_count=t_count,
                        measurement_count=measurements, logical_depth=1).to_json()  # fmt: skip
    except QscaleUserError:
        return None
    return {k: r[k] for k in ("runtime_s", "physical_qubits", "code_distance", "t_factories", "t_states",
                              "logical_depth")}  # fmt: skip


def ft_row(dev: FtDevice, wl: Workload, scenario: str = "typical") -> dict[str, Any]:
    row = _row_base(dev, wl, scenario)
    ops = wl.rotations + wl.t_count + wl.two_qubit_gates + wl.measurements
    if wl.qubits > dev.max_logical_qubits.value:
        return row | {"fits": False, "reason": f"needs {wl.qubits} logical qubits, the {dev.era} machine has "
                      f"{int(dev.max_logical_qubits.value)}"}  # fmt: skip
    if ops > dev.max_logical_operations.value:
        return row | {"fits": False, "reason": f"{ops:.3g} logical operations per circuit exceed the "
                      f"{dev.max_logical_operations.value:.0e} the {dev.era} machine runs"}  # fmt: skip
    run = _ft(dev.qubit_model, wl.qubits, wl.rotations, wl.t_count, max(wl.measurements, 1))
    if run is None:
        return row | {"fits": False, "reason": f"{dev.qubit_model} cannot reach the error budget for this circuit"}
    if run["physical_qubits"] > dev.max_physical_qubits.value:
        return row | {"fits": False, "reason": f"needs {run['physical_qubits']:,} physical qubits, more than the "
                      f"{dev.max_physical_qubits.value:.0e} assumed for the {dev.era}"}  # fmt: skip
    runs = wl.circuits * wl.shots
    execution = runs * run["runtime_s"]
    overhead = wl.iterations * (dev.latency_s.at(scenario) + dev.job_overhead_s.at(scenario))
    device_s = execution + overhead
    power = power_w(modality(dev.modality), run["physical_qubits"], scenario)["total_w"]
    host_s = wl.host_s_per_iteration * wl.iterations
    queue = dev.queue_s.at(scenario)
    return row | {
        "fits": True,
        "wall_s": queue + device_s + host_s,
        "energy_j": power * device_s + cpu_w() * host_s,
        "device_s": device_s,
        "queue_s": queue,
        "host_s": host_s,
        "qpu_power_w": power,
        "ft_run": run,
        "fidelity_estimate": 1.0 - 1e-3,  # the estimator's total error budget per run
    }


def price_row(dev: NisqDevice | FtDevice, wl: Workload, scenario: str = "typical") -> dict[str, Any]:
    """The row of `wl` on `dev`, whichever kind of machine it is."""
    return nisq_row(dev, wl, scenario) if isinstance(dev, NisqDevice) else ft_row(dev, wl, scenario)


def _row_base(dev: NisqDevice | FtDevice, wl: Workload, scenario: str) -> dict[str, Any]:
    return {"platform": dev.key, "platform_name": dev.name, "era": dev.era, "kind": "projected",
            "scenario": scenario, "task": wl.task, "scope": wl.scope}  # fmt: skip
