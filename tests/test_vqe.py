"""VQE engine: ansätze, parameter-shift vs autograd, shot estimates, optimizers, random Hamiltonians."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qscale.algorithms.variational.ansatz import h2_chemistry, hardware_efficient, qaoa_style, strongly_entangling
from qscale.algorithms.variational.hamiltonians import H2_GROUND_ENERGY, ground_energy, h2, load_hamiltonian, tfim
from qscale.algorithms.variational.parameter_shift import shift_jacobian
from qscale.algorithms.variational.pauli_measurement import SampledEnergy
from qscale.algorithms.variational.vqe import VQE, run_vqe
from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit
from qscale.quantum.pauli import PauliSum, qubitwise_groups
from qscale.quantum.statevector import probabilities, simulate


def random_pauli_sum(n: int, terms: int, seed: int) -> PauliSum:
    rng = np.random.default_rng(seed)
    labels = sorted({"".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)})
    return PauliSum(labels, rng.normal(size=len(labels)).tolist())


def every_gate_circuit() -> Circuit:
    """All parameterised gate kinds, a shared parameter and scaled/offset angles."""
    c = Circuit(3)
    a, b, d = c.parameter("a"), c.parameter("b"), c.parameter("d")
    c.h(0).h(1).ry(2, 0.3)
    c.rx(0, a).ry(1, b * 0.7 + 0.2).rz(2, d).p(0, b)
    c.rzz(0, 1, a * -1.5).rxx(1, 2, d).ryy(0, 2, b)
    c.crx(0, 1, a).cry(1, 2, d * 2.0).crz(2, 0, b - 0.4)
    c.cx(0, 2).rx(1, a)
    return c


def autograd_jacobian(c: Circuit, theta: np.ndarray, fn) -> np.ndarray:
    t = torch.tensor(theta, requires_grad=True)
    return torch.autograd.functional.jacobian(lambda x: fn(simulate(c, x)), t).numpy()


def test_parameter_shift_equals_autograd_for_every_gate_kind():
    c = every_gate_circuit()
    theta = np.array([0.4, -1.1, 2.3])
    op = random_pauli_sum(3, 8, seed=5)

    def energy(circ, params):
        with torch.no_grad():
            return op.expectation(simulate(circ, params)).numpy()[:, None]

    def probs(circ, params):
        with torch.no_grad():
            return probabilities(simulate(circ, params)).numpy()

    g_shift = shift_jacobian(c, theta, energy)[0]
    g_auto = autograd_jacobian(c, theta, lambda psi: op.expectation(psi)[0])
    np.testing.assert_allclose(g_shift, g_auto, atol=1e-10)
    j_shift = shift_jacobian(c, theta, probs)
    j_auto = autograd_jacobian(c, theta, lambda psi: probabilities(psi)[0])
    np.testing.assert_allclose(j_shift, j_auto, atol=1e-10)
    assert np.abs(g_auto).min() > 1e-3  # every parameter matters, so equality is not 0 == 0


def test_parameter_shift_detects_a_wrong_rule(monkeypatch):
    """A two-term rule on a controlled rotation is wrong; the comparison must notice it."""
    from qscale.algorithms.variational import parameter_shift as ps

    c = Circuit(2)
    c.h(0).cry(0, 1, c.parameter("a"))
    op = PauliSum.from_labels([("ZI", 1.0), ("XX", 0.5)])

    def energy(circ, params):
        with torch.no_grad():
            return op.expectation(simulate(circ, params)).numpy()[:, None]

    good = shift_jacobian(c, np.array([0.9]), energy)[0]
    monkeypatch.setattr(ps, "RULES", dict(ps.RULES, cry=ps._TWO_TERM))
    bad = shift_jacobian(c, np.array([0.9]), energy)[0]
    auto = autograd_jacobian(c, np.array([0.9]), lambda psi: op.expectation(psi)[0])
    assert good == pytest.approx(auto, abs=1e-10)
    assert abs(bad[0] - auto[0]) > 1e-3


def test_ansatz_parameter_counts():
    assert hardware_efficient(4, 3).n_parameters == 2 * 4 * 4
    assert strongly_entangling(9, 6).n_parameters == 162  # PennyLane's QCBM demo size
    assert qaoa_style(tfim(5), 3).n_parameters == 6
    assert h2_chemistry().n_parameters == 1
    with pytest.raises(QscaleUserError, match="Z-only"):
        qaoa_style(PauliSum.from_labels([("XX", 1.0)]), 1)


def test_chemistry_ansatz_spans_the_h2_ground_state():
    c = h2_chemistry()
    thetas = np.linspace(-np.pi, np.pi, 2001)
    with torch.no_grad():
        energies = h2().expectation(simulate(c, thetas[:, None])).numpy()
    assert energies.min() == pytest.approx(H2_GROUND_ENERGY, abs=1e-5)


def test_qubitwise_groups_cover_every_term_once():
    op = PauliSum.from_labels([("II", -1.0), ("IZ", 0.4), ("ZI", -0.4), ("ZZ", 0.1), ("XX", 0.2), ("XI", 0.3)])
    groups = qubitwise_groups(op)
    assert sorted(len(m) for _, m in groups) == [2, 3]  # {IZ, ZI, ZZ} and {XX, XI}
    assert {b for b, _ in groups} == {"ZZ", "XX"}


def test_sampled_energy_is_unbiased_within_noise():
    op = random_pauli_sum(3, 7, seed=1)
    c = hardware_efficient(3, 1)
    theta = np.random.default_rng(0).uniform(-1, 1, c.n_parameters)
    with torch.no_grad():
        exact = float(op.expectation(simulate(c, theta))[0])
    est = SampledEnergy(op, shots=4000, seed=3)
    values = est(c, np.tile(theta, (40, 1)))
    sem = values.std(ddof=1) / np.sqrt(values.size)
    assert abs(values.mean() - exact) < 5 * sem + 1e-9
    assert values.std() > 0  # it is noisy: a test that cannot tell exact from sampled would pass anyway


def test_vqe_h2_hardware_efficient_is_exact():
    v = VQE(ansatz="hea", depth=1, optimizer="lbfgs", restarts=2, seed=1).fit(h2())
    assert v.energy_ == pytest.approx(H2_GROUND_ENERGY, abs=1e-8)
    assert v.n_parameters_ == 8 and len(v.trace_) == v.iterations_


@pytest.mark.parametrize(
    "optimizer, tol, iters", [("adam", 1e-5, 120), ("lbfgs", 1e-9, 100), ("cobyla", 1e-6, 100), ("spsa", 1.6e-3, 200)]
)
def test_every_optimizer_reaches_h2(optimizer, tol, iters):
    v = VQE(ansatz="chemistry", optimizer=optimizer, restarts=1, max_iter=iters, lr=0.1, seed=2).fit(h2())
    assert v.energy_ - H2_GROUND_ENERGY < tol
    assert v.energy_ >= H2_GROUND_ENERGY - 1e-9  # variational: never below the ground energy


def test_vqe_with_shots_reaches_chemical_accuracy():
    r = run_vqe(load_hamiltonian("h2"), ansatz="chemistry", optimizer="adam", shots=2000, restarts=1, max_iter=80,
                lr=0.1, seed=4, device="cpu").to_json()
    assert abs(r["error"]) < 1.6e-3
    assert r["energy_sampled"] != r["energy"]  # the optimizer saw noisy estimates
    assert r["total_shots"] > 0 and r["measurement_groups"] == 2


def test_vqe_random_4_qubit_hamiltonian_matches_diagonalisation():
    op = random_pauli_sum(4, 10, seed=11)
    v = VQE(ansatz="hea", depth=8, optimizer="lbfgs", restarts=1, max_iter=1500, seed=1).fit(op)
    assert abs(v.energy_ - ground_energy(op).energy) < 1e-4


@pytest.mark.slow
def test_vqe_random_6_qubit_hamiltonian_matches_diagonalisation():
    op = random_pauli_sum(6, 14, seed=0)
    # over-parameterised (180 parameters for 126 real degrees of freedom): L-BFGS converges in a few hundred steps
    v = VQE(ansatz="hea", depth=14, optimizer="lbfgs", restarts=1, max_iter=2000, seed=2).fit(op)
    assert abs(v.energy_ - ground_energy(op).energy) < 1e-4


def test_qaoa_style_ansatz_improves_with_depth_on_tfim():
    op = tfim(4)
    ham = load_hamiltonian("tfim:4")
    errs = [run_vqe(ham, ansatz="qaoa", depth=p, restarts=2, seed=1, device="cpu").to_json()["error"] for p in (1, 2)]
    assert errs[1] < errs[0] and errs[1] >= -1e-9
    assert ground_energy(op).energy < 0


def test_bad_vqe_settings_are_user_errors():
    with pytest.raises(QscaleUserError, match="optimizer"):
        VQE(optimizer="newton").fit(h2())
    with pytest.raises(QscaleUserError, match="ansatz"):
        VQE(ansatz="uccsd").fit(h2())
    with pytest.raises(QscaleUserError, match="chemistry"):
        VQE(ansatz="chemistry").fit(tfim(3))
    with pytest.raises(QscaleUserError, match="restarts"):
        VQE(restarts=0).fit(h2())


def test_vqe_on_maxcut_finds_the_maximum_cut():
    ham = load_hamiltonian("maxcut:6", seed=3)
    r = run_vqe(ham, ansatz="hea", depth=1, restarts=3, seed=1, device="cpu").to_json()
    assert r["exact_energy"] < 0 and r["error"] < 1e-6  # a basis state is reachable with RY rotations alone
