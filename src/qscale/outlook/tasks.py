"""Would a quantum co-processor save energy on a task in a given year? Classical vs projected QPU energy.

Classical: the task's FLOPs and memory traffic at the year's accelerator efficiency (the slower of the two
sets the time, as in a roofline), i.e. device time x power. QPU: the cheaper feasible of
- NISQ: the offload planner's device time (qscale.coproc.pricing on today's device of the modality: shot time,
  jobs, lanes, round trips) and qpu.py's power model, shots multiplied by the error-mitigation sampling overhead
  gamma^2 = exp(4 p G) for G two-qubit gates of error p (probabilistic error cancellation, gamma ~ exp(2 p G):
  Temme, Bravyi & Gambetta, PRL 119, 180509, 2017; van den Berg et al., Nat. Phys. 19, 1116, 2023), allowed
  while the overhead stays under the sampled limit and the circuit fits the machine;
- fault tolerant (from the sampled fault-tolerance year): the Azure-model runtime and size of one run at the
  sampled error rate (ftcost.py), times the runs, on qpu.py's power model at that many physical qubits.
Both sides exclude the facility (PUE) and the classical host of the QPU; a dedicated machine of the job's size
is assumed, as in qscale.energy.qpu.
"""

from __future__ import annotations

import numpy as np

from qscale.outlook import roadmap
from qscale.outlook.ftcost import ft_run
from qscale.outlook.sampling import Draws, compound
from qscale.outlook.scenarios import Task


def classical_energy_j(task: Task, d: Draws, year: int, base_year: int) -> np.ndarray:
    """Energy of the classical baseline: max(compute time, memory time) x device power, per sample."""
    flop_per_j = compound(d["flop_per_j_2025"], d["flop_efficiency_growth"], year - base_year) * d["flop_utilization"]
    byte_per_j = compound(d["bytes_per_j_2025"], d["bandwidth_efficiency_growth"], year - base_year)
    byte_per_j = byte_per_j * d["bandwidth_utilization"]
    return np.maximum(task.classical_flops / flop_per_j, task.classical_bytes / byte_per_j)


def nisq_energy_j(task: Task, modality: str, d: Draws, p2: np.ndarray, qubits: np.ndarray) -> np.ndarray:
    """Energy of the mitigated NISQ run per sample; NaN where it does not fit or the overhead is too large."""
    log_overhead = 4.0 * p2 * task.two_qubit_gates
    ok = (qubits >= task.qubits) & (log_overhead <= np.log(d["max_mitigation_overhead"]))
    u = d["qpu_scenario"]
    power = roadmap.on_range(roadmap.power_nodes(modality, task.qubits), u)
    shot_nodes, overhead_nodes = roadmap.time_nodes(
        modality, task.two_qubit_depth, task.circuits, task.iterations, task.shots
    )
    shots = task.runs * np.exp(np.where(ok, log_overhead, 0.0))
    seconds = shots * roadmap.on_range(shot_nodes, u) + roadmap.on_range(overhead_nodes, u)
    return np.where(ok, power * seconds, np.nan)


def ft_energy_j(task: Task, modality: str, d: Draws, p2: np.ndarray, qubits: np.ndarray, year: int) -> np.ndarray:
    """Energy of the fault-tolerant run per sample; NaN before the FT year or where the machine is too small."""
    out = np.full(len(p2), np.nan)
    u = d["qpu_scenario"]
    _, overhead_nodes = roadmap.time_nodes(modality, task.two_qubit_depth, task.circuits, task.iterations, task.shots)
    overhead_s = roadmap.on_range(overhead_nodes, u)
    for i in np.flatnonzero(year >= d["ft_year"]):
        run = ft_run(task.qubits, task.t_count, task.rotations, task.rotation_depth, task.measurements, float(p2[i]))
        if run is None or run.physical_qubits > qubits[i]:
            continue
        power = roadmap.on_range(roadmap.power_nodes(modality, run.physical_qubits), u[i : i + 1])[0]
        out[i] = power * (task.runs * run.runtime_s + overhead_s[i])
    return out


def task_year(task: Task, modality: str, d: Draws, year: int, base_year: int) -> dict[str, np.ndarray]:
    """Per-sample classical and QPU energy (J), the QPU mode used, and whether the QPU saves energy."""
    p2 = roadmap.error_2q(d, year, base_year)
    qubits = roadmap.qubits_per_system(d, year, base_year)
    improve = roadmap.qpu_improvement(d, year, base_year)
    nisq = nisq_energy_j(task, modality, d, p2, qubits) * improve
    ft = ft_energy_j(task, modality, d, p2, qubits, year) * improve
    qpu = np.fmin(nisq, ft)  # NaN only where neither path is feasible
    mode = np.where(np.isnan(qpu), "none", np.where(np.isnan(ft) | (nisq <= ft), "nisq", "ft"))
    classical = classical_energy_j(task, d, year, base_year)
    saves = ~np.isnan(qpu) & (qpu < classical)
    return {"classical_j": classical, "qpu_j": qpu, "mode": mode, "saves": saves, "error_2q": p2, "qubits": qubits}
