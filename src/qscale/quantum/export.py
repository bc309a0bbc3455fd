"""Export a `Circuit` to a Qiskit `QuantumCircuit` or to OpenQASM 3 text.

Gate names and conventions already match Qiskit's, so export is a one-to-one translation; only
arbitrary unitaries need work for OpenQASM 3, which has no such gate: they are decomposed into
Qiskit's U and CX gates first.
"""

from __future__ import annotations

import numpy as np

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit, ParamExpr

# gates OpenQASM 3 export may emit as they are (stdgates.inc, U, or Qiskit-defined gates)
_QASM_SAFE = {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "rx", "ry", "rz", "p", "u", "cx", "cz", "swap"}
_QASM_SAFE |= {"crx", "cry", "crz", "rzz", "rxx", "ryy"}


def _values(circuit: Circuit, params: object) -> np.ndarray | None:
    if params is None:
        return None
    if hasattr(params, "detach"):
        params = params.detach().cpu().numpy()
    try:
        values = np.asarray(params, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise QscaleUserError(f"parameter values must be real numbers: {exc}") from None
    if values.ndim == 2 and values.shape[0] == 1:
        values = values[0]
    if values.shape != (circuit.n_parameters,):
        raise QscaleUserError(
            f"export takes one parameter set of {circuit.n_parameters} values, got shape {values.shape}"
        )
    return values


def to_qiskit(circuit: Circuit, params: object = None):
    """A Qiskit QuantumCircuit with the same gates, qubit order and global phase.

    With `params` ((P,) values) angles are bound numbers; without, each qscale Parameter becomes
    a qiskit Parameter of the same name (bind by name: `qc.assign_parameters({"theta": 0.3})`,
    since Qiskit orders parameters alphabetically, not in qscale's creation order).
    """
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter as QiskitParameter

    if not isinstance(circuit, Circuit):
        raise QscaleUserError(f"to_qiskit expects a Circuit, got {type(circuit).__name__}")
    values = _values(circuit, params)
    symbols = {id(p): QiskitParameter(p.name) for p in circuit.parameters}

    def angle(a: float | ParamExpr):
        if not isinstance(a, ParamExpr):
            return a
        if values is not None:
            return float(values[circuit.parameter_index(a.parameter)] * a.scale + a.offset)
        sym = symbols[id(a.parameter)]
        if a.scale == 1.0 and a.offset == 0.0:
            return sym
        return a.scale * sym + a.offset

    qc = QuantumCircuit(circuit.n_qubits)
    for op in circuit.operations:
        if op.name == "unitary":
            qc.unitary(op.matrix, list(op.qubits))
        else:
            getattr(qc, op.name)(*(angle(a) for a in op.angles), *op.qubits)
    return qc


def to_qasm3(circuit: Circuit, params: object = None) -> str:
    """OpenQASM 3 text; unbound parameters become `input float[64]` declarations.

    Arbitrary unitaries are decomposed into U and CX, and OpenQASM 3 export drops the global
    phase, so the program equals the circuit up to a global phase.
    """
    from qiskit import qasm3, transpile

    qc = to_qiskit(circuit, params)
    if "unitary" in qc.count_ops():
        qc = qc.decompose(gates_to_decompose=["unitary"])
        if not set(qc.count_ops()) <= _QASM_SAFE:
            basis = sorted((set(qc.count_ops()) & _QASM_SAFE) | {"u", "cx"})
            qc = transpile(qc, basis_gates=basis, optimization_level=0)
    return qasm3.dumps(qc)


def ising_terms(bqm) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
    """E = const + Σ a_q Z_q + Σ b_qr Z_q Z_r on qubits in qscale's order (qubit q = sorted variable q).

    qscale's conventions (qscale.quantum.qubo): a BINARY x = 1 is |1>, so x = (1 - Z)/2; a SPIN s is the
    Z eigenvalue (s = +1 is |0>).
    """
    import dimod

    from qscale.quantum.qubo import variable_order

    order = variable_order(bqm)
    pos = {v: q for q, v in enumerate(order)}
    z: dict[int, float] = {q: 0.0 for q in range(len(order))}
    zz: dict[tuple[int, int], float] = {}
    spin = bqm.vartype is dimod.SPIN
    for v, h in bqm.linear.items():
        z[pos[v]] += h if spin else -h / 2
    for (u, v), j in bqm.quadratic.items():
        a, b = sorted((pos[u], pos[v]))
        if spin:
            zz[(a, b)] = zz.get((a, b), 0.0) + j
        else:
            zz[(a, b)] = zz.get((a, b), 0.0) + j / 4
            z[a] -= j / 4
            z[b] -= j / 4
    return z, zz


def qaoa_circuit(bqm, gammas: np.ndarray, betas: np.ndarray, measure: bool = True):
    """|+>^n, then per layer exp(-iγE) (RZ and RZZ) and exp(-iβ ΣX) (RX(2β)); qubit q = variable order[q]."""
    from qiskit import QuantumCircuit

    z, zz = ising_terms(bqm)
    n = bqm.num_variables
    qc = QuantumCircuit(n, name="qaoa")
    qc.h(range(n))
    for gamma, beta in zip(np.ravel(gammas), np.ravel(betas), strict=True):
        for (a, b), j in zz.items():
            if j:
                qc.rzz(2 * gamma * j, a, b)
        for q, h in z.items():
            if h:
                qc.rz(2 * gamma * h, q)
        qc.rx(2 * beta, range(n))
    if measure:
        qc.measure_all()
    return qc
