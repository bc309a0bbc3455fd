"""`RecordingExecutor`: any executor, with every circuit it runs submitted through a `HybridRuntime`.

Why: the offload planner measures a task's workload from qscale's own run of it. The driver is handed this
executor (`executor=`), so each circuit it runs is counted, packed into jobs and timed on the runtime's device
model, then computed by the wrapped executor (exact by default), and the driver's numbers do not change. Nothing
is patched: two recording executors on two runtimes run side by side in one process without seeing each other.

Each parameter row of a `simulate` / `sample` call is one circuit; for qscale `Circuit`s the device model gets the
two-qubit depth and gate count (`qscale.quantum.circuit.two_qubit_counts`), for Qiskit circuits Qiskit's own. Drawing
shots from a simulated state stands in for the QPU's readout, so it is left out of the host clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qscale.coproc.runtime import HybridRuntime
from qscale.quantum.executor import EXACT, Batch, CircuitSpec, Executor, param_rows


def qiskit_counts(qc: Any) -> tuple[int, int]:
    """(two-qubit depth, two-qubit gates) of a Qiskit circuit."""
    two = [ci for ci in qc.data if ci.operation.num_qubits >= 2 and ci.operation.name != "barrier"]
    return qc.depth(lambda ci: ci.operation.num_qubits >= 2 and ci.operation.name != "barrier"), len(two)


class RecordingExecutor:
    """The executor protocol around `inner`, through `runtime`; `shots` is what a state-vector request stands for
    on the device (the driver's own shot count where it samples)."""

    def __init__(self, runtime: HybridRuntime, shots: int, inner: Executor | None = None):
        self.runtime, self.shots = runtime, shots
        self.inner: Executor = EXACT if inner is None else inner
        self.name = f"runtime({self.inner.name})"
        self.exact = self.inner.exact
        self.first: Batch | None = None  # the first and the last batch submitted (the probe reads their circuits)
        self.last: Batch | None = None
        self._counts: dict[int, tuple[Any, tuple[int, int]]] = {}

    def _specs(self, circuit: Any, rows: int) -> list[CircuitSpec]:
        key = id(circuit)
        if key not in self._counts:  # the entry keeps `circuit` alive, so its id is not reused
            if hasattr(circuit, "operations"):
                from qscale.quantum.circuit import two_qubit_counts

                self._counts[key] = (circuit, two_qubit_counts(circuit))
            else:
                self._counts[key] = (circuit, qiskit_counts(circuit))
        depth, gates = self._counts[key][1]
        width = circuit.n_qubits if hasattr(circuit, "n_qubits") else circuit.num_qubits
        return [CircuitSpec(width, depth, gates, payload=r) for r in range(rows)]

    def run(self, batch: Batch) -> Any:
        self.first = self.first or batch
        self.last = batch
        return self.runtime.run(batch.circuits, batch.shots, execute=batch.execute, combine=batch.combine)

    def _rows(self, circuit: Any, params: Any, shots: int, compute: Any, combine: Any) -> Any:
        """One circuit per parameter row; `compute(rows slice or None)` answers a contiguous part."""
        specs = self._specs(circuit, param_rows(params))
        batched = params is not None and getattr(params, "ndim", np.ndim(params)) == 2

        def execute(part: Sequence[CircuitSpec], _shots: int) -> Any:
            lo, hi = part[0].payload, part[-1].payload + 1
            return compute(None if params is None else params[lo:hi] if batched else params)

        return self.run(Batch(specs, shots, execute, combine))

    def simulate(self, circuit: Any, params: Any = None, **kwargs: Any) -> Any:
        import torch

        return self._rows(circuit, params, self.shots, lambda p: self.inner.simulate(circuit, p, **kwargs),
                          lambda parts: torch.cat(list(parts), dim=0))

    def sample(self, circuit: Any, params: Any, shots: int, rng: Any = None, **kwargs: Any) -> np.ndarray:
        if self.inner.exact:  # the states through the runtime, the draws (one stream over all rows) device-side
            from qscale.quantum.statevector import sample

            psi = self.simulate(circuit, params, **kwargs)
            with self.runtime.device_side():
                return sample(psi, shots, rng)
        return self._rows(circuit, params, shots, lambda p: self.inner.sample(circuit, p, shots, rng, **kwargs),
                          lambda parts: np.concatenate(list(parts), axis=0))

    def expectations(self, circuits: Sequence[Any], observables: Sequence[Any], shots: int | None = None) -> Any:
        circuits, observables = list(circuits), list(observables)
        specs = []
        for i, qc in enumerate(circuits):
            spec = self._specs(qc, 1)[0]
            specs.append(CircuitSpec(spec.qubits, spec.two_qubit_depth, spec.two_qubit_gates, payload=i))

        def execute(part: Sequence[CircuitSpec], s: int) -> Any:
            lo, hi = part[0].payload, part[-1].payload + 1
            return self.inner.expectations(circuits[lo:hi], observables[lo:hi], shots)

        return self.run(Batch(specs, self.shots if shots is None else shots, execute,
                              lambda parts: np.concatenate(list(parts), axis=0)))
