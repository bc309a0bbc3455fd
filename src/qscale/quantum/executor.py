"""The one way a qscale driver runs circuits: an `Executor` it is handed (`executor=`), never a module it patches.

Why: a driver's circuits must be countable and redirectable (exact simulator, a Qiskit backend, the hybrid runtime's
device model) without the driver knowing which. Every executor answers the same four requests:

* `simulate(circuit, params, **kw)`: state vectors (B, 2^n) of a qscale `Circuit` per parameter row (exact only);
* `sample(circuit, params, shots, rng)`: (B, shots) basis-state indices (bit q = qubit q), one row per parameter row;
* `expectations(circuits, observables, shots)`: <O> of bound Qiskit circuits (see qscale.primitives.executor);
* `run(batch)`: a driver's own batch of circuits (a `Batch`: what each circuit is, for the device model, and how to
  compute the answer), for drivers whose exact path is a specialised kernel (quantize's block QAOA).

Implementations: `ExactExecutor` here (qscale's simulator, the drivers' fast paths called directly, so nothing is
slower than calling them by hand), `qscale.primitives.executor.BackendExecutor` (aer, fake_<device>,
module:callable) and `qscale.coproc.runtime.RecordingExecutor`, which wraps any executor and packs, times and
records what passes through it. Two executors share no state, so two runtimes can run in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum import statevector


@dataclass(frozen=True)
class CircuitSpec:
    """What a device model needs to know about one circuit, plus an opaque payload for whoever executes it."""

    qubits: int
    two_qubit_depth: int
    two_qubit_gates: int = 0
    payload: Any = field(default=None, compare=False, repr=False)


class RowSpecs(Sequence[CircuitSpec]):
    """`rows` copies of one circuit, row r carrying payload (payload, r); built on access (and `spec` may be a
    function, called once then), so an executor that never looks at the specs pays nothing for them."""

    def __init__(self, spec: CircuitSpec | Callable[[], CircuitSpec], rows: int, payload: Any = None):
        self._spec, self.rows, self.payload = spec, rows, payload

    @property
    def spec(self) -> CircuitSpec:
        if not isinstance(self._spec, CircuitSpec):
            self._spec = self._spec()
        return self._spec

    def __len__(self) -> int:
        return self.rows

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.rows))]
        if index < 0:
            index += self.rows
        if not 0 <= index < self.rows:
            raise IndexError(index)
        return replace(self.spec, payload=(self.payload, index))


def concat(parts: list[Any]) -> Any:
    """Default combine: each part is a list (one result per circuit); the batch's answer is them in order."""
    out: list[Any] = []
    for p in parts:
        out.extend(p)
    return out


@dataclass
class Batch:
    """Circuits a driver submits together: `execute(part, shots)` answers any contiguous slice of `circuits`,
    `combine(answers)` joins the slices' answers in order (an executor may split a batch into jobs)."""

    circuits: Sequence[CircuitSpec]
    shots: int
    execute: Callable[[Sequence[CircuitSpec], int], Any]
    combine: Callable[[list[Any]], Any] = concat


@runtime_checkable
class Executor(Protocol):
    name: str
    exact: bool  # True: states and exact expectations are available (simulate works)

    def simulate(self, circuit: Any, params: Any = None, **kwargs: Any) -> Any: ...

    def sample(self, circuit: Any, params: Any, shots: int, rng: Any = None, **kwargs: Any) -> np.ndarray: ...

    def expectations(self, circuits: Sequence[Any], observables: Sequence[Any], shots: int | None = None) -> Any: ...

    def run(self, batch: Batch) -> Any: ...


def param_rows(params: Any) -> int:
    """How many circuits a (B, P) / (P,) / None parameter array stands for."""
    if params is None:
        return 1
    shape = getattr(params, "shape", None)
    if shape is None:
        shape = np.shape(params)
    return 1 if len(shape) < 2 else int(shape[0])


class ExactExecutor:
    """qscale's exact state-vector simulator, called directly (the drivers' fast paths, unchanged)."""

    name = "exact"
    exact = True

    def simulate(self, circuit: Any, params: Any = None, **kwargs: Any) -> Any:
        return statevector.simulate(circuit, params, **kwargs)

    def sample(self, circuit: Any, params: Any, shots: int, rng: Any = None, **kwargs: Any) -> np.ndarray:
        """Rows of `shots` indices drawn from the simulated states (one numpy stream `rng` over the rows)."""
        return statevector.sample(statevector.simulate(circuit, params, **kwargs), shots, rng)

    def expectations(self, circuits: Sequence[Any], observables: Sequence[Any], shots: int | None = None) -> Any:
        raise QscaleUserError("expectations of Qiskit circuits need a primitive: use "
                              "qscale.primitives.executor.estimator_executor('exact')")

    def run(self, batch: Batch) -> Any:
        return batch.combine([batch.execute(batch.circuits, batch.shots)])


EXACT = ExactExecutor()


def exact_executor(executor: Executor | None) -> Executor:
    """The executor a driver was given, or the exact one."""
    return EXACT if executor is None else executor


def states(executor: Executor) -> Executor:
    """An executor that gives states: `executor` if it can, else qscale's simulator. A driver uses it for what a
    simulation can tell and a device cannot (exact energies of final parameters, exact model distributions)."""
    return executor if executor.exact else EXACT
