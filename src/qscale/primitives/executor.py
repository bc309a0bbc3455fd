"""Executors on named backends (`--backend NAME`): `make_executor` is the one place a backend name becomes one.

`make_executor("exact")` is qscale's exact simulator (`qscale.quantum.executor.EXACT`: the drivers' fast paths,
no Qiskit import). Any other name (aer, fake_<device>, module:callable; see `qscale.primitives.backends`) gives a
`BackendExecutor`, which answers the executor protocol (`qscale.quantum.executor.Executor`) on that backend:

* `sample(circuit, params, shots)`: a qscale `Circuit` exported to Qiskit once, parameter rows bound by name,
  sampled on the device: (B, shots) basis-state indices (bit q = qubit q);
* `expectations(circuits, observables, shots)`: bound Qiskit circuits (measurements are removed) and one observable
  per circuit (result (C,)) or a list of M per circuit (result (C, M)); anything Qiskit's `ObservablesArray`
  accepts works as an observable; `shots` per measured basis, 0 = exact values (exact backend only);
* `simulate` is refused (a device returns samples, not states); `run(batch)` computes the batch as given.

Calls on one executor continue one seeded random stream, so a run is reproducible from `seed`. The backend object
(with its device reports) is the executor's `backend` attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum.executor import EXACT, Batch, Executor

if TYPE_CHECKING:
    from qscale.primitives.backends import Backend
    from qscale.quantum.circuit import Circuit


class BackendExecutor:
    """The executor protocol on one `Backend` (qiskit-aer, a device snapshot, a user's V2 primitive)."""

    def __init__(self, backend: Backend, shots: int = 0):
        self.backend = backend
        self.name = backend.name
        self.exact = backend.kind == "exact"
        self.shots = _check(shots, backend)
        self._exported: dict[int, tuple[Any, Any, np.ndarray]] = {}  # id -> (circuit, qiskit, column order)

    # -- qscale circuits --------------------------------------------------------------------
    def check_width(self, n_qubits: int) -> None:
        self.backend.check_width(n_qubits)

    def simulate(self, circuit: Any, params: Any = None, **kwargs: Any) -> Any:
        if self.exact:
            return EXACT.simulate(circuit, params, **kwargs)
        raise QscaleUserError(f"backend {self.name} returns samples, not states: this step needs shots")

    def _export(self, circuit: Circuit) -> tuple[Any, np.ndarray]:
        from qscale.quantum.export import to_qiskit

        key = id(circuit)
        if key not in self._exported:  # the entry keeps `circuit` alive, so its id is not reused
            qc = to_qiskit(circuit)
            qc.measure_all()
            slot = {p.name: circuit.parameter_index(p) for p in circuit.parameters}
            order = np.array([slot[p.name] for p in qc.parameters], dtype=np.int64)
            self._exported[key] = (circuit, qc, order)
        return self._exported[key][1], self._exported[key][2]

    def sample_many(self, jobs: list[tuple[Any, Any]], shots: int) -> list[np.ndarray]:
        """Several (circuit, parameter rows) at once, so the device runs them as one job (qscale `Circuit`s are
        exported and measured; Qiskit circuits go as they are, rows in their own parameter order)."""
        pubs = []
        for circuit, params in jobs:
            if not hasattr(circuit, "parameter_index"):  # already a Qiskit circuit with its measurements
                pubs.append((circuit, params))
                continue
            qc, order = self._export(circuit)
            rows = None if params is None else np.atleast_2d(np.asarray(params, dtype=np.float64))[:, order]
            pubs.append((qc, rows))
        return self.backend.sample(pubs, shots)

    def sample(self, circuit: Any, params: Any, shots: int, rng: Any = None, **kwargs: Any) -> np.ndarray:
        """(B, shots) indices; `rng` and simulator options are ignored (the backend keeps its own seeded stream)."""
        return self.sample_many([(circuit, params)], shots)[0]

    def run(self, batch: Batch) -> Any:
        return batch.combine([batch.execute(batch.circuits, batch.shots)])

    # -- bound Qiskit circuits ----------------------------------------------------------------
    def expectations(self, circuits: Sequence[Any], observables: Sequence[Any], shots: int | None = None) -> np.ndarray:
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

    __call__ = expectations  # executor(circuits, observables, shots): the form the QNN layer's batches use

    def _exact(self, circuits: list, lists: list[list]) -> np.ndarray:
        from qscale.primitives.estimator import Estimator

        res = Estimator().run([(qc.remove_final_measurements(inplace=False), obs)
                               for qc, obs in zip(circuits, lists, strict=True)]).result()
        return np.stack([np.asarray(r.data.evs, dtype=float) for r in res])

    def device_summary(self) -> dict:
        return self.backend.summary()


EstimatorExecutor = BackendExecutor  # the name the QNN layer's docs used


def _check(shots: object, backend: Backend) -> int:
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 0:
        raise QscaleUserError(f"shots must be a non-negative integer, got {shots!r}")
    if shots == 0 and backend.kind != "exact":
        raise QscaleUserError(f"backend {backend.name} reports samples: shots must be positive (0 = exact is for "
                              "the exact backend)")
    return int(shots)


def make_executor(backend: str = "exact", seed: int = 0, qiskit: bool = False) -> Executor:
    """`--backend NAME` -> an executor: `exact` is qscale's simulator (no Qiskit import) unless `qiskit` asks for
    one that also runs Qiskit circuits; any other name a `BackendExecutor` on the resolved backend (unknown names
    fail here, before any work)."""
    if backend == "exact" and not qiskit:
        return EXACT
    from qscale.primitives.backends import resolve_backend

    return BackendExecutor(resolve_backend(backend, seed=seed), shots=1)


def estimator_executor(backend_name: str = "exact", shots: int = 0, seed: int = 0) -> BackendExecutor:
    """A `BackendExecutor` on `backend_name` (the exact one as a Qiskit primitive too) with default `shots`."""
    from qscale.primitives.backends import resolve_backend

    return BackendExecutor(resolve_backend(backend_name, seed=seed), shots)
