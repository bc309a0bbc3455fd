"""Qiskit `QuantumCircuit` -> qscale `Circuit`, so qscale's simulator can run what Qiskit code builds.

Why a converter and not `Statevector`: qscale's batched simulator runs every parameter set of a PUB in one
call and shares its conventions with the rest of qscale (qubit 0 = least significant bit, Qiskit's gate
definitions), so the same engine answers qscale's algorithms and any Qiskit program.

What is accepted: qscale's native gates (`qscale.quantum.circuit.GATE_NAMES`) with numeric or symbolic
angles; any other gate on one or two qubits with numeric parameters (its matrix becomes a `unitary`);
anything else (three-qubit gates, parameterised gates qscale lacks) is first decomposed by Qiskit's
`transpile` into the native set plus SX/SX†. Final measurements map classical bits to qubits; barriers,
delays and identities are skipped. Mid-circuit measurement, reset and control flow are user errors.

Angles: a Qiskit expression affine in one parameter (θ, 2θ+1, -θ/2) becomes a qscale `ParamExpr` on that
parameter's slot; any other expression gets a slot of its own whose values are computed per parameter set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import GATE_NAMES, Circuit

NATIVE = frozenset(GATE_NAMES) - {"unitary"}
SKIPPED = frozenset({"barrier", "delay", "id"})
_DECOMPOSE_BASIS = sorted(NATIVE | {"sx", "sxdg"})
_MAX_BITS = 63  # outcomes are packed into int64 indices


@dataclass
class Converted:
    """A Qiskit circuit's unitary part as a qscale Circuit, and how to feed it and read it out.

    `parameters` is the Qiskit circuit's parameter order (`QuantumCircuit.parameters`); qscale slots
    0..len(parameters)-1 are those parameters, later slots are computed expressions (`extras`).
    `measured[c]` is the qubit measured into classical bit c (absent: bit stays 0); `registers` lists each
    classical register's name and its clbit indices, least significant first.
    """

    circuit: Circuit
    parameters: list
    extras: list[Callable[[np.ndarray], np.ndarray]] = field(default_factory=list)
    measured: dict[int, int] = field(default_factory=dict)
    registers: list[tuple[str, list[int]]] = field(default_factory=list)
    num_clbits: int = 0

    def angles(self, values: np.ndarray) -> np.ndarray | None:
        """qscale parameter rows (B, slots) from Qiskit parameter values (B, len(parameters))."""
        if self.circuit.n_parameters == 0:
            return None
        values = np.asarray(values, dtype=np.float64).reshape(-1, len(self.parameters))
        cols = [values] + [np.broadcast_to(f(values), values.shape[:1])[:, None] for f in self.extras]
        return np.concatenate(cols, axis=1)

    def clbit_values(self, indices: np.ndarray) -> np.ndarray:
        """Integers over the classical bits (bit c = clbit c) from basis-state indices over the qubits."""
        out = np.zeros(np.shape(indices), dtype=np.int64)
        for c, q in self.measured.items():
            out |= ((np.asarray(indices) >> q) & 1) << c
        return out


def _is_numeric(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating)


def _affine(expr, param) -> tuple[float, float] | None:
    """(scale, offset) when expr(θ) = scale·θ + offset over real θ, else None."""
    try:
        f0, f1, f2 = (float(expr.bind({param: v})) for v in (0.0, 1.0, -2.375))
    except (TypeError, ValueError):
        return None
    scale, offset = f1 - f0, f0
    if not math.isclose(f2, offset - 2.375 * scale, rel_tol=1e-12, abs_tol=1e-12):
        return None
    return scale, offset


def _evaluator(expr, parameters: list) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised values of a general Qiskit parameter expression over rows of parameter values."""
    import sympy

    index = {p.name: i for i, p in enumerate(parameters)}
    sym = expr.sympify()
    symbols = sorted(sym.free_symbols, key=lambda s: s.name)
    cols = [index[s.name] for s in symbols]
    fn = sympy.lambdify(symbols, sym, "numpy")

    def values(rows: np.ndarray) -> np.ndarray:
        out = np.asarray(fn(*(rows[:, c] for c in cols)))
        if np.iscomplexobj(out):
            if np.abs(out.imag).max(initial=0.0) > 1e-12:
                raise QscaleUserError(f"gate angle {expr} is complex for the given parameter values")
            out = out.real
        return out.astype(np.float64)

    return values


def _final_measurements(qc) -> tuple[list, dict[int, int]]:
    """The instructions before the final measurements, and clbit -> qubit of those measurements."""
    measured: dict[int, int] = {}
    body = []
    done_qubits: set[int] = set()  # qubits already measured (walking forward)
    for inst in qc.data:
        op = inst.operation
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        if getattr(op, "is_control_flow", lambda: False)() or op.name in ("if_else", "while_loop", "for_loop"):
            raise QscaleUserError(f"control flow ({op.name}) is not supported by qscale's simulator")
        if op.name == "reset":
            raise QscaleUserError("reset is not supported by qscale's simulator (pure states only)")
        if op.name == "measure":
            measured[qc.find_bit(inst.clbits[0]).index] = qubits[0]
            done_qubits.add(qubits[0])
            continue
        if op.name in SKIPPED:
            continue
        if done_qubits.intersection(qubits):
            raise QscaleUserError(
                f"mid-circuit measurement: gate {op.name} acts on qubit(s) {sorted(done_qubits.intersection(qubits))} "
                "after they were measured"
            )
        if inst.clbits:
            raise QscaleUserError(f"instruction {op.name} writes classical bits; only final measurements are supported")
        body.append((op, qubits))
    return body, measured


def _needs_decomposition(body: list) -> bool:
    for op, qubits in body:
        if op.name in NATIVE:
            continue
        if len(qubits) > 2 or not all(_is_numeric(p) for p in op.params):
            return True
    return False


def from_qiskit(qc) -> Converted:
    """Convert a Qiskit QuantumCircuit (see the module docstring for what is accepted)."""
    from qiskit import QuantumCircuit, transpile
    from qiskit.quantum_info import Operator

    if not isinstance(qc, QuantumCircuit):
        raise QscaleUserError(f"expected a qiskit QuantumCircuit, got {type(qc).__name__}")
    if qc.num_qubits < 1:
        raise QscaleUserError("the circuit has no qubits")
    if qc.num_clbits > _MAX_BITS:
        raise QscaleUserError(f"at most {_MAX_BITS} classical bits are supported, the circuit has {qc.num_clbits}")
    body, measured = _final_measurements(qc)
    if _needs_decomposition(body):
        unitary_part = QuantumCircuit(qc.num_qubits)
        for op, qubits in body:
            unitary_part.append(op, qubits)
        try:
            unitary_part = transpile(unitary_part, basis_gates=_DECOMPOSE_BASIS, optimization_level=0)
        except Exception as exc:  # the transpiler's own error names the gate it could not translate
            raise QscaleUserError(f"cannot decompose the circuit into qscale's gates: {exc}") from None
        body = [(i.operation, [unitary_part.find_bit(q).index for q in i.qubits]) for i in unitary_part.data]
        body = [(op, qs) for op, qs in body if op.name not in SKIPPED]

    parameters = list(qc.parameters)
    out = Circuit(qc.num_qubits)
    slots = {p: out.parameter(f"p{i}") for i, p in enumerate(parameters)}
    conv = Converted(out, parameters, measured=measured, num_clbits=qc.num_clbits)
    conv.registers = [(reg.name, [qc.find_bit(b).index for b in reg]) for reg in qc.cregs]

    def angle(value: object):
        if _is_numeric(value):
            return float(value)
        params = list(value.parameters)
        if len(params) == 1 and params[0] in slots:
            affine = _affine(value, params[0])
            if affine is not None:
                return slots[params[0]] * affine[0] + affine[1]
        conv.extras.append(_evaluator(value, parameters))
        return out.parameter(f"e{len(conv.extras) - 1}")

    for op, qubits in body:
        if op.name in NATIVE:
            getattr(out, op.name)(*qubits, *(angle(a) for a in op.params))
        else:  # numeric 1- or 2-qubit gate: its matrix, qubits[0] = least significant bit (Qiskit's order)
            out.unitary(Operator(op).data, qubits)
    return conv
