"""`qscale qpca`: the JSON contract, the three baselines, and exit code 2 with a reason on bad input."""

from __future__ import annotations

import numpy as np
import pytest

FIELDS = (
    "principal_angles_deg",
    "max_principal_angle_deg",
    "explained_variance",
    "explained_variance_ratio",
    "recall_at_10",
    "classical_baselines",
    "resources",
    "seconds",
    "kind",
    "label",
    "preparation",
    "energy",
)
BASELINES = {"exact_pca", "randomized_svd", "quantum_inspired"}
RESOURCE_FIELDS = (
    "qubits",
    "phase_estimation_bits",
    "copies_per_qpe_run",
    "two_qubit_depth_per_qpe_run",
    "shots",
    "projected_qpu",
)


def _check_result(r: dict, k: int) -> None:
    for field in FIELDS:
        assert field in r, field
    assert r["k"] == k and len(r["principal_angles_deg"]) == k
    assert set(r["classical_baselines"]) == BASELINES
    for b in r["classical_baselines"].values():
        assert b["kind"] == "measured" and b["seconds"] >= 0 and 0 <= b["recall_at_10"] <= 1
    assert r["classical_baselines"]["exact_pca"]["max_principal_angle_deg"] < 1e-6
    assert r["classical_baselines"]["quantum_inspired"]["parameters"]["row_samples"] > 0
    for field in RESOURCE_FIELDS:
        assert field in r["resources"], field
    assert r["resources"]["projected_qpu"]["kind"] == "projected"
    assert r["energy"]["projected_qpu"], "the ledger records the projected QPU job"


def test_qpca_circuit_level_on_synthetic_data(cli):
    res = cli("qpca", "--data", "synthetic:16", "--k", "3", "--bits", "4", "--shots", "20000", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    _check_result(r, 3)
    assert r["method"] == "circuit" and r["kind"] == "simulated"
    assert r["max_principal_angle_deg"] < 5


def test_qpca_model_on_a_user_file(cli, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 100)) + 0.1 * rng.normal(size=(300, 100))
    path = tmp_path / "emb.npy"
    np.save(path, x)
    res = cli("qpca", "--data", str(path), "--k", "3", "--bits", "6", "--shots", "20000", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    _check_result(r, 3)
    assert r["method"] == "model" and r["kind"] == "model" and "not a circuit simulation" in r["label"]
    assert r["preparation"]["padded_dimension"] == 128 and r["preparation"]["system_qubits"] == 7


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("qpca_bad")
    rng = np.random.default_rng(1)
    ok = rng.normal(size=(40, 8))
    nan = ok.copy()
    nan[5, 2] = np.nan
    np.save(d / "ok.npy", ok)
    np.save(d / "nan.npy", nan)
    np.save(d / "vector.npy", rng.normal(size=30))
    np.save(d / "wide.npy", rng.normal(size=(40, 300)))
    return d


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--data", "{d}/ok.npy", "--k", "9"], "larger than the data dimension"),
        (["--data", "{d}/nan.npy", "--k", "2"], "non-finite"),
        (["--data", "{d}/vector.npy", "--k", "2"], "2-D"),
        (["--data", "{d}/wide.npy", "--k", "2", "--method", "circuit"], "bytes"),
        (["--data", "{d}/missing.npy", "--k", "2"], "not found"),
        (["--data", "{d}/ok.npy", "--k", "2", "--bits", "0"], "--bits"),
        (["--data", "minilm", "--k", "2", "--method", "magic"], "--method"),
    ],
)
def test_bad_input_exits_2_with_a_reason(cli_fast, bad_files, args, reason):
    res = cli_fast("qpca", *[a.format(d=bad_files) for a in args], "--json")
    assert res.code == 2, res.stderr
    assert res.stdout == ""
    assert reason in res.stderr and res.stderr.startswith("error: ")


@pytest.mark.slow
def test_qpca_minilm_k16(cli):
    """Acceptance: the MiniLM run (embeddings computed once, then cached) with every field and three baselines."""
    res = cli("qpca", "--data", "minilm", "--k", "16", "--json", timeout=900)
    assert res.code == 0, res.stderr
    r = res.json()
    _check_result(r, 16)
    assert r["preparation"]["dimension"] == 384 and r["preparation"]["padded_dimension"] == 512
    assert r["components_found"] == 16
    assert r["explained_variance_ratio"] > 0.95 * r["classical_baselines"]["exact_pca"]["explained_variance_ratio"]
