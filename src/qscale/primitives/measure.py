"""Expectation values the way hardware gets them: basis rotations, shots, parities.

Each observable's Pauli terms are grouped into qubit-wise commuting sets (`qubitwise_groups`, shared with
VQE's shot mode); each set is one measurement circuit: the circuit, H (X basis) or S†·H (Y basis) on the
qubits concerned, then a measurement of every qubit. A term's estimate is the mean of (−1)^(bits on its
support) times its coefficient; identity terms are added exactly. All circuits of one call go to the
backend's sampler together, so a device runs them as one job.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum.pauli import PauliSum, qubitwise_groups


def as_pauli_sum(observable: Any, n_qubits: int) -> PauliSum:
    """A PauliSum from a SparsePauliOp, a Pauli, a label or a {label: coeff} dict (Hermitian only)."""
    from qiskit.primitives.containers.observables_array import ObservablesArray

    from qscale.primitives.estimator import pauli_sum

    if isinstance(observable, PauliSum):
        op = observable
    else:
        try:
            arr = ObservablesArray.coerce(observable)
            if arr.shape != ():
                raise ValueError(f"expected one observable, got an array of shape {arr.shape}")
            op = pauli_sum(arr.tolist(), n_qubits)
        except (TypeError, ValueError) as exc:
            raise QscaleUserError(f"cannot read observable {observable!r}: {exc}") from None
    if op.n_qubits != n_qubits:
        raise QscaleUserError(f"observable acts on {op.n_qubits} qubits but the circuit has {n_qubits}")
    return op


def measurement_circuit(qc, basis: str):
    """`qc` without its measurements, rotated so that `basis` (a Pauli label) is read in Z, then measured."""
    out = qc.remove_final_measurements(inplace=False)
    for q, ch in enumerate(reversed(basis)):
        if ch == "X":
            out.h(q)
        elif ch == "Y":
            out.sdg(q)
            out.h(q)
    out.measure_all()
    return out


def sampled_expectations(backend, circuits: Sequence[Any], observables: Sequence[Sequence[Any]], shots: int):
    """(C, M) shot estimates of each circuit's observables on `backend` (a qscale.primitives Backend)."""
    if len(circuits) != len(observables):
        raise QscaleUserError(f"{len(circuits)} circuits but {len(observables)} observable lists")
    plan = []  # (circuit index, observable index, constant, [(pub index, members)])
    pubs = []
    for c, (qc, obs) in enumerate(zip(circuits, observables, strict=True)):
        for m, o in enumerate(obs):
            op = as_pauli_sum(o, qc.num_qubits)
            const = float(sum(coef for lab, coef in op.terms if set(lab) == {"I"}))
            parts = []
            for basis, members in qubitwise_groups(op):
                parts.append((len(pubs), members))
                pubs.append((measurement_circuit(qc, basis), None))
            plan.append((c, m, const, parts))
    width = max((len(obs) for obs in observables), default=0)
    out = np.full((len(circuits), width), np.nan)
    outcomes = backend.sample(pubs, shots) if pubs else []
    for c, m, const, parts in plan:
        value = const
        for k, members in parts:
            idx = outcomes[k][0]
            for mask, coef in members:
                value += coef * float(np.mean(1.0 - 2.0 * (np.bitwise_count(idx & mask) & 1)))
        out[c, m] = value
    return out
