"""VQE's shot-mode energies on a device executor (`qscale vqe --backend NAME --shots N`).

Same estimator as `pauli_measurement.SampledEnergy` (qubit-wise commuting groups, one measurement circuit
each, parities averaged), but all groups and all parameter rows of one energy (or one parameter-shift
gradient) go to the device together, as one job (`BackendExecutor.sample_many`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qscale.algorithms.variational.pauli_measurement import SampledEnergy
from qscale.quantum.circuit import Circuit
from qscale.quantum.pauli import PauliSum, parities


class BackendEnergy(SampledEnergy):
    """Estimate <H> from `shots` samples per measurement group, taken by `executor` (a BackendExecutor)."""

    def __init__(self, op: PauliSum, shots: int, executor: Any, seed: int = 0):
        super().__init__(op, shots, seed=seed, executor=executor)
        executor.check_width(op.n_qubits)

    def __call__(self, circuit: Circuit, params: np.ndarray) -> np.ndarray:
        params = np.atleast_2d(np.asarray(params, dtype=np.float64))
        total = np.full(params.shape[0], self.constant)
        circuits = self._measurement_circuits(circuit)
        outcomes = self.executor.sample_many([(mc, params) for mc in circuits], self.shots)
        self.circuit_runs += params.shape[0] * len(circuits)
        for (_, members), idx in zip(self.groups, outcomes, strict=True):
            for mask, coef in members:
                total += coef * parities(idx, mask).mean(axis=1)
        return total

    def report(self) -> dict:
        """Backend summary plus the device figures of the measurement circuits (worst case over them)."""
        s = self.executor.device_summary()
        return {
            "backend": s,
            "transpiled_depth": s.get("transpiled_depth_max"),
            "transpiled_two_qubit_gates": s.get("transpiled_two_qubit_gates_max"),
            "estimated_fidelity": s.get("estimated_fidelity_min"),
        }
