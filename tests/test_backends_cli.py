"""`--backend` on the command line: noisy QAOA, a plugged-in GenericBackendV2, and exit 2 on bad input."""

from __future__ import annotations

import pytest

RING = ["qaoa", "--problem", "maxcut", "--graph", "regular:3", "--nodes", "6", "--seed", "2", "--p", "1",
        "--fixed-angles", "--json"]


def test_qaoa_on_fake_device_reports_device_and_quality(cli):
    res = cli(*RING, "--backend", "fake_nairobi", "--shots", "3000")
    assert res.code == 0, res.stderr
    r = res.json()
    for key in ("approximation_ratio", "approximation_ratio_exact", "approximation_ratio_random",
                "transpiled_two_qubit_gates", "transpiled_depth", "estimated_fidelity"):
        assert key in r
    tol = 4 * r["approximation_ratio_stderr"]
    assert r["approximation_ratio_random"] - tol < r["approximation_ratio"] < r["approximation_ratio_exact"] + tol
    assert r["backend"]["name"] == "fake_nairobi" and r["backend"]["noisy"] is True
    assert 0 < r["estimated_fidelity"] < 1 and r["transpiled_two_qubit_gates"] >= 9
    assert r["exact"]["approximation_ratio"] == r["approximation_ratio_exact"]


def test_exact_backend_leaves_the_result_as_before(cli):
    plain = cli(*RING)
    named = cli(*RING, "--backend", "exact")
    assert plain.code == named.code == 0
    a, b = plain.json(), named.json()
    for key in ("expectation", "approximation_ratio", "best_bitstring", "sampled_optimal_fraction"):
        assert a[key] == b[key]
    assert "approximation_ratio_exact" not in b


def test_generic_backend_v2_through_an_entry_point_runs_qaoa(cli):
    res = cli(*RING, "--backend", "qscale.primitives.examples:generic_backend", "--shots", "2000")
    assert res.code == 0, res.stderr
    r = res.json()
    assert "GenericBackendV2" in r["backend"]["description"]
    assert r["backend"]["shots_run"] == 2000 and r["transpiled_two_qubit_gates"] >= 9
    assert 0.4 < r["approximation_ratio"] <= 1.0


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--backend", "fake_atlantis"], "unknown backend 'fake_atlantis': available are exact, aer, fake_<device>"),
        (["--backend", "fake_manila"], "circuit is 6 qubits wide but backend fake_manila has 5 qubits"),
        (["--backend", "qscale_no_such_pkg:make"], "entry point qscale_no_such_pkg:make failed to import module"),
        (["--backend", "fake_nairobi", "--shots", "-5"], "--shots must be"),
    ],
)
def test_bad_backend_input_exits_2_with_one_line(cli, args, reason):
    res = cli(*RING, *args)
    assert res.code == 2, res.stderr
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0]
