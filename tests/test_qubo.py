"""cost_diagonal, variable order and BQM files against dimod's own energies."""

from __future__ import annotations

import itertools
import json
import warnings

import dimod
import numpy as np
import pytest

from qscale.errors import QscaleUserError
from qscale.quantum.qubo import bqm_from_json, cost_diagonal, sample_from_index, variable_order


def _random_bqm(n: int, vartype: str, rng: np.random.Generator, labels=None) -> dimod.BinaryQuadraticModel:
    labels = labels if labels is not None else [f"x{i:02d}" for i in range(n)]
    linear = {v: float(rng.normal()) for v in labels}
    quad = {(a, b): float(rng.normal()) for a, b in itertools.combinations(labels, 2) if rng.random() < 0.6}
    return dimod.BinaryQuadraticModel(linear, quad, float(rng.normal()), vartype)


def _all_samples(n: int, vartype: dimod.Vartype) -> np.ndarray:
    """Row x holds the variable values of basis index x (column q = qubit q = bit q)."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    return bits if vartype is dimod.BINARY else 1 - 2 * bits


@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
@pytest.mark.parametrize("n", [1, 2, 5, 9, 12])
def test_cost_diagonal_matches_dimod_energies(vartype, n):
    rng = np.random.default_rng(100 + n)
    bqm = _random_bqm(n, vartype, rng)
    diag = cost_diagonal(bqm)
    order = variable_order(bqm)
    expected = bqm.energies((_all_samples(n, bqm.vartype), order))
    assert diag.shape == (2**n,)
    np.testing.assert_allclose(diag, expected, rtol=0, atol=1e-12 * max(1.0, np.abs(expected).max()))


def test_cost_diagonal_integer_labels_follow_sorted_order_not_insertion_order():
    bqm = dimod.BinaryQuadraticModel({3: 1.0, 1: 10.0, 2: 100.0}, {(3, 1): 1000.0}, 0.0, "BINARY")
    assert variable_order(bqm) == [1, 2, 3]
    diag = cost_diagonal(bqm)
    assert diag[0b001] == 10.0  # qubit 0 = label 1
    assert diag[0b010] == 100.0  # qubit 1 = label 2
    assert diag[0b100] == 1.0  # qubit 2 = label 3
    assert diag[0b101] == 10.0 + 1.0 + 1000.0


def test_spin_convention_zero_bit_is_plus_one():
    bqm = dimod.BinaryQuadraticModel({"a": 2.0}, {}, 0.5, "SPIN")
    diag = cost_diagonal(bqm)
    assert diag[0] == pytest.approx(0.5 + 2.0)  # bit 0 -> s = +1
    assert diag[1] == pytest.approx(0.5 - 2.0)  # bit 1 -> s = -1


def test_cost_diagonal_float32_and_explicit_order():
    rng = np.random.default_rng(5)
    bqm = _random_bqm(6, "BINARY", rng)
    order = list(reversed(variable_order(bqm)))
    d32 = cost_diagonal(bqm, dtype=np.float32, order=order)
    assert d32.dtype == np.float32
    expected = bqm.energies((_all_samples(6, bqm.vartype), order))
    np.testing.assert_allclose(d32, expected, rtol=0, atol=1e-4)
    with pytest.raises(QscaleUserError):
        cost_diagonal(bqm, order=order[:-1])


def test_empty_bqm_is_its_offset():
    assert cost_diagonal(dimod.BinaryQuadraticModel({}, {}, 1.25, "BINARY")).tolist() == [1.25]


def test_unsortable_labels_fall_back_with_warning():
    bqm = dimod.BinaryQuadraticModel({"b": 1.0, 2: 2.0, "a": 3.0, 1: 4.0}, {}, 0.0, "BINARY")
    with pytest.warns(UserWarning, match="not mutually sortable"):
        order = variable_order(bqm)
    assert order == [1, 2, "a", "b"]  # ints ('int') before strings ('str'), each by repr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diag = cost_diagonal(bqm)
    expected = bqm.energies((_all_samples(4, bqm.vartype), order))
    np.testing.assert_allclose(diag, expected)


def test_forty_variables_refused_with_bytes():
    bqm = dimod.BinaryQuadraticModel({i: 1.0 for i in range(40)}, {}, 0.0, "BINARY")
    with pytest.raises(QscaleUserError, match=r"cost diagonal for 40 qubits .*needs \d+ bytes"):
        cost_diagonal(bqm)


def test_sample_from_index():
    assert sample_from_index(0b101, ["a", "b", "c"]) == {"a": 1, "b": 0, "c": 1}
    assert sample_from_index(0b101, ["a", "b", "c"], "SPIN") == {"a": -1, "b": 1, "c": -1}


def test_bqm_json_roundtrip(tmp_path):
    rng = np.random.default_rng(7)
    bqm = _random_bqm(5, "SPIN", rng, labels=["p", "q", "r", "s", "t"])
    path = tmp_path / "q.json"
    path.write_text(json.dumps(bqm.to_serializable()))
    back = bqm_from_json(path)
    assert back.vartype is dimod.SPIN
    np.testing.assert_allclose(cost_diagonal(back), cost_diagonal(bqm))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a serialized dimod"),
        ('{"type": "Foo"}', "not a serialized dimod"),
        ('{"type": "BinaryQuadraticModel", "version": {"bqm_schema": "3.0.0"}}', "malformed"),
    ],
)
def test_bqm_json_malformed_is_user_error(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(QscaleUserError, match=reason):
        bqm_from_json(path)


def test_bqm_json_missing_file(tmp_path):
    with pytest.raises(QscaleUserError, match="cannot read"):
        bqm_from_json(tmp_path / "absent.json")
