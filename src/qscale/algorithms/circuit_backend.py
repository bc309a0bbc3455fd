"""Run qscale `Circuit`s on a named backend: export to Qiskit once, bind qscale's parameter rows by name.

Shared by the VQE and Born-machine backend hooks, which both ask "sample this parameterised qscale circuit
for these parameter rows with this many shots" (qscale's `simulate` + `sample`, but on a device).
"""

from __future__ import annotations

import numpy as np

from qscale.quantum.circuit import Circuit
from qscale.quantum.export import to_qiskit


class CircuitSampler:
    """`sample(circuit, params (B, P), shots) -> (B, shots)` basis-state indices (bit q = qubit q) on a backend."""

    def __init__(self, backend_name: str, seed: int):
        from qscale.primitives.backends import resolve_backend

        self.backend = resolve_backend(backend_name, seed=seed)
        self._exported: dict[int, tuple[Circuit, object, np.ndarray]] = {}  # id -> (circuit, qiskit, column order)

    def check_width(self, n_qubits: int) -> None:
        self.backend.check_width(n_qubits)

    def _export(self, circuit: Circuit):
        key = id(circuit)
        if key not in self._exported:  # the entry keeps `circuit` alive, so its id is not reused
            qc = to_qiskit(circuit)
            qc.measure_all()
            slot = {p.name: circuit.parameter_index(p) for p in circuit.parameters}
            order = np.array([slot[p.name] for p in qc.parameters], dtype=np.int64)
            self._exported[key] = (circuit, qc, order)
        return self._exported[key][1], self._exported[key][2]

    def sample_many(self, jobs: list[tuple[Circuit, np.ndarray | None]], shots: int) -> list[np.ndarray]:
        """Several (circuit, parameter rows) at once, so a device runs them as one job."""
        pubs = []
        for circuit, params in jobs:
            qc, order = self._export(circuit)
            rows = None if params is None else np.atleast_2d(np.asarray(params, dtype=np.float64))[:, order]
            pubs.append((qc, rows))
        return self.backend.sample(pubs, shots)

    def sample(self, circuit: Circuit, params: np.ndarray | None, shots: int) -> np.ndarray:
        return self.sample_many([(circuit, params)], shots)[0]

    def device_summary(self) -> dict:
        return self.backend.summary()
