"""`energy ft` against Microsoft's Azure Quantum Resource Estimator (`qsharp`), on a subset of the grid.

The full grid (4 qubit models x 50-1,000 logical qubits x 1e6-1e10 T gates) is benchmarks/ft_vs_qsharp.py.
qsharp is a reference here, not a qscale dependency: the test is skipped where it is not installed.
"""

from __future__ import annotations

import warnings

import pytest

from qscale.energy.ft import estimate_ft
from qscale.energy.ft_factory import units_needed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    estimator = pytest.importorskip("qsharp.estimator")

MODELS = ("qubit_gate_ns_e3", "qubit_gate_ns_e4", "qubit_gate_us_e3", "qubit_gate_us_e4")
POINTS = (
    {"numQubits": 50, "tCount": 10**6},
    {"numQubits": 200, "tCount": 10**8},
    {"numQubits": 1000, "tCount": 10**10},
    {"numQubits": 100, "tCount": 10**6, "rotationCount": 10**4, "rotationDepth": 10**3},
    {"numQubits": 300, "cczCount": 10**7, "measurementCount": 10**5},
)


def _qsharp(model: str, counts: dict[str, int]) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = estimator.EstimatorParams()
        params.qubit_params.name = model
        return estimator.LogicalCounts(counts).estimate(params)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("counts", POINTS, ids=lambda c: "-".join(f"{k}={v:g}" for k, v in c.items()))
def test_physical_qubits_and_factories_within_5_percent_of_qsharp(model, counts):
    ref = _qsharp(model, counts)
    ours = estimate_ft(
        logical_qubits=counts["numQubits"],
        qubit_model_name=model,
        t_count=counts.get("tCount", 0),
        rotation_count=counts.get("rotationCount", 0),
        rotation_depth=counts.get("rotationDepth"),
        ccz_count=counts.get("cczCount", 0),
        measurement_count=counts.get("measurementCount", 0),
    ).to_json()
    b = ref["physicalCounts"]["breakdown"]
    assert ours["code_distance"] == ref["logicalQubit"]["codeDistance"]
    assert ours["runtime_s"] == pytest.approx(ref["physicalCounts"]["runtime"] * 1e-9, rel=1e-9)
    assert ours["physical_qubits"] == pytest.approx(ref["physicalCounts"]["physicalQubits"], rel=0.05)
    assert ours["t_factories"] == pytest.approx(b["numTfactories"], rel=0.05)
    f, g = ours["t_factory"], ref["tfactory"]
    assert f["physical_qubits"] == pytest.approx(g["physicalQubits"], rel=0.05)
    assert f["seconds"] == pytest.approx(g["runtime"] * 1e-9, rel=0.05)


def test_round_sizes_follow_the_binomial_yield():
    # one 15-to-1 unit that fails 0.15 % of the time delivers its state with probability >= 1 - 0.01
    assert units_needed(1, 0.0015, 1, 0.01) == (1, 1)
    # failing 2.6 % of the time, 15 good outputs with probability >= 1 - 0.005 take 18 units (qsharp: 18, 1)
    n, made = units_needed(15, 0.02568, 1, 0.005)
    assert n == 18 and made >= 15
    assert units_needed(15, 0.02568, 1, 0.005)[0] > units_needed(15, 0.01, 1, 0.005)[0]
