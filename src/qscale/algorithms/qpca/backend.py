"""qPCA's circuit method on a named backend, where it fits: one DME step as a gate circuit on the device.

A full qPCA run needs thousands to millions of density-matrix-exponentiation (DME) steps per phase-estimation
run, each consuming a fresh copy of rho, so no NISQ device runs it, and qscale's circuit method simulates it
on density matrices instead. What does fit on a device is the building block: one controlled partial swap
(`qpca_circuit.controlled_partial_swap`, 2m + 2 qubits). With `--backend`, that circuit runs on the backend
on a fixed test input (seeded random single-qubit states on every qubit, so all of its gates matter) and is
compared with the noiseless outcome distribution:
* `tvd_backend_to_exact` (simulated on the backend) beside `tvd_shot_noise_only` (the same shots drawn from the
  noiseless distribution: what the TVD would be with a perfect device);
* the device report of the step (transpiled depth, two-qubit gates, estimated fidelity);
* `projected_fidelity_per_qpe_run`: the step's estimated fidelity raised to the DME steps of one QPE run
  (projected, optimistic: it ignores idle decoherence and the state preparation of each copy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from qscale.algorithms.qpca.circuit import controlled_partial_swap
from qscale.quantum.circuit import Circuit
from qscale.quantum.statevector import probabilities, simulate


def test_input_step(m: int, dt: float, seed: int) -> Circuit:
    """Seeded random single-qubit states on all 2m + 2 qubits, then one controlled partial swap."""
    rng = np.random.default_rng(seed)
    step = controlled_partial_swap(m, dt)
    qc = Circuit(step.n_qubits)
    for q in range(step.n_qubits):
        qc.ry(q, float(rng.uniform(0, np.pi))).rz(q, float(rng.uniform(0, 2 * np.pi)))
    return qc.compose(step)


def dme_step_on_backend(backend: str, m: int, dt: float, steps_per_run: int, shots: int, seed: int,
                        executor: Any = None) -> dict:
    """The `backend` block of `qscale qpca --method circuit --backend NAME --json` (`executor`: a device
    executor to use instead of building one from `backend`)."""
    from qscale.primitives.executor import make_executor

    runner = executor or make_executor(backend, seed=seed)
    qc = test_input_step(m, dt, seed)
    runner.check_width(qc.n_qubits)
    with torch.no_grad():
        p = probabilities(simulate(qc))[0].numpy()
    drawn = runner.sample(qc, None, shots)[0]
    h = np.bincount(drawn, minlength=p.size) / shots
    ideal = np.random.default_rng(seed + 1).choice(p.size, size=shots, p=p / p.sum())
    h0 = np.bincount(ideal, minlength=p.size) / shots
    summary = runner.device_summary()
    fid = summary.get("estimated_fidelity_min")
    return {
        "kind": "simulated (noisy)" if summary["noisy"] else "simulated",
        "backend": summary,
        "circuit": f"one controlled partial swap (DME step) on {m} system qubits, {qc.n_qubits} qubits in all, "
        "on a seeded random product input",
        "shots": shots,
        "tvd_backend_to_exact": 0.5 * float(np.abs(h - p).sum()),
        "tvd_shot_noise_only": 0.5 * float(np.abs(h0 - p).sum()),
        "transpiled_depth": summary.get("transpiled_depth_max"),
        "transpiled_two_qubit_gates": summary.get("transpiled_two_qubit_gates_max"),
        "estimated_fidelity": fid,
        "dme_steps_per_qpe_run": steps_per_run,
        "projected_fidelity_per_qpe_run": None if fid is None else float(fid**steps_per_run),
        "projected_kind": "projected: step fidelity ^ DME steps per QPE run (no idle decoherence, no state prep)",
    }
