"""Quantum resources of a qPCA run (counted) and their projected QPU time and energy (qscale.energy.qpu).

Counted per QPE run: qubits, phase-estimation bits, DME copies of rho, two-qubit depth of the DME steps (from
the gate circuit `controlled_partial_swap`). Counted per run of the algorithm: eigenvalue-sampling shots and
tomography shots, where each tomography shot needs a QPE run that landed in the wanted outcome, so it costs
1 / P(outcome) runs. Not counted in the depth: loading each copy of rho from the data. Generic state
preparation of the m + ceil(log2 n)-qubit purification takes about (23/24) 2^q CNOTs (Plesch & Brukner,
PRA 83, 032302, 2011; arXiv 1003.5760); the qPCA literature assumes a QRAM instead. The projection with the
DME depth only is therefore a lower bound, and the one that adds generic state preparation is an upper one.
The QPU model treats the depth as physical layers without error correction: at these depths real hardware
would need fault tolerance (`qscale energy ft`), which only raises time and energy.
"""

from __future__ import annotations

import math
from functools import cache

from qscale.algorithms.qpca.circuit import controlled_partial_swap
from qscale.algorithms.qpca.schedule import Schedule
from qscale.energy.data import modalities
from qscale.energy.qpu import qpu_job
from qscale.quantum.circuit import two_qubit_depth

STATE_PREP_SOURCE = "Plesch & Brukner, PRA 83, 032302 (2011), arXiv 1003.5760: (23/24) 2^q CNOTs for q qubits"


@cache
def dme_step_depth(m: int) -> tuple[int, int]:
    """(two-qubit depth, two-qubit gate count) of one controlled partial-swap step on m system qubits."""
    qc = controlled_partial_swap(m, 0.1)
    return two_qubit_depth(qc), sum(1 for op in qc.operations if len(op.qubits) == 2)


def _project(qubits: int, depth: int, runs: int) -> dict:
    out = {}
    for name in modalities():
        job = qpu_job(name, qubits, depth, max(1, runs)).report
        out[name] = {"seconds": job["seconds"], "energy_j": job["energy_j"], "power_w": job["power_w"]}
    return out


def resources(
    schedule: Schedule,
    m: int,
    samples: int,
    eigen_shots: int,
    tomography_bins: list[float],
    tomography_shots: int,
) -> dict:
    """All counted resources and the projected QPU figures; `tomography_bins` are the P(outcome) of each bin read."""
    depth_step, gates_step = dme_step_depth(m)
    index_qubits = max(1, math.ceil(math.log2(max(samples, 2))))
    qubits = 2 * m + 2 + index_qubits  # system, copy, parity ancilla, one (semiclassical) control, data index
    dme_depth = schedule.copies * depth_step
    tomo_measurements = len(tomography_bins) * (m + 1) * tomography_shots
    tomo_runs = sum(math.ceil((m + 1) * tomography_shots / max(p, 1e-300)) for p in tomography_bins)
    runs = eigen_shots + tomo_runs
    prep_cnots = math.ceil(23 / 24 * 2 ** (m + index_qubits))
    full_depth = dme_depth + (schedule.copies + 1) * prep_cnots
    return {
        "kind": "counted",
        "system_qubits": m,
        "phase_estimation_bits": schedule.bits,
        "qubits": qubits,
        "qubits_note": f"{m} system + {m} copy + 1 parity ancilla + 1 control (semiclassical QPE; the textbook "
        f"circuit holds {schedule.bits} control qubits instead) + {index_qubits} data-index qubits to prepare each "
        "copy of rho as a purification",
        "copies_per_qpe_run": schedule.copies + 1,
        "copies_note": "DME copies plus the input copy of rho that phase estimation acts on",
        "copies_total": (schedule.copies + 1) * runs,
        "dme_steps_per_power": [schedule.steps(k) for k in range(schedule.bits)],
        "dme_step_two_qubit_depth": depth_step,
        "dme_step_two_qubit_gates": gates_step,
        "two_qubit_depth_per_qpe_run": dme_depth,
        "state_prep_cnots_per_copy": {"value": prep_cnots, "kind": "assumed", "source": STATE_PREP_SOURCE},
        "two_qubit_depth_with_state_prep": full_depth,
        "eigenvalue_shots": eigen_shots,
        "tomography_settings_per_vector": m + 1,
        "tomography_shots_per_setting": tomography_shots,
        "tomography_vectors": len(tomography_bins),
        "tomography_measurements": tomo_measurements,
        "tomography_qpe_runs": tomo_runs,
        "shots": runs,
        "shots_note": "QPE runs in all: eigenvalue sampling plus tomography runs, each tomography shot needing a "
        "run whose outcome is the wanted eigenvalue bin (1 / P(bin) runs on average)",
        "schedule": schedule.to_dict(),
        "projected_qpu": {
            "kind": "projected",
            "model": "qscale.energy.qpu (parameters and sources in qscale/energy/data/qpu.toml)",
            "dme_only_lower_bound": _project(qubits, dme_depth, runs),
            "with_generic_state_prep": _project(qubits, full_depth, runs),
            "note": "physical qubits without error correction; data loading excluded from the lower bound",
        },
    }
