"""Hamiltonians for VQE: built-in chains, MaxCut/QUBO as Ising, H2, Pauli JSON files, and exact ground energies.

Everything becomes a `PauliSum` (labels in Qiskit order, rightmost character = qubit 0), so a built-in and
the same operator written to a Pauli JSON file (docs/design.md) are interchangeable. The exact ground energy (sparse
diagonalisation) is the classical reference every VQE result is reported beside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import dimod
import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from qscale.errors import QscaleUserError
from qscale.quantum.pauli import PauliSum
from qscale.quantum.qubo import variable_order
from qscale.validation import check_int

# Qiskit's H2 test Hamiltonian (STO-3G, 0.735 Å, parity mapping with two-qubit reduction), as in the VQE
# tests of qiskit-algorithms (test/minimum_eigensolvers/test_vqe.py).
H2_TERMS = (
    ("II", -1.052373245772859),
    ("IZ", 0.39793742484318045),
    ("ZI", -0.39793742484318045),
    ("ZZ", -0.01128010425623538),
    ("XX", 0.18093119978423156),
)
H2_GROUND_ENERGY = -1.857275030202  # Ha, electronic: exact lowest eigenvalue of H2_TERMS
H2_NUCLEAR_REPULSION = 0.719968994449  # Ha
CHEMICAL_ACCURACY = 1.6e-3  # Ha
MAX_BUILTIN_QUBITS = 24
DENSE_LIMIT = 256  # below this dimension dense eigvalsh is faster and more robust than Lanczos

SPEC_HELP = (
    "h2, tfim:N[:h=..][:j=..][:periodic], heisenberg:N[:jz=..][:h=..][:periodic], maxcut:N[:degree=D], "
    "qubo:FILE (dimod BQM JSON) or a Pauli JSON file"
)


@dataclass
class Hamiltonian:
    """A named Pauli-sum Hamiltonian; `meta` carries what built it (e.g. the BQM of a MaxCut instance)."""

    op: PauliSum
    name: str
    description: str
    meta: dict = field(default_factory=dict)

    @property
    def n_qubits(self) -> int:
        return self.op.n_qubits


def _label(n: int, paulis: dict[int, str]) -> str:
    """A Qiskit-order label with the given letters on the given qubits (qubit 0 is the last character)."""
    chars = ["I"] * n
    for q, p in paulis.items():
        chars[n - 1 - q] = p
    return "".join(chars)


def _bonds(n: int, periodic: bool) -> list[tuple[int, int]]:
    bonds = [(q, q + 1) for q in range(n - 1)]
    if periodic and n > 2:
        bonds.append((n - 1, 0))
    return bonds


def _check_n(n: int, least: int = 2) -> int:
    return check_int(n, "number of qubits", min=least, max=MAX_BUILTIN_QUBITS)


def tfim(n: int, h: float = 1.0, j: float = 1.0, periodic: bool = False) -> PauliSum:
    """Transverse-field Ising chain H = -J Σ Z_i Z_{i+1} - h Σ X_i (critical at h = J)."""
    n = _check_n(n)
    terms = [(_label(n, {a: "Z", b: "Z"}), -float(j)) for a, b in _bonds(n, periodic)]
    terms += [(_label(n, {q: "X"}), -float(h)) for q in range(n)]
    return PauliSum.from_labels(terms)


def heisenberg(n: int, jz: float = 1.0, h: float = 0.0, periodic: bool = False) -> PauliSum:
    """XXZ Heisenberg chain H = Σ (X_i X_{i+1} + Y_i Y_{i+1} + Δ Z_i Z_{i+1}) + h Σ Z_i (Δ = jz; 1 = XXX)."""
    n = _check_n(n)
    terms = []
    for a, b in _bonds(n, periodic):
        terms += [(_label(n, {a: "X", b: "X"}), 1.0), (_label(n, {a: "Y", b: "Y"}), 1.0)]
        terms.append((_label(n, {a: "Z", b: "Z"}), float(jz)))
    if h:
        terms += [(_label(n, {q: "Z"}), float(h)) for q in range(n)]
    return PauliSum.from_labels(terms)


def h2() -> PauliSum:
    """H2 in STO-3G at 0.735 Å on 2 qubits (electronic energy; nuclear repulsion not included)."""
    return PauliSum.from_labels(H2_TERMS)


def bqm_to_pauli(bqm: dimod.BinaryQuadraticModel) -> PauliSum:
    """The BQM energy as a Z-only Pauli sum, in docs/design.md's qubit order and spin convention.

    Qubit bit b: a BINARY x = b = (1 - Z)/2; a SPIN s = 1 - 2b = Z. So <b|H|b> equals the BQM energy of b,
    which is what `qscale.quantum.qubo.cost_diagonal` computes (the tests check they agree).
    """
    order = variable_order(bqm)
    n = len(order)
    if n == 0:
        raise QscaleUserError("the BQM has no variables")
    if n > MAX_BUILTIN_QUBITS:
        raise QscaleUserError(f"the BQM has {n} variables; at most {MAX_BUILTIN_QUBITS} are supported here")
    q = {v: i for i, v in enumerate(order)}
    acc: dict[str, float] = {"I" * n: float(bqm.offset)}

    def add(paulis: dict[int, str], c: float) -> None:
        lab = _label(n, paulis)
        acc[lab] = acc.get(lab, 0.0) + c

    binary = bqm.vartype is dimod.BINARY
    for v, bias in bqm.linear.items():
        if binary:  # h·(1 - Z)/2
            add({}, bias / 2)
            add({q[v]: "Z"}, -bias / 2)
        else:
            add({q[v]: "Z"}, bias)
    for (u, v), coupling in bqm.quadratic.items():
        if binary:  # J·(1 - Z_u)(1 - Z_v)/4
            add({}, coupling / 4)
            add({q[u]: "Z"}, -coupling / 4)
            add({q[v]: "Z"}, -coupling / 4)
            add({q[u]: "Z", q[v]: "Z"}, coupling / 4)
        else:
            add({q[u]: "Z", q[v]: "Z"}, coupling)
    terms = [(lab, c) for lab, c in acc.items() if c != 0.0] or [("I" * n, 0.0)]
    return PauliSum.from_labels(terms)


def _options(parts: list[str], allowed: dict[str, type], spec: str) -> dict:
    out: dict = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if key not in allowed:
            raise QscaleUserError(f"Hamiltonian {spec!r}: unknown option {key!r} (allowed: {', '.join(allowed)})")
        kind = allowed[key]
        if kind is bool:
            if eq:
                raise QscaleUserError(f"Hamiltonian {spec!r}: option {key!r} takes no value")
            out[key] = True
            continue
        try:
            out[key] = kind(value)
        except ValueError:
            raise QscaleUserError(
                f"Hamiltonian {spec!r}: option {key!r} needs a {kind.__name__}, got {value!r}"
            ) from None
    return out


def _size(text: str, spec: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise QscaleUserError(f"Hamiltonian {spec!r}: the number of qubits must be an integer, got {text!r}") from None


def load_hamiltonian(spec: str | PauliSum | object, seed: int = 1) -> Hamiltonian:
    """A Hamiltonian from a built-in spec (see SPEC_HELP), a `qubo:` BQM file, a Pauli JSON file, or a
    PauliSum / qiskit SparsePauliOp object given directly."""
    from qscale.algorithms.qaoa.problems import load_problem, make_problem

    if isinstance(spec, PauliSum):
        return Hamiltonian(spec, "pauli-sum", f"Pauli sum ({len(spec)} terms, {spec.n_qubits} qubits)")
    if type(spec).__name__ == "SparsePauliOp":
        op = PauliSum.from_sparse_pauli_op(spec)
        return Hamiltonian(op, "sparse-pauli-op", f"qiskit SparsePauliOp ({len(op)} terms, {op.n_qubits} qubits)")
    if not isinstance(spec, str) or not spec.strip():
        raise QscaleUserError(f"--hamiltonian must be one of: {SPEC_HELP}")
    spec = spec.strip()
    name, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    if name == "h2" and not parts:
        return Hamiltonian(h2(), "h2", "H2, STO-3G, 0.735 Å, 2 qubits (Qiskit test Hamiltonian; electronic energy)",
                           {"nuclear_repulsion": H2_NUCLEAR_REPULSION})
    if name in ("tfim", "heisenberg") and parts:
        n = _size(parts[0], spec)
        if name == "tfim":
            o = _options(parts[1:], {"h": float, "j": float, "periodic": bool}, spec)
            op = tfim(n, o.get("h", 1.0), o.get("j", 1.0), o.get("periodic", False))
            desc = f"transverse-field Ising chain, {n} qubits, J={o.get('j', 1.0):g}, h={o.get('h', 1.0):g}"
        else:
            o = _options(parts[1:], {"jz": float, "h": float, "periodic": bool}, spec)
            op = heisenberg(n, o.get("jz", 1.0), o.get("h", 0.0), o.get("periodic", False))
            desc = f"Heisenberg XXZ chain, {n} qubits, Δ={o.get('jz', 1.0):g}, h={o.get('h', 0.0):g}"
        desc += ", periodic" if o.get("periodic") else ", open"
        return Hamiltonian(op, name, desc, o)
    if name == "maxcut" and parts:
        n = _size(parts[0], spec)
        o = _options(parts[1:], {"degree": int}, spec)
        problem = make_problem("maxcut", f"regular:{o.get('degree', 3)}", _check_n(n), seed)
        return Hamiltonian(bqm_to_pauli(problem.bqm), "maxcut", f"{problem.description} as an Ising Hamiltonian",
                           {"bqm": problem.bqm})
    if name == "qubo" and rest:
        problem = load_problem(Path(rest))
        return Hamiltonian(bqm_to_pauli(problem.bqm), "qubo", f"{problem.description} as an Ising Hamiltonian",
                           {"bqm": problem.bqm})
    path = Path(spec)
    if path.is_file():
        op = PauliSum.from_json(path)
        return Hamiltonian(op, "file", f"Pauli Hamiltonian from {path} ({len(op)} terms, {op.n_qubits} qubits)")
    if path.suffix == ".json":
        raise QscaleUserError(f"Hamiltonian file not found: {path}")
    raise QscaleUserError(f"unknown Hamiltonian {spec!r}: use {SPEC_HELP}")


def is_diagonal(op: PauliSum) -> bool:
    return all(set(lab) <= {"I", "Z"} for lab in op.labels)


@dataclass
class GroundEnergy:
    energy: float
    method: str
    seconds: float


def ground_energy(op: PauliSum) -> GroundEnergy:
    """Lowest eigenvalue: min of the diagonal, dense eigvalsh for small spaces, else Lanczos (eigsh)."""
    t0 = time.perf_counter()
    m = op.to_sparse_matrix()
    dim = m.shape[0]
    if is_diagonal(op):
        value, method = float(np.min(m.diagonal().real)), "minimum of the diagonal (Z-only Hamiltonian)"
    elif dim <= DENSE_LIMIT:
        value, method = float(scipy.linalg.eigvalsh(m.toarray())[0]), "dense diagonalisation (scipy eigvalsh)"
    else:
        v0 = np.random.default_rng(0).standard_normal(dim).astype(np.complex128)
        vals = scipy.sparse.linalg.eigsh(m, k=1, which="SA", v0=v0, tol=1e-12, return_eigenvectors=False)
        value, method = float(vals[0]), "sparse diagonalisation (scipy eigsh, Lanczos)"
    return GroundEnergy(value, method, time.perf_counter() - t0)
