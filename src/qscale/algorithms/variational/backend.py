"""VQE's shot-mode energies on a named backend (`qscale vqe --backend NAME --shots N`).

Same estimator as `pauli_measurement.SampledEnergy` (qubit-wise commuting groups, one measurement circuit
each, parities averaged), but the measurement circuits run through the backend's sampler: all groups and all
parameter rows of one energy (or one parameter-shift gradient) go to the device together.
"""

from __future__ import annotations

import numpy as np

from qscale.algorithms.circuit_backend import CircuitSampler
from qscale.algorithms.variational.pauli_measurement import SampledEnergy, _parities
from qscale.quantum.circuit import Circuit
from qscale.quantum.pauli import PauliSum


class BackendEnergy(SampledEnergy):
    """Estimate <H> from `shots` samples per measurement group, taken on `backend`."""

    def __init__(self, op: PauliSum, shots: int, backend: str, seed: int = 0, **kwargs):
        super().__init__(op, shots, seed=seed, **kwargs)
        self.runner = CircuitSampler(backend, seed)
        self.runner.check_width(op.n_qubits)

    def __call__(self, circuit: Circuit, params: np.ndarray) -> np.ndarray:
        params = np.atleast_2d(np.asarray(params, dtype=np.float64))
        total = np.full(params.shape[0], self.constant)
        circuits = self._measurement_circuits(circuit)
        outcomes = self.runner.sample_many([(mc, params) for mc in circuits], self.shots)
        self.circuit_runs += params.shape[0] * len(circuits)
        for (_, members), idx in zip(self.groups, outcomes, strict=True):
            for mask, coef in members:
                total += coef * _parities(idx, mask).mean(axis=1)
        return total

    def report(self) -> dict:
        """Backend summary plus the device figures of the measurement circuits (worst case over them)."""
        s = self.runner.device_summary()
        return {
            "backend": s,
            "transpiled_depth": s.get("transpiled_depth_max"),
            "transpiled_two_qubit_gates": s.get("transpiled_two_qubit_gates_max"),
            "estimated_fidelity": s.get("estimated_fidelity_min"),
        }
