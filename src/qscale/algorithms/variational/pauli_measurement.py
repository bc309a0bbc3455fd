"""Shot-noise estimates of <H>: what a quantum computer reports, measured basis by basis.

Terms are grouped greedily into qubit-wise commuting sets (each qubit sees one of X, Y, Z or nothing);
each group is one measurement circuit: the ansatz, then H (X basis) or S†·H (Y basis) on the qubits
concerned, then `shots` computational-basis samples. A term's estimate is the mean of its parity
(−1)^(bits on its support), weighted by its coefficient. Identity terms are added exactly.
"""

from __future__ import annotations

import numpy as np

from qscale.quantum.circuit import Circuit
from qscale.quantum.executor import Executor, exact_executor
from qscale.quantum.pauli import PauliSum, parities, qubitwise_groups
from qscale.validation import check_int


class SampledEnergy:
    """Estimate <H> from `shots` samples per measurement group; reproducible for a given seed."""

    def __init__(self, op: PauliSum, shots: int, seed: int = 0, device: str = "cpu", dtype: str = "complex128",
                 executor: Executor | None = None):
        check_int(shots, "--shots", min=1)
        self.op, self.shots, self.device, self.dtype = op, shots, device, dtype
        self.executor = exact_executor(executor)
        self.groups = qubitwise_groups(op)
        self.constant = float(sum(c for lab, c in op.terms if set(lab) == {"I"}))
        self.rng = np.random.default_rng(seed)
        self._circuits: dict[int, tuple[Circuit, list[Circuit]]] = {}
        self.circuit_runs = 0

    def _measurement_circuits(self, circuit: Circuit) -> list[Circuit]:
        key = id(circuit)
        if key not in self._circuits:  # keep `circuit` alive so its id is not reused
            out = []
            for basis, _ in self.groups:
                c = circuit.copy()
                for q, ch in enumerate(reversed(basis)):
                    if ch == "X":
                        c.h(q)
                    elif ch == "Y":
                        c.sdg(q).h(q)
                out.append(c)
            self._circuits[key] = (circuit, out)
        return self._circuits[key][1]

    def __call__(self, circuit: Circuit, params: np.ndarray) -> np.ndarray:
        """Estimates of shape (B,) for params (B, P) (or (P,))."""
        params = np.atleast_2d(np.asarray(params, dtype=np.float64))
        total = np.full(params.shape[0], self.constant)
        for (_, members), mc in zip(self.groups, self._measurement_circuits(circuit), strict=True):
            idx = self.executor.sample(mc, params, self.shots, self.rng, device=self.device, dtype=self.dtype)
            self.circuit_runs += params.shape[0]
            for mask, coef in members:
                total += coef * parities(idx, mask).mean(axis=1)
        return total

    @property
    def shots_per_energy(self) -> int:
        return self.shots * len(self.groups)
