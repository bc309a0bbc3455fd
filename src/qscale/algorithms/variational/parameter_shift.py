"""Parameter-shift gradients: what a quantum computer can measure, where autograd needs the state vector.

Every parameterised gate occurrence gets its own angle a_k = scale_k·θ_p + offset_k (a shared parameter
is the sum of its occurrences, by the chain rule). For gates exp(-i a G) with G's eigenvalues ±1/2 (RX, RY,
RZ, P up to a phase, RZZ, RXX, RYY) the two-term rule is exact:
    ∂f/∂a = [f(a + π/2) − f(a − π/2)] / 2                     (Mitarai et al., PRA 98, 032309, 2018)
Controlled rotations have eigenvalues {0, ±1/2}, so they need the four-term rule (Anderson; Crooks,
arXiv:1905.13311): ∂f/∂a = c₊[f(a + π/2) − f(a − π/2)] − c₋[f(a + 3π/2) − f(a − 3π/2)],
c± = (√2 ± 1)/(4√2). All shifted circuits run as one batch through the simulator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit, ParamExpr

_TWO_TERM = ((math.pi / 2, 0.5),)
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
_FOUR_TERM = ((math.pi / 2, _C_PLUS), (3 * math.pi / 2, -_C_MINUS))
RULES = {
    **{g: _TWO_TERM for g in ("rx", "ry", "rz", "p", "rzz", "rxx", "ryy")},
    **{g: _FOUR_TERM for g in ("crx", "cry", "crz")},
}
CHUNK_ROWS = 256  # shifted circuits simulated per batch (bounds memory)

Evaluate = Callable[[Circuit, np.ndarray], np.ndarray]


@dataclass
class Expanded:
    """`circuit` with one fresh parameter per parameterised gate occurrence, and how they map back."""

    circuit: Circuit
    source: np.ndarray  # (K,) index of the original parameter
    scale: np.ndarray  # (K,)
    offset: np.ndarray  # (K,)
    rules: list[tuple[tuple[float, float], ...]]

    @property
    def shifted_rows(self) -> int:
        """Circuits one parameter-shift gradient runs."""
        return sum(2 * len(rule) for rule in self.rules)

    def angles(self, theta: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(theta, dtype=np.float64)[self.source] + self.offset


def expand(circuit: Circuit) -> Expanded:
    """Give every parameterised gate its own angle slot (the shift rule acts on one gate at a time)."""
    out = Circuit(circuit.n_qubits)
    source, scale, offset, rules = [], [], [], []
    for op in circuit.operations:
        if op.name == "unitary":
            out.unitary(op.matrix, op.qubits)
            continue
        angles = []
        for a in op.angles:
            if isinstance(a, ParamExpr):
                if op.name not in RULES:
                    raise QscaleUserError(f"no parameter-shift rule for gate {op.name!r}")
                source.append(circuit.parameter_index(a.parameter))
                scale.append(a.scale)
                offset.append(a.offset)
                rules.append(RULES[op.name])
                angles.append(out.parameter(f"k{len(source) - 1}"))
            else:
                angles.append(a)
        getattr(out, op.name)(*op.qubits, *angles)
    return Expanded(out, np.array(source, dtype=np.int64), np.array(scale), np.array(offset), rules)


def shift_jacobian(
    circuit: Circuit, theta: np.ndarray, evaluate: Evaluate, expanded: Expanded | None = None
) -> np.ndarray:
    """d evaluate / d theta by parameter shift, shape (M, P) for an `evaluate` returning (rows, M).

    `evaluate(circuit, angles)` gets the expanded circuit and a (rows, K) array of its angles; it may
    be exact (probabilities, expectation values) or a shot-noise estimate.
    """
    theta = np.asarray(theta, dtype=np.float64)
    if theta.ndim != 1 or theta.size != circuit.n_parameters:
        raise QscaleUserError(f"theta must have shape ({circuit.n_parameters},), got {theta.shape}")
    ex = expanded if expanded is not None else expand(circuit)
    base = ex.angles(theta)
    rows, weights, slots = [], [], []
    for k, rule in enumerate(ex.rules):
        for shift, coef in rule:
            for sign in (1.0, -1.0):
                a = base.copy()
                a[k] += sign * shift
                rows.append(a)
                weights.append(sign * coef)
                slots.append(k)
    if not rows:
        return np.zeros((0, theta.size))
    shifted = np.stack(rows)
    values = np.concatenate(
        [np.asarray(evaluate(ex.circuit, shifted[i : i + CHUNK_ROWS]), dtype=np.float64).reshape(
            min(CHUNK_ROWS, len(rows) - i), -1) for i in range(0, len(rows), CHUNK_ROWS)]
    )
    d_angle = np.zeros((len(ex.rules), values.shape[1]))
    np.add.at(d_angle, np.asarray(slots), np.asarray(weights)[:, None] * values)
    jac = np.zeros((values.shape[1], theta.size))
    np.add.at(jac.T, ex.source, ex.scale[:, None] * d_angle)
    return jac
