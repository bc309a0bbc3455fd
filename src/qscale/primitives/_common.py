"""What qscale's Sampler and Estimator share: converting a PUB's circuit once, and simulating its bindings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

from qscale.errors import QscaleUserError
from qscale.primitives.convert import Converted, from_qiskit
from qscale.quantum.statevector import simulate

CHUNK_AMPLITUDES = 2**24  # states simulated per batch: rows x 2^n stays under this many amplitudes


def rng_of(seed: np.random.Generator | int | None) -> np.random.Generator:
    """A Generator seed is consumed (calls continue its stream); an int seed restarts every run, as in Qiskit."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_seed(seed: object) -> None:
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise QscaleUserError(f"seed must be a non-negative integer, a numpy Generator or None, got {seed!r}")


class SeededPrimitive:
    """The run/submit plumbing both V2 primitives share: coerce the PUBs with Qiskit's own classes (its
    validation errors become one-line user errors), check each PUB's own shots/precision, run every PUB
    with one random stream per `run`. Subclasses give `_coerce(pub, value)`, `_check(value)`, `_run_pub`.
    """

    _seed: np.random.Generator | int | None

    @property
    def seed(self) -> np.random.Generator | int | None:
        return self._seed

    def _submit(self, pubs: Iterable, value: object, attribute: str):
        from qiskit.primitives import PrimitiveJob

        try:
            coerced = [self._coerce(pub, value) for pub in pubs]
        except (TypeError, ValueError) as exc:  # Qiskit's own validation of the PUBs
            raise QscaleUserError(f"invalid PUB: {str(exc).splitlines()[0]}") from None
        for pub in coerced:
            self._check(getattr(pub, attribute))
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list):
        from qiskit.primitives import PrimitiveResult

        rng = rng_of(self._seed)
        return PrimitiveResult([self._run_pub(pub, rng) for pub in pubs], metadata={"version": 2})

    def _coerce(self, pub, value):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _check(self, value):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _run_pub(self, pub, rng: np.random.Generator):  # pragma: no cover - every subclass overrides
        raise NotImplementedError


def binding_rows(conv: Converted, bindings, shape: tuple[int, ...]) -> np.ndarray:
    """Parameter values (prod(shape), P) in the circuit's parameter order, from a PUB's BindingsArray."""
    size = int(np.prod(shape, dtype=np.int64))
    if not conv.parameters:
        return np.zeros((size, 0))
    values = np.asarray(bindings.as_array(conv.parameters), dtype=np.float64)
    return np.broadcast_to(values, (*shape, len(conv.parameters))).reshape(size, len(conv.parameters))


def states(conv: Converted, rows: np.ndarray) -> Iterator[tuple[slice, torch.Tensor]]:
    """Final states of the circuit for every row of parameter values, in chunks that bound memory."""
    n = conv.circuit.n_qubits
    step = max(1, CHUNK_AMPLITUDES // 2**n)
    total = rows.shape[0]
    with torch.no_grad():
        for start in range(0, total, step):
            block = rows[start : start + step]
            angles = conv.angles(block)
            if angles is None:
                psi = simulate(conv.circuit).expand(block.shape[0], -1)
            else:
                psi = simulate(conv.circuit, angles)
            yield slice(start, start + block.shape[0]), psi


__all__ = ["CHUNK_AMPLITUDES", "SeededPrimitive", "binding_rows", "check_seed", "from_qiskit", "rng_of", "states"]
