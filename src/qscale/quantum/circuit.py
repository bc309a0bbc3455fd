"""Circuit description: an ordered list of gates with numeric or symbolic angles.

A circuit is only a recipe; `qscale.quantum.statevector.simulate` runs it and
`qscale.quantum.export` turns it into Qiskit or OpenQASM 3. Gate conventions are Qiskit's
(RX(θ) = exp(-iθX/2), RZZ(θ) = exp(-iθZ⊗Z/2), ...) and qubit 0 is the least significant bit
of a basis index, so results can be cross-checked against Qiskit without reordering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from qscale.errors import QscaleUserError
from qscale.validation import check_int


class Parameter:
    """A symbolic angle; identity (not name) decides which circuit slot it fills."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise QscaleUserError(f"parameter name must be a non-empty string, got {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name!r})"

    def _expr(self) -> ParamExpr:
        return ParamExpr(self)

    def __mul__(self, k: float) -> ParamExpr:
        return self._expr() * k

    __rmul__ = __mul__

    def __add__(self, k: float) -> ParamExpr:
        return self._expr() + k

    __radd__ = __add__

    def __sub__(self, k: float) -> ParamExpr:
        return self._expr() - k

    def __rsub__(self, k: float) -> ParamExpr:
        return -self._expr() + k

    def __neg__(self) -> ParamExpr:
        return -self._expr()


@dataclass(frozen=True)
class ParamExpr:
    """An affine angle `scale * parameter + offset`, enough for shared weights such as γ·J_ij."""

    parameter: Parameter
    scale: float = 1.0
    offset: float = 0.0

    def __mul__(self, k: float) -> ParamExpr:
        k = _real(k, "scale")
        return ParamExpr(self.parameter, self.scale * k, self.offset * k)

    __rmul__ = __mul__

    def __add__(self, k: float) -> ParamExpr:
        return ParamExpr(self.parameter, self.scale, self.offset + _real(k, "offset"))

    __radd__ = __add__

    def __sub__(self, k: float) -> ParamExpr:
        return self + (-_real(k, "offset"))

    def __rsub__(self, k: float) -> ParamExpr:
        return -self + k

    def __neg__(self) -> ParamExpr:
        return ParamExpr(self.parameter, -self.scale, -self.offset)


Angle = float | Parameter | ParamExpr


@dataclass(frozen=True)
class Operation:
    """One gate: Qiskit's gate name, its qubits (in Qiskit argument order) and its angles.

    For `unitary`, `matrix` is in Qiskit's convention: qubits[0] is the least significant bit
    of the matrix index.
    """

    name: str
    qubits: tuple[int, ...]
    angles: tuple[float | ParamExpr, ...] = ()
    matrix: np.ndarray | None = None


FIXED_1Q = ("h", "x", "y", "z", "s", "sdg", "t", "tdg")
ROTATIONS_1Q = ("rx", "ry", "rz", "p")
FIXED_2Q = ("cx", "cz", "swap")
ROTATIONS_2Q = ("crx", "cry", "crz", "rzz", "rxx", "ryy")
GATE_NAMES = (*FIXED_1Q, *ROTATIONS_1Q, *FIXED_2Q, *ROTATIONS_2Q, "unitary")


def _real(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        if isinstance(value, complex | np.complexfloating):
            raise QscaleUserError(f"{what} must be real, got {value!r}")
        raise QscaleUserError(f"{what} must be a real number, got {type(value).__name__}")
    out = float(value)
    if not math.isfinite(out):
        raise QscaleUserError(f"{what} must be finite, got {out}")
    return out


class Circuit:
    """A gate list on `n_qubits`; gate methods return the circuit so they chain."""

    def __init__(self, n_qubits: int) -> None:
        self.n_qubits = check_int(n_qubits, "n_qubits", min=1)
        self._ops: list[Operation] = []
        self._params: list[Parameter] = []
        self._index: dict[int, int] = {}  # id(Parameter) -> slot
        self._names: set[str] = set()

    # -- parameters ---------------------------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        """Create and register a new parameter; slots follow creation order."""
        p = Parameter(name)
        self._register(p)
        return p

    def _register(self, p: Parameter) -> int:
        key = id(p)
        if key in self._index:
            return self._index[key]
        if p.name in self._names:
            raise QscaleUserError(f"two different parameters are named {p.name!r} in one circuit")
        self._index[key] = len(self._params)
        self._params.append(p)
        self._names.add(p.name)
        return self._index[key]

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return tuple(self._params)

    @property
    def n_parameters(self) -> int:
        return len(self._params)

    def parameter_index(self, p: Parameter) -> int:
        """Slot of `p` in the parameter vector passed to `simulate`."""
        try:
            return self._index[id(p)]
        except KeyError:
            raise QscaleUserError(f"parameter {p.name!r} does not belong to this circuit") from None

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(self._ops)

    def __len__(self) -> int:
        return len(self._ops)

    def __repr__(self) -> str:
        return f"Circuit(n_qubits={self.n_qubits}, gates={len(self._ops)}, parameters={self.n_parameters})"

    # -- validation ---------------------------------------------------------------------------
    def _qubits(self, qubits: tuple[object, ...]) -> tuple[int, ...]:
        out = []
        for q in qubits:
            check_int(q, "qubit index")
            if not 0 <= int(q) < self.n_qubits:
                raise QscaleUserError(f"qubit {int(q)} out of range for a {self.n_qubits}-qubit circuit")
            out.append(int(q))
        if len(set(out)) != len(out):
            raise QscaleUserError(f"a gate cannot act twice on one qubit: {out}")
        return tuple(out)

    def _angle(self, theta: Angle) -> float | ParamExpr:
        if isinstance(theta, Parameter):
            theta = ParamExpr(theta)
        if isinstance(theta, ParamExpr):
            self._register(theta.parameter)
            return theta
        return _real(theta, "gate angle")

    def _add(self, name: str, qubits: tuple[object, ...], angles: tuple[Angle, ...] = ()) -> Circuit:
        self._ops.append(Operation(name, self._qubits(qubits), tuple(self._angle(a) for a in angles)))
        return self

    # -- fixed gates --------------------------------------------------------------------------
    def h(self, q: int) -> Circuit:
        return self._add("h", (q,))

    def x(self, q: int) -> Circuit:
        return self._add("x", (q,))

    def y(self, q: int) -> Circuit:
        return self._add("y", (q,))

    def z(self, q: int) -> Circuit:
        return self._add("z", (q,))

    def s(self, q: int) -> Circuit:
        return self._add("s", (q,))

    def sdg(self, q: int) -> Circuit:
        return self._add("sdg", (q,))

    def t(self, q: int) -> Circuit:
        return self._add("t", (q,))

    def tdg(self, q: int) -> Circuit:
        return self._add("tdg", (q,))

    def cx(self, control: int, target: int) -> Circuit:
        return self._add("cx", (control, target))

    cnot = cx

    def cz(self, q0: int, q1: int) -> Circuit:
        return self._add("cz", (q0, q1))

    def swap(self, q0: int, q1: int) -> Circuit:
        return self._add("swap", (q0, q1))

    # -- rotations ----------------------------------------------------------------------------
    def rx(self, q: int, theta: Angle) -> Circuit:
        return self._add("rx", (q,), (theta,))

    def ry(self, q: int, theta: Angle) -> Circuit:
        return self._add("ry", (q,), (theta,))

    def rz(self, q: int, theta: Angle) -> Circuit:
        return self._add("rz", (q,), (theta,))

    def p(self, q: int, lam: Angle) -> Circuit:
        """Phase gate diag(1, e^{iλ}) (Qiskit's PhaseGate)."""
        return self._add("p", (q,), (lam,))

    def crx(self, control: int, target: int, theta: Angle) -> Circuit:
        return self._add("crx", (control, target), (theta,))

    def cry(self, control: int, target: int, theta: Angle) -> Circuit:
        return self._add("cry", (control, target), (theta,))

    def crz(self, control: int, target: int, theta: Angle) -> Circuit:
        return self._add("crz", (control, target), (theta,))

    def rzz(self, q0: int, q1: int, theta: Angle) -> Circuit:
        return self._add("rzz", (q0, q1), (theta,))

    def rxx(self, q0: int, q1: int, theta: Angle) -> Circuit:
        return self._add("rxx", (q0, q1), (theta,))

    def ryy(self, q0: int, q1: int, theta: Angle) -> Circuit:
        return self._add("ryy", (q0, q1), (theta,))

    # -- arbitrary unitaries ------------------------------------------------------------------
    def unitary(self, matrix: object, qubits: list[int] | tuple[int, ...], atol: float = 1e-8) -> Circuit:
        """Append a 1- or 2-qubit unitary; `matrix` index has qubits[0] as its least significant bit."""
        if isinstance(qubits, int | np.integer):
            qubits = (int(qubits),)
        qs = self._qubits(tuple(qubits))
        if len(qs) not in (1, 2):
            raise QscaleUserError(f"unitary acts on 1 or 2 qubits, got {len(qs)}")
        try:
            u = np.array(matrix, dtype=np.complex128)
        except (TypeError, ValueError) as exc:
            raise QscaleUserError(f"unitary matrix is not numeric: {exc}") from None
        dim = 2 ** len(qs)
        if u.shape != (dim, dim):
            raise QscaleUserError(f"unitary on {len(qs)} qubit(s) must be {dim}x{dim}, got shape {u.shape}")
        if not np.all(np.isfinite(u)):
            raise QscaleUserError("unitary matrix has non-finite entries")
        err = float(np.abs(u.conj().T @ u - np.eye(dim)).max())
        if err > atol:
            raise QscaleUserError(f"matrix is not unitary (max |U^dagger U - I| = {err:.3g} > {atol:g})")
        u.setflags(write=False)
        self._ops.append(Operation("unitary", qs, (), u))
        return self

    # -- composition --------------------------------------------------------------------------
    def compose(self, other: Circuit) -> Circuit:
        """Append `other`'s gates; shared Parameter objects stay one slot."""
        if other.n_qubits > self.n_qubits:
            raise QscaleUserError(f"cannot append a {other.n_qubits}-qubit circuit to a {self.n_qubits}-qubit one")
        for p in other.parameters:
            self._register(p)
        self._ops.extend(other.operations)
        return self

    def copy(self) -> Circuit:
        return Circuit(self.n_qubits).compose(self)


def two_qubit_depth(qc: Circuit) -> int:
    """Layers of two-qubit gates when every gate is scheduled as early as possible (1-qubit gates are free)."""
    level = [0] * qc.n_qubits
    for op in qc.operations:
        if len(op.qubits) >= 2:
            layer = max(level[q] for q in op.qubits) + 1
            for q in op.qubits:
                level[q] = layer
    return max(level)


def two_qubit_counts(qc: Circuit) -> tuple[int, int]:
    """(two-qubit depth, two-qubit gates): what a device model needs to time a circuit."""
    return two_qubit_depth(qc), sum(1 for op in qc.operations if len(op.qubits) >= 2)
