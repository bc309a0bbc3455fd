"""`estimator_executor`: expectation values of circuits on a named backend, for layers that run in shot mode.

The QNN layer (and anything else that needs <O> of circuits it builds) takes an `executor` with the signature

    executor(circuits: list[QuantumCircuit],
             observables: list[SparsePauliOp] | list[list[SparsePauliOp]],
             shots: int) -> np.ndarray

* `circuits`: bound Qiskit circuits (no free parameters), measurements optional (they are removed).
* `observables`: one observable per circuit (result shape (C,)), or a list per circuit, all of the same
  length M (result shape (C, M)). Anything Qiskit's `ObservablesArray` accepts works as an observable
  (SparsePauliOp, Pauli, label string, {label: coefficient}); observables must be Hermitian.
* `shots`: shots per measured basis (one basis per qubit-wise commuting group of Pauli terms); 0 means
  exact expectation values and is accepted by the `exact` backend only.
Calls on one executor continue one seeded random stream, so a run is reproducible from `seed`.
The backend object (with its device reports) is the executor's `backend` attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.primitives.backends import Backend, resolve_backend


class EstimatorExecutor:
    """Callable (circuits, observables, shots) -> expectation values, on one backend."""

    def __init__(self, backend: Backend, shots: int):
        self.backend = backend
        self.shots = _check(shots, backend)

    def __call__(self, circuits: Sequence[Any], observables: Sequence[Any], shots: int | None = None) -> np.ndarray:
        shots = self.shots if shots is None else _check(shots, self.backend)
        circuits = list(circuits)
        observables = list(observables)
        if len(circuits) != len(observables):
            raise QscaleUserError(f"{len(circuits)} circuits but {len(observables)} observables")
        nested = bool(observables) and all(isinstance(o, list | tuple) for o in observables)
        lists = [list(o) for o in observables] if nested else [[o] for o in observables]
        if nested and len({len(o) for o in lists}) > 1:
            raise QscaleUserError("every circuit needs the same number of observables")
        for qc in circuits:
            if qc.parameters:
                names = sorted(p.name for p in qc.parameters)
                raise QscaleUserError(f"circuits must be bound; one has free parameters {names}")
        if not circuits:
            return np.zeros((0, 0) if nested else (0,))
        values = self._exact(circuits, lists) if shots == 0 else self.backend.expectations(circuits, lists, shots)
        return values if nested else values[:, 0]

    def _exact(self, circuits: list, lists: list[list]) -> np.ndarray:
        from qscale.primitives.estimator import Estimator

        res = Estimator().run([(qc.remove_final_measurements(inplace=False), obs)
                               for qc, obs in zip(circuits, lists, strict=True)]).result()
        return np.stack([np.asarray(r.data.evs, dtype=float) for r in res])


def _check(shots: object, backend: Backend) -> int:
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 0:
        raise QscaleUserError(f"shots must be a non-negative integer, got {shots!r}")
    if shots == 0 and backend.kind != "exact":
        raise QscaleUserError(f"backend {backend.name} reports samples: shots must be positive (0 = exact is for "
                              "the exact backend)")
    return int(shots)


def estimator_executor(backend_name: str = "exact", shots: int = 0, seed: int = 0) -> EstimatorExecutor:
    """An executor on `backend_name` (exact, aer, fake_<device>, module:callable) with default `shots`."""
    return EstimatorExecutor(resolve_backend(backend_name, seed=seed), shots)
