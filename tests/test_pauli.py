"""Pauli sums against Qiskit's SparsePauliOp: expectation values, matrices, conversions, files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from qiskit.quantum_info import SparsePauliOp, random_statevector

from qscale.errors import QscaleUserError
from qscale.quantum.pauli import PauliSum


def random_terms(n: int, k: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(k)]
    labels[0] = "Y" * n  # Y terms always present
    labels[1] = "Z" + "I" * (n - 1)
    return labels, rng.normal(size=k)


def random_states(n: int, batch: int, seed: int) -> np.ndarray:
    return np.stack([random_statevector(2**n, seed=seed + b).data for b in range(batch)])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("seed", [0, 1])
def test_expectation_matches_qiskit_matrix(n, seed):
    labels, coeffs = random_terms(n, 12, seed)
    H = PauliSum(labels, coeffs)
    M = SparsePauliOp(labels, coeffs).to_matrix()
    psi = random_states(n, 3, seed)
    ours = H.expectation(torch.tensor(psi))
    assert ours.shape == (3,) and ours.dtype == torch.float64
    ref = np.einsum("bi,ij,bj->b", psi.conj(), M, psi).real
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-12)
    single = H.expectation(torch.tensor(psi[0]))
    assert single.shape == ()
    assert abs(float(single) - ref[0]) < 1e-12


def test_expectation_complex64_and_repeated_calls():
    labels, coeffs = random_terms(6, 20, 3)
    H = PauliSum(labels, coeffs)
    psi = torch.tensor(random_states(6, 2, 9))
    first = H.expectation(psi)
    np.testing.assert_allclose(H.expectation(psi).numpy(), first.numpy(), atol=0)
    low = H.expectation(psi.to(torch.complex64))
    assert low.dtype == torch.float32
    np.testing.assert_allclose(low.numpy(), first.numpy(), atol=1e-5)


def test_expectation_gradient_is_2_h_psi():
    labels, coeffs = random_terms(4, 8, 5)
    H = PauliSum(labels, coeffs)
    psi = torch.tensor(random_states(4, 1, 2)[0], requires_grad=True)
    H.expectation(psi).backward()
    M = torch.tensor(SparsePauliOp(labels, coeffs).to_matrix())
    torch.testing.assert_close(psi.grad, 2 * M @ psi.detach(), atol=1e-12, rtol=0)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_sparse_matrix_matches_qiskit(n):
    labels, coeffs = random_terms(n, 15, n)
    m = PauliSum(labels, coeffs).to_sparse_matrix()
    assert m.shape == (2**n, 2**n)
    np.testing.assert_allclose(m.toarray(), SparsePauliOp(labels, coeffs).to_matrix(), atol=1e-14)


def test_sparse_pauli_op_round_trip():
    labels, coeffs = random_terms(5, 10, 4)
    H = PauliSum(labels, coeffs)
    op = H.to_sparse_pauli_op()
    assert op == SparsePauliOp(labels, coeffs)
    back = PauliSum.from_sparse_pauli_op(op)
    assert back.labels == H.labels
    np.testing.assert_array_equal(back.coeffs, H.coeffs)


def test_from_sparse_pauli_op_absorbs_phases_and_rejects_imaginary():
    op = SparsePauliOp(["XY", "ZZ"], [1.0, 2.0]) @ SparsePauliOp(["YY"], [1.0])  # i·ZX and ..., complex
    with pytest.raises(QscaleUserError, match="real"):
        PauliSum.from_sparse_pauli_op(op)
    real = SparsePauliOp(["-iXY"], [1j])  # -i · i · XY = XY
    H = PauliSum.from_sparse_pauli_op(real)
    assert H.terms == [("XY", 1.0)]
    with pytest.raises(QscaleUserError, match="SparsePauliOp"):
        PauliSum.from_sparse_pauli_op("XY")


def test_json_round_trip_uses_design_format(tmp_path):
    H = PauliSum.from_labels([("XZI", 0.5), ("ZZI", -1.0), ("IYY", 2)])
    path = tmp_path / "h.json"
    H.to_json(path)
    assert json.loads(path.read_text()) == {"terms": [["XZI", 0.5], ["ZZI", -1.0], ["IYY", 2.0]]}
    back = PauliSum.from_json(path)
    assert back.terms == H.terms and back.n_qubits == 3


@pytest.mark.parametrize(
    ("terms", "match"),
    [
        ([("XAZ", 1.0)], "letters other than"),
        ([("xz", 1.0)], "letters other than"),
        ([("XZ", 1.0), ("XZI", 1.0)], "unequal lengths"),
        ([("XZ", 1 + 2j)], "must be real"),
        ([("XZ", np.complex128(0.5 - 0.1j))], "must be real"),
        ([("XZ", float("nan"))], "finite"),
        ([("XZ", "0.5")], "real number"),
        ([("XZ", True)], "real number"),
        ([("XZ",)], "pair"),
        ([("", 1.0)], "non-empty"),
        ([], "at least one"),
    ],
)
def test_bad_terms_raise_user_errors(terms, match):
    with pytest.raises(QscaleUserError, match=match):
        PauliSum.from_labels(terms)


def test_complex_type_with_zero_imaginary_part_is_accepted():
    assert PauliSum.from_labels([("XZ", 0.5 + 0j)]).terms == [("XZ", 0.5)]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"terms": [["XZ", 0.5],', "not valid JSON"),
        ('["XZ", 0.5]', "terms"),
        ('{"terms": {"XZ": 0.5}}', "terms"),
        ('{"terms": [["XQ", 0.5]]}', "letters other than"),
        ('{"terms": [["XZ", [0.5, 1.0]]]}', "real number"),
    ],
)
def test_malformed_json_files_raise_user_errors(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(QscaleUserError, match=match):
        PauliSum.from_json(path)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(QscaleUserError, match="cannot read"):
        PauliSum.from_json(tmp_path / "absent.json")


def test_state_of_wrong_size_is_a_user_error():
    H = PauliSum.from_labels([("XZ", 0.5)])
    with pytest.raises(QscaleUserError, match="does not match"):
        H.expectation(torch.zeros(8, dtype=torch.complex128))
    with pytest.raises(QscaleUserError, match="complex"):
        H.expectation(torch.zeros(4))
