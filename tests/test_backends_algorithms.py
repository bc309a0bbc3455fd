"""VQE and the Born machine with --backend: shot estimates through a primitive, reported beside exact figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qscale.algorithms.generative.born import BornMachine
from qscale.algorithms.generative.data import load_dataset
from qscale.algorithms.generative.experiment import run_born
from qscale.algorithms.variational.ansatz import build_ansatz
from qscale.algorithms.variational.backend import BackendEnergy
from qscale.algorithms.variational.hamiltonians import load_hamiltonian
from qscale.algorithms.variational.vqe import run_vqe
from qscale.errors import QscaleUserError
from qscale.primitives.executor import make_executor
from qscale.quantum.statevector import probabilities, simulate


def test_circuit_sampler_binds_qscale_parameters_by_name():
    """Qiskit orders parameters by name, qscale by creation: the sampler must bind each to its own slot."""
    ham = load_hamiltonian("tfim:3", seed=0)
    circuit = build_ansatz("hea", ham.op, 1)
    params = np.random.default_rng(0).uniform(-np.pi, np.pi, size=(2, circuit.n_parameters))
    shots = 20_000
    idx = make_executor("aer", seed=3).sample(circuit, params, shots)
    with torch.no_grad():
        p = probabilities(simulate(circuit, params)).numpy()
    for row in range(2):
        freq = np.bincount(idx[row], minlength=8) / shots
        assert np.abs(freq - p[row]).max() < 5 * np.sqrt(0.25 / shots)


def test_backend_energy_is_unbiased_on_a_noiseless_backend():
    ham = load_hamiltonian("h2", seed=0)
    circuit = build_ansatz("hea", ham.op, 1)
    x = np.random.default_rng(1).uniform(-1, 1, size=(3, circuit.n_parameters))
    est = BackendEnergy(ham.op, 20_000, make_executor("aer", seed=0), seed=0)
    with torch.no_grad():
        exact = ham.op.expectation(simulate(circuit, x)).numpy()
    coef = np.abs(ham.op.coeffs).sum()
    np.testing.assert_allclose(est(circuit, x), exact, atol=5 * coef / np.sqrt(20_000))
    assert est.circuit_runs == 3 * len(est.groups)


def test_vqe_on_a_fake_device_reports_noisy_estimate_beside_exact():
    ham = load_hamiltonian("h2", seed=0)
    r = run_vqe(ham, ansatz="chemistry", optimizer="spsa", shots=500, restarts=1, max_iter=4, seed=1,
                device="cpu", backend="fake_manila").to_json()
    assert r["backend"]["name"] == "fake_manila" and r["backend"]["noisy"]
    assert r["total_shots"] == r["backend"]["shots_run"]
    assert 0 < r["estimated_fidelity"] < 1 and r["transpiled_two_qubit_gates"] >= 1
    assert "fake_manila" in r["energy_note"] and np.isfinite(r["energy_sampled"])


def test_vqe_backend_needs_shots():
    ham = load_hamiltonian("h2", seed=0)
    with pytest.raises(QscaleUserError, match="reports samples: give --shots"):
        run_vqe(ham, ansatz="chemistry", shots=0, restarts=1, max_iter=2, device="cpu", backend="aer")
    with pytest.raises(QscaleUserError, match="unknown backend"):
        run_vqe(ham, ansatz="chemistry", shots=10, restarts=1, max_iter=2, device="cpu", backend="nope")


def test_born_machine_trains_and_draws_on_a_backend():
    ds = load_dataset("bas:2x2", seed=1, train_samples=200, heldout_samples=200)
    result = run_born(ds, depth=1, steps=2, restarts=1, loss="mmd", gradient="parameter-shift", shots=100,
                      samples=300, seed=1, device="cpu", baselines=False, backend="fake_manila").to_json()
    assert result["backend"]["name"] == "fake_manila"
    assert result["backend"]["shots_run"] == result["total_shots"] + 300
    assert 0 <= result["valid_fraction_backend"] <= 1 and 0 <= result["tvd_backend_to_model"] <= 1
    assert 0 < result["estimated_fidelity"] < 1


def test_born_backend_needs_shots():
    with pytest.raises(QscaleUserError, match="reports samples"):
        BornMachine(4, depth=1, steps=1, restarts=1, backend="aer").fit(np.array([0, 3, 5]))


def test_qpca_circuit_method_runs_one_dme_step_on_the_backend():
    from qscale.algorithms.qpca.driver import run_qpca

    r = run_qpca("synthetic:4", 1, method="circuit", shots=2000, seed=0, device="cpu", backend="fake_nairobi").to_json()
    b = r["backend"]
    assert b["backend"]["name"] == "fake_nairobi" and b["kind"] == "simulated (noisy)"
    assert b["tvd_backend_to_exact"] > b["tvd_shot_noise_only"]  # the device's noise shows above shot noise
    assert 0 < b["estimated_fidelity"] < 1 and b["transpiled_two_qubit_gates"] >= 20
    assert b["projected_fidelity_per_qpe_run"] <= b["estimated_fidelity"]
    noiseless = run_qpca("synthetic:4", 1, method="circuit", shots=2000, seed=0, device="cpu", backend="aer").to_json()
    assert noiseless["backend"]["tvd_backend_to_exact"] < 3 * noiseless["backend"]["tvd_shot_noise_only"] + 0.02
    with pytest.raises(QscaleUserError, match="--method circuit"):
        run_qpca("synthetic:4", 1, method="model", shots=100, seed=0, device="cpu", backend="aer")
    with pytest.raises(QscaleUserError, match="unknown backend"):
        run_qpca("synthetic:4", 1, method="circuit", shots=100, seed=0, device="cpu", backend="fake_qq")
