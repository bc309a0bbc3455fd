"""Born machine, its losses and data sets, and the classical baselines, through the Python API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qscale.algorithms.generative.baselines import MADE, RBM, EmpiricalHistogram, made_masks, n_hidden_for
from qscale.algorithms.generative.born import BornMachine
from qscale.algorithms.generative.data import bars_and_stripes, histogram, load_dataset, token_dataset
from qscale.algorithms.generative.experiment import run_born
from qscale.algorithms.generative.metrics import (
    kernel_matrix,
    kl_divergence,
    mmd2,
    mmd2_samples,
    nll,
    valid_fraction,
)
from qscale.errors import QscaleUserError


# -- data ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rows, cols, count", [(2, 2, 6), (3, 3, 14), (2, 3, 10)])
def test_bars_and_stripes_counts_and_shapes(rows, cols, count):
    patterns = bars_and_stripes(rows, cols)
    assert patterns.size == count == 2**rows + 2**cols - 2  # Liu & Wang, PRA 98, 062324 (2018)
    for idx in patterns:
        img = np.array([[(idx >> (r * cols + c)) & 1 for c in range(cols)] for r in range(rows)])
        rows_uniform = all(len(set(row)) == 1 for row in img)
        cols_uniform = all(len(set(col)) == 1 for col in img.T)
        assert rows_uniform or cols_uniform


def test_bas_dataset_train_and_heldout_are_valid_and_distinct_draws():
    ds = load_dataset("bas:3x3", seed=4, train_samples=500, heldout_samples=300)
    assert ds.train.size == 500 and ds.heldout.size == 300
    assert valid_fraction(ds.train, ds.valid) == 1.0 and valid_fraction(ds.heldout, ds.valid) == 1.0
    assert ds.target.sum() == pytest.approx(1.0) and np.count_nonzero(ds.target) == 14
    assert not np.array_equal(ds.train[:300], ds.heldout)


def test_token_dataset_buckets_top_tokens_and_other():
    from qscale.llm.models import char_tokenizer

    cal = "aaaa bbb cc d e f g " * 20
    ev = "aab zzz " * 10
    ds = token_dataset(2, tokenizer=char_tokenizer(), calibration=cal, evaluation=ev)
    assert ds.labels == [" ", "a", "b", "<other>"]  # the 2^2 - 1 most frequent (space 140, a 80, b 60), other
    assert ds.n_bits == 2 and ds.valid is None
    # held-out "aab zzz ": ' ' -> 0, a -> 1, b -> 2, z -> 3 (other)
    np.testing.assert_allclose(ds.target, [2 / 8, 2 / 8, 1 / 8, 3 / 8])
    np.testing.assert_allclose(ds.histogram(), histogram(ds.train, 2))
    assert ds.histogram()[3] == pytest.approx(120 / 400)  # c, c, d, e, f, g: 6 of every 20 characters


@pytest.mark.parametrize("spec", ["mnist", "bas:3", "bas:0x3", "bas:4x4", "tokens:gpt2", "bas:axb"])
def test_unknown_or_bad_datasets_are_user_errors(spec):
    with pytest.raises(QscaleUserError):
        load_dataset(spec)


# -- metrics on hand-checkable distributions --------------------------------------------------------
def test_mmd_of_two_point_masses_by_hand():
    bw = [0.5, 1.0]
    K = kernel_matrix(1, bw)
    p, q = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    off = np.mean([np.exp(-1 / (2 * s * s)) for s in bw])  # k(0, 1); k(x, x) = 1
    assert mmd2(p, q, K) == pytest.approx(2 - 2 * off, abs=1e-14)
    assert mmd2(p, p, K) == 0.0
    # half-half against a point mass: 1/2 + off/2 - (1 + off) + 1 ... worked out: (1 - off) / 2
    assert mmd2(np.array([0.5, 0.5]), p, K) == pytest.approx((1 - off) / 2, abs=1e-14)


def test_mmd_from_samples_equals_mmd_of_histograms():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 8, 200), rng.integers(0, 8, 150)
    for space in ("integer", "bits"):
        K = kernel_matrix(3, [0.25, 0.5, 1.0], space)
        assert mmd2_samples(x, y, [0.25, 0.5, 1.0], space) == pytest.approx(
            mmd2(histogram(x, 3), histogram(y, 3), K), abs=1e-12)


def test_bits_kernel_uses_hamming_distance():
    K = kernel_matrix(2, [1.0], "bits")
    assert K[0b00, 0b11] == pytest.approx(np.exp(-2 / 2))  # Hamming 2
    assert K[0b01, 0b10] == pytest.approx(np.exp(-2 / 2))  # integer distance 1, Hamming 2
    assert kernel_matrix(2, [1.0], "integer")[0b01, 0b10] == pytest.approx(np.exp(-1 / 2))


def test_kl_and_nll_by_hand():
    assert kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3), abs=1e-14)
    assert kl_divergence([0.2, 0.8], [0.2, 0.8]) == 0.0
    assert kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(np.log(2))  # zero target mass adds nothing
    assert nll(np.array([0, 0, 1]), np.array([0.5, 0.25])) == pytest.approx((2 * np.log(2) + np.log(4)) / 3)
    with pytest.raises(QscaleUserError):
        kl_divergence([0.5, 0.5], [1.0, 0.0, 0.0])


# -- gradients ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", ["mmd", "kl"])
def test_born_parameter_shift_gradient_equals_autograd(loss):
    ds = load_dataset("bas:2x2", seed=1, train_samples=200)
    bm = BornMachine(4, depth=2, steps=0, restarts=1, seed=3).fit(ds.train)
    theta = np.random.default_rng(1).uniform(-np.pi, np.pi, bm.n_parameters_)
    v_auto, g_auto = bm.loss_and_grad(theta, loss, gradient="autograd")
    v_shift, g_shift = bm.loss_and_grad(theta, loss, gradient="parameter-shift")
    assert v_auto == pytest.approx(v_shift, abs=1e-12)
    np.testing.assert_allclose(g_shift, g_auto, atol=1e-9)
    assert np.linalg.norm(g_auto) > 1e-3


def test_born_sampled_parameter_shift_gradient_is_close_to_exact():
    ds = load_dataset("bas:2x2", seed=1, train_samples=200)
    exact = BornMachine(4, depth=1, steps=0, restarts=1, seed=3).fit(ds.train)
    shots = BornMachine(4, depth=1, steps=0, restarts=1, seed=3, loss="mmd", gradient="parameter-shift",
                        shots=20000).fit(ds.train)
    theta = np.random.default_rng(2).uniform(-np.pi, np.pi, exact.n_parameters_)
    _, g = exact.loss_and_grad(theta, "mmd")
    _, g_s = shots.loss_and_grad(theta, "mmd")
    assert np.linalg.norm(g_s - g) < 0.2 * np.linalg.norm(g)
    assert not np.allclose(g_s, g, atol=1e-8)  # sampled, not exact


# -- training ----------------------------------------------------------------------------------------
def test_born_learns_bas_2x2():
    ds = load_dataset("bas:2x2", seed=1)
    bm = BornMachine(4, depth=3, steps=150, restarts=1, loss="mmd", seed=2, device="cpu").fit(ds.train)
    p = bm.probabilities()
    assert p.sum() == pytest.approx(1.0)
    assert kl_divergence(ds.target, p) < 0.05
    assert valid_fraction(bm.sample(2000, 0), ds.valid) > 0.95
    assert bm.loss_trace_[-1] < bm.loss_trace_[0]


def test_born_trains_from_shots_with_parameter_shift():
    ds = load_dataset("bas:2x2", seed=1)
    bm = BornMachine(4, depth=2, steps=40, restarts=1, loss="mmd", gradient="parameter-shift", shots=400,
                     seed=2).fit(ds.train)
    untrained = BornMachine(4, depth=2, steps=0, restarts=1, loss="mmd", seed=2).fit(ds.train)
    assert bm.mmd2_ < 0.5 * untrained.mmd2_
    assert bm.circuit_runs_ > 40


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        ({"shots": 100}, "parameter-shift"),
        ({"shots": 100, "gradient": "parameter-shift", "loss": "kl"}, "KL"),
        ({"loss": "wasserstein"}, "loss"),
        ({"kernel": "cosine"}, "kernel"),
        ({"bandwidths": (0.5, -1.0)}, "bandwidths"),
        ({"n_qubits": 13}, "qubits"),
    ],
)
def test_bad_born_settings_are_user_errors(kwargs, reason):
    args = {"n_qubits": 4, "steps": 1, "restarts": 1, **kwargs}
    with pytest.raises(QscaleUserError, match=reason):
        BornMachine(**args).fit(np.array([0, 3, 5]))


# -- baselines ---------------------------------------------------------------------------------------
def test_baseline_parameter_counts_fit_the_budget():
    assert n_hidden_for("rbm", 9, 162) == 15  # 9*15 + 9 + 15 = 159
    rbm = RBM(9, 15, steps=1).fit(np.array([0, 1]))
    made = MADE(9, n_hidden_for("made", 9, 162), steps=1).fit(np.array([0, 1]))
    assert rbm.n_parameters_ == 159 and made.n_parameters_ <= 162
    assert made.n_parameters_ > 162 - 12
    assert EmpiricalHistogram(9).fit(np.array([0])).n_parameters_ == 511


def test_made_is_autoregressive():
    m1, m2 = made_masks(5, 12)
    connectivity = (m2 @ m1).numpy()  # output d sees input e only through a hidden unit
    assert np.all(np.triu(connectivity) == 0)  # no output depends on itself or later bits
    made = MADE(4, 6, steps=1).fit(np.array([1, 2]))
    assert made.probs_.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("model", [RBM, MADE])
def test_baselines_learn_bas_2x2(model):
    ds = load_dataset("bas:2x2", seed=1)
    m = model(4, 8, steps=800, seed=0).fit(ds.train)
    assert kl_divergence(ds.target, m.probs_) < 0.02
    assert valid_fraction(m.sample(2000, 1), ds.valid) > 0.97


def test_run_born_reports_model_beside_baselines():
    ds = load_dataset("bas:2x2", seed=1)
    threads = torch.get_num_threads()
    out = run_born(ds, depth=2, steps=60, restarts=1, seed=1, device="cpu")
    result, bm, fitted = out.to_json(), out.model, out.baselines
    assert set(result["classical_baselines"]) == {"histogram", "rbm", "made"}
    for key in ("rbm", "made"):
        assert result["classical_baselines"][key]["parameters"] <= result["parameters"]
    assert result["kind"] == "simulated" and result["parameters"] == bm.n_parameters_ == 24
    assert 0 <= result["valid_fraction"] <= 1 and result["kl"] >= 0
    assert fitted["rbm"].n_parameters_ == result["classical_baselines"]["rbm"]["parameters"]
    assert torch.get_num_threads() == threads  # the one-thread limit for small states is undone
