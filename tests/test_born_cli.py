"""`qscale born` end to end: BAS acceptance beside the baselines, tokens, and bad inputs."""

from __future__ import annotations

import pytest

KEYS = ("kl", "valid_fraction", "parameters", "heldout_nll", "seconds")


def check_report(r: dict) -> None:
    for key in KEYS:
        assert key in r
    assert r["kind"] == "simulated"
    assert set(r["classical_baselines"]) == {"histogram", "rbm", "made"}
    for name in ("rbm", "made"):
        b = r["classical_baselines"][name]
        assert b["parameters"] <= r["parameters"] and b["kind"] == "measured"
        for key in KEYS:
            assert key in b
    assert "energy" in r  # the CLI attaches the ledger


def test_bas_2x2_fast(cli):
    res = cli("born", "--dataset", "bas:2x2", "--depth", "3", "--steps", "120", "--restarts", "1", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    check_report(r)
    assert r["valid_fraction"] >= 0.9 and r["kl"] < 0.1
    assert r["parameters"] == 36


@pytest.mark.slow
def test_bas_3x3_default_reaches_valid_fraction_0_9(cli):
    res = cli("born", "--dataset", "bas:3x3", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    check_report(r)
    assert r["valid_fraction"] >= 0.9
    assert r["parameters"] == 162 and r["n_qubits"] == 9


@pytest.mark.slow
def test_tokens_smollm2(cli):
    res = cli("born", "--dataset", "tokens:smollm2", "--qubits", "4", "--steps", "150", "--restarts", "1", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    check_report(r)
    assert r["valid_fraction"] is None and r["n_qubits"] == 4
    assert r["kl_target"] == "held-out empirical distribution"
    # nobody beats the entropy of the held-out data on it: NLL >= H(target) (cross-entropy >= entropy)
    assert r["heldout_nll"] >= r["target_entropy"] - 1e-9


@pytest.mark.parametrize(
    "args, reason",
    [
        (["--dataset", "imagenet"], "unknown dataset"),
        (["--dataset", "bas:2x2", "--bandwidths", "a,b"], "--bandwidths"),
        (["--dataset", "bas:2x2", "--shots", "100"], "parameter-shift"),
    ],
)
def test_bad_inputs_exit_2(cli_fast, args, reason):
    res = cli_fast("born", *args, "--json")
    assert res.code == 2
    assert reason in res.stderr and res.stdout == ""
