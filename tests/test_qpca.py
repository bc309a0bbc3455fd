"""Quantum PCA: circuit level vs resource model, accuracy with generous resources, estimator API, parts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency, ks_2samp

from qscale.algorithms.qpca.baselines import exact_pca
from qscale.algorithms.qpca.circuit import simulate_qpe
from qscale.algorithms.qpca.data import prepare, synthetic
from qscale.algorithms.qpca.estimator import QuantumPCA
from qscale.algorithms.qpca.model import ideal_qpe_distribution, model_qpe
from qscale.algorithms.qpca.quality import principal_angles_deg
from qscale.algorithms.qpca.schedule import plan
from qscale.algorithms.qpca.tomography import (
    probabilities_from_density,
    probabilities_from_mixture,
    rotated_bases,
    tomograph,
)
from qscale.errors import QscaleUserError


@pytest.fixture(scope="module")
def problem16():
    """A 16-dimensional (4-qubit) low-rank-plus-noise problem and its exact circuit/model QPE outputs."""
    prep = prepare(synthetic(16, 4, seed=3).fit)
    schedule = plan(prep.purity, 4)
    return prep, schedule, simulate_qpe(prep.rho, schedule), model_qpe(prep.rho, schedule)


def _homogeneity_p(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square two-sample test on outcome counts (cells with few counts pooled)."""
    keep = (a + b) >= 20
    table = np.array([np.append(a[keep], a[~keep].sum()), np.append(b[keep], b[~keep].sum())])
    table = table[:, table.sum(0) > 0]
    return float(chi2_contingency(table)[1])


def test_circuit_and_model_outcome_distributions_agree(problem16):
    prep, schedule, circ, model = problem16
    assert np.abs(circ.probabilities - model.probabilities).max() < 1e-8
    u = model.eigenvectors
    predicted = np.einsum("xi,ai,bi->xab", model.weights, u, u)  # states left behind, from the model
    assert np.abs(circ.states.numpy() - predicted).max() < 1e-8
    shots = 20_000
    a = np.random.default_rng(1).multinomial(shots, circ.probabilities / circ.probabilities.sum())
    b = np.random.default_rng(2).multinomial(shots, model.probabilities / model.probabilities.sum())
    assert _homogeneity_p(a, b) > 1e-3
    # the same test rejects a model with 40x fewer copies (more DME error): it can fail
    fewer = model_qpe(prep.rho, plan(prep.purity, 4, schedule.copies // 40)).probabilities
    c = np.random.default_rng(3).multinomial(shots, fewer / fewer.sum())
    assert _homogeneity_p(a, c) < 1e-6


def test_circuit_and_model_eigenvector_fidelities_agree(problem16):
    _prep, _schedule, circ, model = problem16
    bases = rotated_bases(model.eigenvectors)
    top = np.argsort(-circ.probabilities)[:3]
    for x in top:
        dominant = model.eigenvectors[:, np.argmax(model.weights[x])]
        p_circ = probabilities_from_density(circ.states[x] / circ.probabilities[x])
        w = model.weights[x] / model.weights[x].sum()
        p_model = probabilities_from_mixture(bases, w)

        def fids(probs, seed, shots=2000, target=dominant):
            rng = np.random.default_rng(seed)
            return np.array([(tomograph(probs, shots, rng) @ target) ** 2 for _ in range(40)])

        f_c, f_m = fids(p_circ, 10 + x), fids(p_model, 100 + x)
        assert ks_2samp(f_c, f_m).pvalue > 1e-3
        assert abs(f_c.mean() - f_m.mean()) < 4 * math.hypot(f_c.std(), f_m.std()) / math.sqrt(40) + 1e-12
        f_few = fids(p_model, 200 + x, shots=50)  # far fewer shots: a visibly worse distribution
        assert ks_2samp(f_c, f_few).pvalue < 1e-3


def test_model_reaches_textbook_phase_estimation_with_many_copies():
    prep = prepare(synthetic(16, 4, seed=4).fit)
    schedule = plan(prep.purity, 5, dme_error=1e-5)
    model = model_qpe(prep.rho, schedule)
    ideal = ideal_qpe_distribution(model.eigenvalues, schedule)
    assert 0.5 * np.abs(model.probabilities - ideal).sum() < 1e-3
    assert math.isclose(ideal.sum(), 1.0, rel_tol=1e-9)
    rough = model_qpe(prep.rho, plan(prep.purity, 5, 31 * 4)).probabilities
    assert 0.5 * np.abs(rough - ideal).sum() > 0.05  # too few copies: DME error is visible


def test_circuit_stepwise_equals_powered():
    prep = prepare(synthetic(4, 2, seed=5).fit)
    schedule = plan(prep.purity, 3, 7 * 20)
    a, b = simulate_qpe(prep.rho, schedule), simulate_qpe(prep.rho, schedule, stepwise=True)
    assert float((a.states - b.states).abs().max()) < 1e-12


@pytest.mark.parametrize("method", ["model", "circuit"])
def test_generous_resources_match_exact_pca_16(method):
    ds = synthetic(16, 4, seed=0)
    est = QuantumPCA(4, bits=5, shots=200_000, method=method, seed=1).fit(ds.fit)
    exact = exact_pca(est.prepared_.centred, 4)
    angles = principal_angles_deg(est.components_, exact.components)
    assert est.n_components_found_ == 4
    assert angles.max() < 1.0


def test_generous_resources_match_exact_pca_32_model():
    ds = synthetic(32, 4, seed=0)
    est = QuantumPCA(4, bits=5, shots=200_000, method="model", seed=1).fit(ds.fit)
    angles = principal_angles_deg(est.components_, exact_pca(est.prepared_.centred, 4).components)
    assert angles.max() < 1.0
    poor = QuantumPCA(4, bits=2, shots=2_000, method="model", seed=1).fit(ds.fit)
    assert principal_angles_deg(poor.components_, exact_pca(poor.prepared_.centred, 4).components).max() > 5.0


@pytest.mark.slow
def test_generous_resources_match_exact_pca_32_circuit():
    """Acceptance: 32-dimensional low-rank + noise, circuit level (5 system qubits), max angle < 1 degree."""
    ds = synthetic(32, 4, seed=0)
    est = QuantumPCA(4, bits=5, shots=200_000, method="circuit", seed=1).fit(ds.fit)
    assert est.method_ == "circuit"
    angles = principal_angles_deg(est.components_, exact_pca(est.prepared_.centred, 4).components)
    assert angles.max() < 1.0


def test_estimator_api_and_fitted_attributes():
    ds = synthetic(16, 3, seed=2)
    est = QuantumPCA(3, bits=4, shots=20_000, seed=0)
    z = est.fit_transform(ds.fit)
    assert est.method_ == "circuit"  # 4 system qubits: auto picks the circuit level
    assert z.shape == (ds.fit.shape[0], est.n_components_found_)
    assert est.components_.shape == (est.n_components_found_, 16)
    assert np.allclose(est.components_ @ est.components_.T, np.eye(est.n_components_found_), atol=1e-10)
    assert np.allclose(est.mean_, ds.fit.mean(0))
    assert est.explained_variance_.shape == (est.n_components_found_,)
    assert np.all(np.diff(est.eigenvalue_estimates_) <= 0)
    assert sum(est.eigenvalue_counts_.values()) == 20_000
    assert est.transform(ds.eval[:1]).shape == (1, est.n_components_found_)
    res = est.resources_
    assert res["phase_estimation_bits"] == 4 and res["system_qubits"] == 4
    assert res["copies_per_qpe_run"] == est.schedule_.copies + 1
    assert res["shots"] > res["eigenvalue_shots"]
    sc = res["projected_qpu"]["dme_only_lower_bound"]["superconducting"]["seconds"]
    assert 0 < sc["low"] <= sc["typical"] <= sc["high"]
    with pytest.raises(QscaleUserError, match="features"):
        est.transform(ds.fit[:, :5])


def test_estimator_rejects_bad_input():
    x = synthetic(8, 2, seed=0).fit
    with pytest.raises(QscaleUserError, match="larger than the data dimension"):
        QuantumPCA(9).fit(x)
    bad = x.copy()
    bad[2, 3] = np.nan
    with pytest.raises(QscaleUserError, match="non-finite"):
        QuantumPCA(2).fit(bad)
    with pytest.raises(QscaleUserError, match="2-D"):
        QuantumPCA(2).fit(x[:, 0])
    with pytest.raises(QscaleUserError, match="method"):
        QuantumPCA(2, method="magic").fit(x)
    with pytest.raises(QscaleUserError, match="not fitted"):
        QuantumPCA(2).transform(x)
    with pytest.raises(QscaleUserError, match=r"needs \d+ bytes"):
        QuantumPCA(2, method="circuit").fit(np.random.default_rng(0).normal(size=(50, 300)))
    with pytest.raises(QscaleUserError, match="at most 5 system qubits"):
        QuantumPCA(2, bits=3, method="circuit").fit(np.random.default_rng(0).normal(size=(50, 40)))


def test_schedule_keeps_phases_inside_one_turn_and_counts_copies():
    s = plan(0.3, 6, 63 * 10)
    assert s.copies == 630 and s.n0 == 10
    assert s.steps(5) == 320
    lam_max = math.sqrt(0.3)  # the purity bound
    assert lam_max * s.t / (2 * math.pi) < 1
    assert s.eigenvalue(0) == 0
    assert math.isclose(float(s.eigenvalue(-1 % 64)), 2 * math.pi / (64 * s.t))
    auto = plan(0.3, 6)
    assert auto.dme_error_bound <= 0.05
    with pytest.raises(QscaleUserError, match="bits"):
        plan(0.3, 0)
    with pytest.raises(QscaleUserError, match="copies"):
        plan(0.3, 6, 10)


def test_tomography_error_falls_as_one_over_root_shots():
    rng = np.random.default_rng(7)
    u = rng.normal(size=64)
    u /= np.linalg.norm(u)
    probs = probabilities_from_density(np.outer(u, u))

    def err(shots):
        return np.mean([np.sqrt(max(0.0, 1 - (tomograph(probs, shots, rng) @ u) ** 2)) for _ in range(10)])

    e1, e2 = err(2_000), err(200_000)
    assert 5 < e1 / e2 < 20  # 100x shots: ~10x smaller error
    assert e2 < 0.01


def test_prepare_centres_normalises_and_pads():
    x = np.random.default_rng(0).normal(size=(30, 5)) + 3.0
    prep = prepare(x)
    assert prep.qubits == 3 and prep.rho.shape == (8, 8)
    assert math.isclose(np.trace(prep.rho), 1.0)
    assert np.all(prep.rho[5:] == 0) and np.all(prep.rho[:, 5:] == 0)
    assert np.allclose(prep.centred.mean(0), 0)
    assert "3 zero rows/columns" in prep.describe()["padding"]


@pytest.mark.parametrize("copies", [7, 14, 70, 7000])
def test_circuit_and_model_agree_from_few_to_many_copies(copies):
    """Large DME steps (dt > pi/2) included: the model's closed forms hold for any step size."""
    prep = prepare(synthetic(8, 3, seed=3).fit)
    schedule = plan(prep.purity, 3, copies)
    circ, model = simulate_qpe(prep.rho, schedule), model_qpe(prep.rho, schedule)
    assert np.abs(circ.probabilities - model.probabilities).max() < 1e-10
