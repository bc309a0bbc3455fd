"""Energy of a quantum-processor job, per modality, as a low / typical / high range.

Power = static (cryogenics or lasers and vacuum, per module) + per-qubit control and readout; time = shots
of (reset + depth·(t_1q + t_2q) + measurement), plus per-circuit and per-iteration (classical optimisation
loop) overheads. The formulas and every parameter's source are in data/qpu.toml. All figures are projected.
"""

from __future__ import annotations

import math
from typing import Any

from qscale.energy.data import Modality, modality
from qscale.io import Result
from qscale.validation import check_count

SCENARIOS = ("low", "typical", "high")


def power_w(mod: Modality, qubits: int, scenario: str) -> dict[str, float]:
    """Power draw of a machine holding `qubits` qubits, split into static and per-qubit parts."""
    modules = math.ceil(qubits / max(mod.qubits_per_module.at(scenario), 1.0))
    static = modules * mod.static_w.at(scenario)
    control = qubits * mod.control_w_per_qubit.at(scenario)
    readout = qubits * mod.readout_w_per_qubit.at(scenario)
    return {
        "modules": modules,
        "static_w": static,
        "control_w": control,
        "readout_w": readout,
        "total_w": static + control + readout,
    }


def job_seconds(
    mod: Modality, two_qubit_depth: int, shots: int, circuits: int, iterations: int, scenario: str
) -> dict[str, float]:
    """Wall time of the job on the machine, split into quantum execution and overheads."""
    shot = (
        mod.t_reset_s.at(scenario)
        + two_qubit_depth * (mod.t_1q_s.at(scenario) + mod.t_2q_s.at(scenario))
        + mod.t_meas_s.at(scenario)
    )
    execution = iterations * circuits * shots * shot
    overhead = iterations * (circuits * mod.circuit_overhead_s.at(scenario) + mod.iteration_overhead_s.at(scenario))
    return {
        "shot_seconds": shot,
        "execution_seconds": execution,
        "overhead_seconds": overhead,
        "seconds": execution + overhead,
    }


class QpuJobResult(Result):
    """`qpu_job`'s answer: the `qscale energy qpu` JSON (seconds, power and energy per scenario, the inputs)."""


def qpu_job(
    modality_name: str,
    qubits: float,
    two_qubit_depth: float,
    shots: float,
    circuits: float = 1,
    iterations: float = 1,
) -> QpuJobResult:
    """Projected time and energy of a job (`circuits` circuits × `shots` shots, repeated `iterations` times)."""
    mod = modality(modality_name)
    n = check_count(qubits, "--qubits")
    depth = check_count(two_qubit_depth, "--two-qubit-depth", 0)
    n_shots = check_count(shots, "--shots")
    n_circuits = check_count(circuits, "--circuits")
    n_iter = check_count(iterations, "--iterations")
    scenarios: dict[str, Any] = {}
    for sc in SCENARIOS:
        p = power_w(mod, n, sc)
        t = job_seconds(mod, depth, n_shots, n_circuits, n_iter, sc)
        scenarios[sc] = {**p, **t, "energy_j": p["total_w"] * t["seconds"]}
    return QpuJobResult({
        "kind": "projected",
        "modality": mod.key,
        "description": mod.description,
        "qubits": n,
        "two_qubit_depth": depth,
        "shots": n_shots,
        "circuits": n_circuits,
        "iterations": n_iter,
        "energy_j": {sc: scenarios[sc]["energy_j"] for sc in SCENARIOS},
        "energy_kwh": {sc: scenarios[sc]["energy_j"] / 3.6e6 for sc in SCENARIOS},
        "seconds": {sc: scenarios[sc]["seconds"] for sc in SCENARIOS},
        "power_w": {sc: scenarios[sc]["total_w"] for sc in SCENARIOS},
        "scenarios": scenarios,
        "parameters": parameters(mod),
        "model": "power = modules*static_w + qubits*(control_w_per_qubit + readout_w_per_qubit); "
        "shot = t_reset + depth*(t_1q + t_2q) + t_meas; "
        "seconds = iterations*(circuits*(shots*shot + circuit_overhead) + iteration_overhead); energy = power*seconds",
        "note": "low/typical/high = the ends of the published (or assumed) ranges giving the lowest/central/highest "
        "energy; a machine dedicated to the job is assumed",
    })


def parameters(mod: Modality) -> dict[str, Any]:
    """Every model parameter of a modality with its three values and source (for the JSON echo)."""
    names = [f for f in type(mod).model_fields if f not in ("key", "description")]
    return {name: getattr(mod, name).model_dump() | {"kind": "assumed"} for name in names}
