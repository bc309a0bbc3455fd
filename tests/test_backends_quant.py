"""QUBO quantization's QAOA on a backend: the QUBO sample, the circuits, and the audit against the exact path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Statevector

from qscale.errors import QscaleUserError
from qscale.llm.quant.block import BlockQubo
from qscale.llm.quant.qaoa_backend import QuboSample, audit, check_backend_options, energy_table, qubo_circuit
from qscale.llm.quant.qaoa_kernel import normalise, probabilities
from qscale.llm.quant.solvers import QaoaSolver


def block(rows: int, n: int, seed: int) -> BlockQubo:
    g = torch.Generator().manual_seed(seed)
    M = torch.randn(n, n, generator=g, dtype=torch.float64)
    Q = M @ M.T
    z = torch.zeros(rows, n, dtype=torch.float64)
    return BlockQubo(Q=Q, L=torch.randn(rows, n, generator=g, dtype=torch.float64), const=torch.zeros(rows,
                     dtype=torch.float64), scale2=torch.ones(rows, dtype=torch.float64), base=z, code=torch.eye(n,
                     dtype=torch.float64), greedy_bits=z, A=torch.eye(n, dtype=torch.float64), tstar=z)


def _feed(rec: QuboSample, blocks: int, rows: int) -> None:
    """Rows with const = their global index, fed block by block as the QAOA solver feeds them."""
    for b in range(blocks):
        prob = block(rows, 3, seed=0)
        prob.const = torch.arange(b * rows, (b + 1) * rows, dtype=torch.float64)
        flags = torch.zeros(rows, dtype=torch.bool)
        rec.add(prob, 0, flags, flags, torch.zeros(rows, dtype=torch.float64))


def test_reservoir_keeps_a_bounded_reproducible_uniform_sample():
    def run(seed: int) -> list[int]:
        rec = QuboSample(10, seed)
        _feed(rec, blocks=5, rows=40)
        assert rec.seen == 200 and len(rec.items) == 10
        return [int(it.const) for it in rec.items]

    a = run(1)
    assert a == run(1) and a != run(2) and len(set(a)) == 10
    hits = np.bincount(np.concatenate([run(100 + s) for s in range(400)]) // 40, minlength=5)
    assert hits.min() > 0.85 * hits.mean()  # every block gets about a fifth of the sample (800 each expected)


def test_solver_feeds_the_sample_with_its_verdicts():
    rec = QuboSample(8, 0)
    solver = QaoaSolver(p=1, shots=16, seed=0)
    solver.recorder = rec
    sol = solver.solve(block(20, 3, seed=1))
    assert rec.seen == 20 and len(rec.items) == 8
    assert {it.optimal_exact for it in rec.items} <= {bool(x) for x in sol.optimal}


def test_qubo_circuit_is_the_kernels_qaoa_state():
    rec = QuboSample(3, 0)
    prob = block(3, 4, seed=7)
    solver = QaoaSolver(p=2, shots=32, seed=0)
    solver.recorder = rec
    solver.solve(prob)
    angles = solver.angles[4]
    for it in rec.items:
        diag = torch.as_tensor(energy_table(it))[None]
        ref = probabilities(normalise(diag), angles["gammas"], angles["betas"])[0].numpy()
        qc = qubo_circuit(it, angles["gammas"], angles["betas"])
        got = Statevector(qc.remove_final_measurements(inplace=False)).probabilities()
        np.testing.assert_allclose(got, ref, atol=1e-10)


def test_audit_on_exact_and_noisy_backends():
    rec = QuboSample(6, 0)
    solver = QaoaSolver(p=1, shots=64, seed=0)
    solver.recorder = rec
    solver.solve(block(30, 4, seed=3))
    exact = audit(rec, "exact", solver.angles, 64, seed=0)
    assert exact["qaoa_backend"]["qubos_sampled"] == 6 and exact["qaoa_backend"]["qubos_total"] == 30
    assert exact["qaoa_optimal_fraction_backend"] == pytest.approx(exact["qaoa_optimal_fraction_exact_sample"],
                                                                  abs=0.34)
    assert exact["qaoa_backend"]["estimated_fidelity_min"] == 1.0
    e = exact["qaoa_backend"]  # per shot, a noiseless backend hits the optimum as often as the state says
    assert e["mean_optimum_frequency_backend"] == pytest.approx(e["mean_optimum_probability_exact_same_qubos"], abs=0.1)
    assert 0 < e["mean_optimum_probability_uniform_same_qubos"] <= 1
    noisy = audit(rec, "fake_nairobi", solver.angles, 64, seed=0)
    b = noisy["qaoa_backend"]
    assert b["kind"] == "simulated (noisy)" and b["backend"]["noisy"]
    assert 0 <= noisy["qaoa_optimal_fraction_backend"] <= 1 and 0 < b["estimated_fidelity_min"] < 1
    assert b["transpiled_two_qubit_gates_max"] >= 6  # 6 couplings, p = 1
    assert math.isfinite(b["seconds_per_qubo"]) and b["seconds_per_qubo"] >= 0


def test_backend_options_are_checked_before_the_model_loads():
    with pytest.raises(QscaleUserError, match="--method qubo --solver qaoa"):
        check_backend_options("fake_fez", "qubo", "sa", 8, 32, 256, 0)
    with pytest.raises(QscaleUserError, match="8 qubits wide but backend fake_nairobi has 7 qubits"):
        check_backend_options("fake_nairobi", "qubo", "qaoa", 8, 32, 256, 0)
    with pytest.raises(QscaleUserError, match="--shots must be a positive integer"):
        check_backend_options("fake_fez", "qubo", "qaoa", 8, 32, -1, 0)
    with pytest.raises(QscaleUserError, match="--backend-qubos"):
        check_backend_options("aer", "qubo", "qaoa", 8, 0, 256, 0)


def test_quantize_cli_bad_backend_exits_2_before_loading(cli):
    res = cli("quantize", "--model", "tiny-random", "--method", "qubo", "--solver", "qaoa", "--backend", "fake_nope",
              "--json")
    assert res.code == 2 and res.stdout == ""
    assert "unknown backend 'fake_nope'" in res.stderr and "fake_fez" in res.stderr


@pytest.mark.slow
def test_quantize_cli_on_aer_reports_backend_fraction(cli):
    res = cli("quantize", "--model", "tiny-random", "--bits", "3", "--method", "qubo", "--solver", "qaoa", "--block",
              "4", "--backend", "aer", "--backend-qubos", "6", "--layers", "model.layers.0.self_attn.q_proj",
              "--calib-windows", "2", "--eval-windows", "1", "--seq-len", "32", "--shots", "64", "--json")
    assert res.code == 0, res.stderr
    r = res.json()
    assert r["qaoa_backend"]["qubos_sampled"] == 6 and r["qaoa_backend"]["backend"]["name"] == "aer"
    assert 0 <= r["qaoa_optimal_fraction_backend"] <= 1 and 0 <= r["qaoa_optimal_fraction"] <= 1
    assert r["kinds"]["qaoa_optimal_fraction_backend"] == "simulated"
