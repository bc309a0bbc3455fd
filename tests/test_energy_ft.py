"""Fault-tolerant estimates: the Azure model's code distance, layout, T states and factories."""

from __future__ import annotations

import math

import pytest

from qscale.energy.ft import code_distance, estimate_ft, logical_error
from qscale.errors import QscaleUserError


def test_anchor_distance_21_and_882_qubits_per_logical():
    assert code_distance(1e-3, 1e-12) == 21
    r = estimate_ft(logical_qubits=1, logical_depth=1, target_per_cycle=1e-12).to_json()
    assert r["code_distance"] == 21
    assert r["physical_qubits_per_logical_qubit"] == 882
    assert r["logical_cycle_time_s"] == pytest.approx((4 * 50e-9 + 2 * 100e-9) * 21)


@pytest.mark.parametrize("p, target", [(1e-3, 1e-9), (1e-4, 1e-12), (5e-3, 1e-8), (1e-3, 3e-13)])
def test_distance_is_the_smallest_odd_that_meets_the_target(p, target):
    d = code_distance(p, target)
    assert d % 2 == 1
    assert logical_error(p, d, 0.03, 0.01) <= target
    assert d == 1 or logical_error(p, d - 2, 0.03, 0.01) > target


def test_algorithm_size_gives_qubits_runtime_and_energy():
    r = estimate_ft(logical_qubits=100, t_count=1_000_000, rotation_count=10_000).to_json()
    assert r["logical_qubits_after_layout"] == 2 * 100 + math.ceil(math.sqrt(800)) + 1
    eps_syn = 1e-3 / 3
    per_rot = math.ceil(0.53 * math.log2(10_000 / eps_syn) + 5.3)
    assert r["t_states_per_rotation"] == per_rot
    assert r["t_states"] == 1_000_000 + 10_000 * per_rot
    assert r["algorithmic_logical_depth"] == 10_000 + 1_000_000 + 10_000 * per_rot
    # the required per-cycle error comes from the logical third of the budget
    cycles = r["logical_depth"]
    assert r["required_logical_error_per_cycle"] == pytest.approx(1e-3 / 3 / (230 * cycles))
    assert r["logical_error_per_cycle"] <= r["required_logical_error_per_cycle"]
    assert r["runtime_s"] == pytest.approx(cycles * r["logical_cycle_time_s"])
    f = r["t_factory"]
    assert f["output_error"] <= (1e-3 / 3) / r["t_states"]
    # the factories running in parallel supply every T state within the runtime
    assert r["t_factories"] * f["t_states_per_run"] * r["runtime_s"] / f["seconds"] >= r["t_states"]
    assert r["physical_qubits"] == r["physical_qubits_algorithm"] + r["t_factories"] * f["physical_qubits"]
    e = r["energy_j"]
    assert 0 < e["low"] <= e["typical"] <= e["high"]
    assert r["modality"] == "superconducting"


def test_better_qubits_need_fewer_physical_qubits_and_slow_qubits_run_longer():
    args = {"logical_qubits": 50, "t_count": 100_000}
    e3, e4 = estimate_ft(**args).to_json(), estimate_ft(qubit_model_name="qubit_gate_ns_e4", **args).to_json()
    assert e4["code_distance"] < e3["code_distance"]
    assert e4["physical_qubits"] < e3["physical_qubits"]
    ions = estimate_ft(qubit_model_name="qubit_gate_us_e3", **args).to_json()
    assert ions["runtime_s"] > 1000 * e3["runtime_s"]
    assert ions["modality"] == "trapped_ion"


def test_majorana_floquet_footprint():
    r = estimate_ft(logical_qubits=10, logical_depth=1000, qubit_model_name="qubit_maj_ns_e4", qec="floquet_code")
    r = r.to_json()
    d = r["code_distance"]
    assert r["physical_qubits_per_logical_qubit"] == 4 * d * d + 8 * (d - 1)
    assert r["logical_cycle_time_s"] == pytest.approx(3 * 100e-9 * d)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"logical_qubits": 0, "t_count": 5}, "--logical-qubits"),
        ({"logical_qubits": 5}, "algorithm size"),
        ({"logical_qubits": 5, "t_count": 5, "error_budget": 1.5}, "--error-budget"),
        ({"logical_qubits": 5, "t_count": 5, "qec": "floquet_code"}, "Majorana"),
        ({"logical_qubits": 5, "t_count": 5, "qubit_model_name": "qubit_cat"}, "qubit_gate_ns_e3"),
    ],
)
def test_bad_ft_inputs(kwargs, message):
    with pytest.raises(QscaleUserError, match=message):
        estimate_ft(**kwargs)


def test_above_threshold_is_a_user_error():
    with pytest.raises(QscaleUserError, match="threshold"):
        code_distance(0.02, 1e-9)
