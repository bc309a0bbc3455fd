"""`qscale.primitives.Estimator`: Qiskit's `BaseEstimatorV2` on qscale's state-vector simulator.

    from qscale.primitives import Estimator
    evs = Estimator().run([(circuit, observables, parameter_values)]).result()[0].data.evs

Expectation values are exact (<ψ|O|ψ> of the simulated state) unless the PUB asks for a precision > 0.
V2's `precision` is the target standard error, and how it is met is the implementation's choice:
* `noise="gaussian"` (default, as Qiskit's `StatevectorEstimator`): exact value plus N(0, precision²);
* `noise="shots"`: what hardware does (as Qiskit's `BackendEstimatorV2`): ceil(1/precision²) shots per
  qubit-wise commuting group of Pauli terms, each group measured in its own rotated basis; `stds` is the
  standard error of that estimate.
Observables and parameter bindings broadcast against each other as V2 specifies (the PUB's shape).
Observables must be Hermitian (real Pauli coefficients).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import torch
from qiskit.primitives import BaseEstimatorV2

from qscale.errors import QscaleUserError
from qscale.primitives._common import SeededPrimitive, binding_rows, check_seed, from_qiskit, states
from qscale.quantum.circuit import Circuit
from qscale.quantum.pauli import PauliSum, qubitwise_groups
from qscale.quantum.statevector import sample, simulate

NOISE_MODES = ("gaussian", "shots")


def _check_precision(precision: object) -> float:
    if isinstance(precision, bool) or not isinstance(precision, int | float | np.integer | np.floating):
        raise QscaleUserError(f"precision must be a real number >= 0, got {precision!r}")
    value = float(precision)
    if not math.isfinite(value) or value < 0:
        raise QscaleUserError(f"precision must be a finite number >= 0, got {precision!r}")
    return value


def pauli_sum(observable: dict, n_qubits: int) -> PauliSum:
    """A PauliSum from one element of an ObservablesArray ({label: coefficient}); Hermitian only."""
    if not observable:
        return PauliSum(["I" * n_qubits], [0.0])
    labels, coeffs = zip(*observable.items(), strict=True)
    for lab, c in zip(labels, coeffs, strict=True):
        if abs(complex(c).imag) > 1e-10 * max(1.0, abs(complex(c).real)):
            raise QscaleUserError(f"observable term {lab} has a complex coefficient {c}: observables must be Hermitian")
    return PauliSum(list(labels), [complex(c).real for c in coeffs])


def _rotation(basis: str) -> Circuit:
    """Gates that map the group's measurement basis onto Z (H for X; S† then H for Y)."""
    c = Circuit(len(basis))
    for q, ch in enumerate(reversed(basis)):
        if ch == "X":
            c.h(q)
        elif ch == "Y":
            c.sdg(q).h(q)
    return c


def sampled_expectation(op: PauliSum, psi: torch.Tensor, shots: int, rng: np.random.Generator):
    """(estimate, standard error) per state row of <op> from `shots` samples per qubit-wise commuting group."""
    const = float(sum(c for lab, c in op.terms if set(lab) == {"I"}))
    B = psi.shape[0]
    mean = np.full(B, const)
    var = np.zeros(B)
    for basis, members in qubitwise_groups(op):
        rotated = simulate(_rotation(basis), initial_state=psi)
        idx = sample(rotated, shots, rng)  # (B, shots)
        values = np.zeros(idx.shape)
        for mask, coef in members:
            values += coef * (1.0 - 2.0 * (np.bitwise_count(idx & mask) & 1))
        mean += values.mean(axis=1)
        var += values.var(axis=1, ddof=1) / shots if shots > 1 else 0.0
    return mean, np.sqrt(var)


class Estimator(SeededPrimitive, BaseEstimatorV2):
    """Exact (or precision-limited) expectation values of Pauli observables on qscale's simulator."""

    def __init__(
        self,
        *,
        default_precision: float = 0.0,
        seed: np.random.Generator | int | None = None,
        noise: str = "gaussian",
    ) -> None:
        self._default_precision = _check_precision(default_precision)
        check_seed(seed)
        if noise not in NOISE_MODES:
            raise QscaleUserError(f"noise must be one of {', '.join(NOISE_MODES)}, got {noise!r}")
        self._seed = seed
        self.noise = noise

    @property
    def default_precision(self) -> float:
        return self._default_precision

    def run(self, pubs: Iterable, *, precision: float | None = None):
        precision = self._default_precision if precision is None else _check_precision(precision)
        return self._submit(pubs, precision, "precision")

    def _coerce(self, pub, precision: float):
        from qiskit.primitives.containers.estimator_pub import EstimatorPub

        return EstimatorPub.coerce(pub, precision)

    def _check(self, precision: object) -> float:
        return _check_precision(precision)

    def _run_pub(self, pub, rng: np.random.Generator):
        from qiskit.primitives.containers import DataBin, PubResult

        conv = from_qiskit(pub.circuit)  # final measurements, if any, are dropped (as Qiskit's estimators do)
        n = conv.circuit.n_qubits
        obs_shape, par_shape = tuple(pub.observables.shape), tuple(pub.parameter_values.shape)
        rows = binding_rows(conv, pub.parameter_values, par_shape)
        ops = [pauli_sum(o, n) for o in np.asarray(pub.observables.tolist(), dtype=object).reshape(-1)]
        precision = pub.precision
        shots = math.ceil(1.0 / precision**2) if precision > 0 and self.noise == "shots" else 0
        table = np.empty((len(ops), rows.shape[0]))  # (observable, parameter row)
        errors = np.zeros_like(table)
        for where, psi in states(conv, rows):
            for k, op in enumerate(ops):
                if shots:
                    table[k, where], errors[k, where] = sampled_expectation(op, psi, shots, rng)
                else:
                    table[k, where] = op.expectation(psi).cpu().numpy()
        shape = tuple(pub.shape)
        oi = np.broadcast_to(np.arange(len(ops)).reshape(obs_shape), shape)
        pi = np.broadcast_to(np.arange(rows.shape[0]).reshape(par_shape), shape)
        evs, stds = table[oi, pi], errors[oi, pi]
        if precision > 0 and not shots:
            evs = rng.normal(evs, precision)
            stds = np.full(shape, precision)
        metadata = {"target_precision": precision, "circuit_metadata": pub.circuit.metadata}
        if shots:
            metadata["shots"] = shots
        return PubResult(DataBin(evs=np.asarray(evs, float), stds=np.asarray(stds, float), shape=shape), metadata)
