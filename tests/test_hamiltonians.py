"""Hamiltonians: built-ins against independent Kronecker-product matrices, BQM -> Ising, exact ground energies."""

from __future__ import annotations

import json
from functools import reduce

import dimod
import networkx as nx
import numpy as np
import pytest

from qscale.algorithms.variational.hamiltonians import (
    H2_GROUND_ENERGY,
    bqm_to_pauli,
    ground_energy,
    h2,
    heisenberg,
    load_hamiltonian,
    tfim,
)
from qscale.errors import QscaleUserError
from qscale.quantum.pauli import PauliSum
from qscale.quantum.qubo import cost_diagonal

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def op_on(n: int, ops: dict[int, str]) -> np.ndarray:
    """Dense operator with Pauli letters on given qubits; qubit 0 is the least significant (rightmost) factor."""
    return reduce(np.kron, [PAULI[ops.get(q, "I")] for q in reversed(range(n))])


def test_h2_ground_energy_matches_anchor():
    assert ground_energy(h2()).energy == pytest.approx(H2_GROUND_ENERGY, abs=1e-11)


def test_tfim_matches_kronecker_construction():
    n, h, j = 4, 0.7, 1.3
    ref = sum(-j * op_on(n, {q: "Z", q + 1: "Z"}) for q in range(n - 1))
    ref = ref + sum(-h * op_on(n, {q: "X"}) for q in range(n))
    np.testing.assert_allclose(tfim(n, h=h, j=j).to_sparse_matrix().toarray(), ref, atol=1e-12)


def test_heisenberg_two_sites_is_the_singlet_energy():
    # X X + Y Y + Z Z = 2 SWAP - 1: the singlet has -3, the triplet +1
    assert ground_energy(heisenberg(2)).energy == pytest.approx(-3.0, abs=1e-12)
    # open XXX chain of 4 sites: -(3 + 2*sqrt(3)) (Bethe ansatz / hand diagonalisation)
    assert ground_energy(heisenberg(4)).energy == pytest.approx(-(3 + 2 * np.sqrt(3)), abs=1e-10)


def test_heisenberg_periodic_and_field_match_kronecker():
    n, jz, h = 3, 0.5, 0.2
    bonds = [(0, 1), (1, 2), (2, 0)]
    ref = sum(op_on(n, {a: p, b: p}) * (jz if p == "Z" else 1.0) for a, b in bonds for p in "XYZ")
    ref = ref + sum(h * op_on(n, {q: "Z"}) for q in range(n))
    got = heisenberg(n, jz=jz, h=h, periodic=True).to_sparse_matrix().toarray()
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_sparse_lanczos_agrees_with_dense():
    op = heisenberg(9, jz=0.7, h=0.1)  # 512 > dense limit -> eigsh
    res = ground_energy(op)
    assert "eigsh" in res.method
    dense = np.linalg.eigvalsh(op.to_sparse_matrix().toarray())[0]
    assert res.energy == pytest.approx(dense, abs=1e-9)


@pytest.mark.parametrize("vartype", [dimod.BINARY, dimod.SPIN])
def test_bqm_ising_diagonal_equals_cost_diagonal(vartype):
    rng = np.random.default_rng(3)
    bqm = dimod.BinaryQuadraticModel(vartype)
    for v in "abcde":
        bqm.add_variable(v, rng.normal())
    for u, v in [("a", "b"), ("b", "d"), ("c", "e"), ("a", "e")]:
        bqm.add_interaction(u, v, rng.normal())
    bqm.offset = 0.37
    diag = bqm_to_pauli(bqm).to_sparse_matrix().diagonal().real
    np.testing.assert_allclose(diag, cost_diagonal(bqm), atol=1e-12)


def test_maxcut_ground_energy_is_minus_the_max_cut():
    ham = load_hamiltonian("maxcut:6", seed=2)
    graph = nx.random_regular_graph(3, 6, seed=2)
    best = max(
        sum(1 for u, v in graph.edges if (m >> u & 1) != (m >> v & 1)) for m in range(2**6)
    )
    assert ground_energy(ham.op).energy == pytest.approx(-best)
    assert "minimum of the diagonal" in ground_energy(ham.op).method


def test_file_round_trip_equals_builtin(tmp_path):
    path = tmp_path / "h2.json"
    h2().to_json(path)
    loaded = load_hamiltonian(str(path))
    assert loaded.op.labels == h2().labels
    np.testing.assert_array_equal(loaded.op.coeffs, h2().coeffs)


def test_sparse_pauli_op_import_matches_qiskit_matrix():
    from qiskit.quantum_info import SparsePauliOp

    spo = SparsePauliOp(["XYZ", "ZZI", "IIX"], [0.3, -1.1, 0.5])
    np.testing.assert_allclose(
        PauliSum.from_sparse_pauli_op(spo).to_sparse_matrix().toarray(), spo.to_matrix(), atol=1e-12
    )


@pytest.mark.parametrize(
    "spec",
    ["nope", "tfim", "tfim:x", "tfim:4:h=abc", "tfim:4:bogus=1", "heisenberg:1", "maxcut:5", "missing.json", "h2:3"],
)
def test_bad_specs_are_user_errors(spec):
    with pytest.raises(QscaleUserError):
        load_hamiltonian(spec)


@pytest.mark.parametrize(
    "terms, reason",
    [
        ([["XQ", 1.0]], "letters other than"),
        ([["XX", 1.0], ["ZZZ", 0.5]], "unequal lengths"),
        ([["XX", "1+2j"]], "real number"),
        ([["XX", [1.0, 2.0]]], "real number"),
    ],
)
def test_bad_pauli_files_are_user_errors(tmp_path, terms, reason):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"terms": terms}))
    with pytest.raises(QscaleUserError, match=reason):
        load_hamiltonian(str(path))


def test_complex_coefficient_from_qiskit_is_rejected():
    from qiskit.quantum_info import SparsePauliOp

    with pytest.raises(QscaleUserError, match="must be real"):
        PauliSum.from_sparse_pauli_op(SparsePauliOp(["XZ"], [0.5 + 0.5j]))


def test_objects_are_accepted_directly():
    from qiskit.quantum_info import SparsePauliOp

    spo = SparsePauliOp([lab for lab, _ in h2().terms], [c for _, c in h2().terms])
    for obj in (spo, h2()):
        ham = load_hamiltonian(obj)
        assert ground_energy(ham.op).energy == pytest.approx(H2_GROUND_ENERGY, abs=1e-11)
