"""`qscale qaoa` end to end: the issue's acceptance figures and its bad-input contract."""

from __future__ import annotations

import json

import dimod
import pytest

BASE = ["qaoa", "--problem", "maxcut", "--graph", "regular:3", "--nodes", "16", "--seed", "1", "--json"]


@pytest.fixture(scope="module")
def fixed_p1():
    from conftest import run_cli

    res = run_cli(*BASE, "--p", "1", "--fixed-angles")
    assert res.code == 0, res.stderr
    return res.json()


def test_fixed_angles_p1_meets_guarantee(fixed_p1):
    r = fixed_p1
    assert r["approximation_ratio"] >= 0.6924
    for key in (
        "expectation",
        "best_bitstring",
        "best_energy",
        "approximation_ratio",
        "gammas",
        "betas",
        "n_qubits",
        "p",
        "seconds",
    ):
        assert key in r
    assert r["n_qubits"] == 16 and r["p"] == 1 and len(r["best_bitstring"]) == 16
    assert r["kind"] == "simulated"
    assert set(r["classical_baselines"]) >= {"exact", "simulated_annealing"}
    assert r["best_energy"] >= r["optimal_energy"]


def test_fixed_angles_p3_beats_p1(cli, fixed_p1):
    res = cli(*BASE, "--p", "3", "--fixed-angles")
    assert res.code == 0, res.stderr
    assert res.json()["approximation_ratio"] > fixed_p1["approximation_ratio"] + 0.02


def test_optimisation_from_scratch_reaches_fixed_angle_value(cli, fixed_p1):
    res = cli(*BASE, "--p", "1", "--restarts", "6")
    assert res.code == 0, res.stderr
    assert res.json()["approximation_ratio"] >= fixed_p1["approximation_ratio"] - 1e-3


def test_given_angles_reproduce_fixed_angles(cli, fixed_p1):
    g, b = fixed_p1["gammas"][0], fixed_p1["betas"][0]
    res = cli(*BASE, "--p", "1", "--gammas", repr(g), "--betas", repr(b))
    assert res.code == 0, res.stderr
    assert res.json()["expectation"] == pytest.approx(fixed_p1["expectation"], abs=1e-10)


def test_qubo_file_round_trip(cli, tmp_path):
    bqm = dimod.BinaryQuadraticModel(
        {"a": 1.0, "b": -2.0, "c": 0.5}, {("a", "b"): 1.5, ("b", "c"): -1.0}, 0.25, "BINARY"
    )
    path = tmp_path / "q.json"
    path.write_text(json.dumps(bqm.to_serializable()))
    res = cli("qaoa", "--qubo", str(path), "--p", "2", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    assert r["optimal_energy"] == pytest.approx(min(bqm.energies(s) for s in dimod.ExactSolver().sample(bqm).samples()))
    sample = {k: int(v) for k, v in r["best_sample"].items()}
    assert bqm.energy(sample) == pytest.approx(r["best_energy"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--nodes", "40"], "bytes"),
        (["--nodes", "16", "--p", "0"], "--p"),
        (["--nodes", "16", "--graph", "regular:3x"], "degree"),
        (["--nodes", "15", "--graph", "regular:3"], "regular"),
        (["--nodes", "16", "--gammas", "0.1"], "together"),
        (["--nodes", "16", "--gammas", "0.1,x", "--betas", "0.2,0.3", "--p", "2"], "comma-separated"),
        (["--nodes", "16", "--graph", "erdos:0.5", "--fixed-angles"], "regular"),
    ],
)
def test_bad_input_exits_2_with_reason(cli_fast, args, needle):
    res = cli_fast("qaoa", "--json", *args)
    assert res.code == 2, (res.code, res.stderr)
    assert res.stdout == ""
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert needle in lines[0]


def test_malformed_qubo_file_exits_2(cli_fast, tmp_path):
    for content in ("{not json", json.dumps({"type": "BinaryQuadraticModel", "linear_biases": "oops"})):
        path = tmp_path / "bad.json"
        path.write_text(content)
        res = cli_fast("qaoa", "--qubo", str(path), "--json")
        assert res.code == 2, res.stderr
        assert "bad.json" in res.stderr or "QUBO" in res.stderr


def test_missing_qubo_file_exits_2(cli_fast, tmp_path):
    res = cli_fast("qaoa", "--qubo", str(tmp_path / "nope.json"), "--json")
    assert res.code == 2
