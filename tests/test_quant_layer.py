"""Layer quantizers on small random layers: GPTQ identities, the QUBO view, and its guarantees."""

from __future__ import annotations

import dimod
import pytest
import torch

from qscale.errors import QscaleUserError
from qscale.llm.quant import make_quantizer
from qscale.llm.quant.block import build_block_qubo, row_bqm
from qscale.llm.quant.hessian import HessianAccumulator, factorize, relative_error
from qscale.llm.quant.qubo import greedy_block
from qscale.llm.quant.solvers import ExactSolver


def random_layer(rows: int = 48, cols: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A weight and the Hessian of correlated inputs (correlation is what makes joint rounding matter)."""
    gen = torch.Generator().manual_seed(seed)
    mix = torch.randn(cols, cols, generator=gen) * 0.3 + torch.eye(cols)
    X = torch.randn(1000, cols, generator=gen) @ mix
    acc = HessianAccumulator(cols)
    acc.add(X)
    return torch.randn(rows, cols, generator=gen) * 0.05, acc.hessian


@pytest.mark.parametrize(
    "options",
    [
        {"bits": 3}, {"bits": 2}, {"bits": 4, "group_size": 16}, {"bits": 3, "act_order": True},
        {"bits": 3, "group_size": 16, "act_order": True}, {"bits": 3, "group_size": 24, "act_order": True},
    ],
)
def test_greedy_solver_reproduces_gptq_bit_for_bit(options):
    W, H = random_layer()
    gptq = make_quantizer("gptq", **options).fit(W, H)
    greedy = make_quantizer("qubo", solver="greedy", **options).fit(W, H)
    assert torch.equal(gptq.quantized_.codes, greedy.quantized_.codes)
    assert torch.equal(gptq.weight_, greedy.weight_)
    assert greedy.stats_["better_than_gptq_fraction"] == 0.0


@pytest.mark.parametrize("vars_per_weight", [1, 2])
def test_exact_blocks_never_worse_than_gptq_from_same_state(vars_per_weight):
    W, H = random_layer()
    block = 8 if vars_per_weight == 1 else 4
    q = make_quantizer("qubo", bits=3, block=block, vars_per_weight=vars_per_weight, record_blocks=True).fit(W, H)
    improved = 0
    for rec in q.blocks_:
        tol = 1e-9 * rec["energy_greedy"].abs() + 1e-12
        assert (rec["energy_chosen"] <= rec["energy_greedy"] + tol).all()
        improved += int((rec["energy_chosen"] < rec["energy_greedy"] - tol).sum())
    assert improved > 0  # the joint search must find something GPTQ's column order misses
    gptq = make_quantizer("gptq", bits=3).fit(W, H)
    assert relative_error(W, q.weight_, H) < relative_error(W, gptq.weight_, H)


def test_box_holds_gptq_choice_even_when_it_leaves_floor_ceil():
    """GPTQ's in-block feedback can push a weight past floor/ceil of its block-start value; the box follows
    it, so the QUBO's energy of GPTQ's bits equals GPTQ's own cost for every row of every block."""
    W, H = random_layer(seed=2)
    q = make_quantizer("qubo", bits=2, record_blocks=True).fit(W, H)
    assert q.stats_["gptq_outside_floor_ceil_fraction"] > 0  # the case this test is about occurs here
    for rec in q.blocks_:
        assert torch.allclose(rec["energy_greedy"], rec["energy_greedy_direct"], rtol=1e-4, atol=1e-9)


def test_block_energies_add_up_to_layer_loss():
    """Σ block OBS costs = tr((W−Q) H_damped (W−Q)ᵀ): the block error feedback is the exact OBS update."""
    W, H = random_layer(seed=1)
    q = make_quantizer("qubo", bits=3, record_blocks=True).fit(W, H)
    Hd = factorize(W, H, 0.01).hessian
    D = (W - q.weight_).double()
    direct = float(((D @ Hd) * D).sum())
    from_blocks = sum(float(r["energy_chosen"].sum()) for r in q.blocks_)
    assert from_blocks == pytest.approx(direct, rel=1e-4)
    assert q.stats_["obs_loss"] == pytest.approx(direct, rel=1e-4)


def _block_problem(seed: int, start: int, k: int = 8, vars_per_weight: int = 1):
    W, H = random_layer(rows=6, seed=seed)
    fac = factorize(W, H, 0.01)
    U = fac.hinv_upper
    scale = (W.max(1).values - W.min(1).values) / 7
    zero = torch.round(-W.min(1).values / scale)
    w = W[:, start : start + k].clone()
    ublk = U[start : start + k, start : start + k]
    greedy, _ = greedy_block(w.clone(), ublk, scale, zero, 7)
    prob = build_block_qubo(w, ublk, scale, zero, 7, vars_per_weight, greedy)
    return prob, w, scale, zero, fac.hessian


@pytest.mark.parametrize(("start", "vars_per_weight"), [(0, 1), (24, 1), (40, 2)])
def test_qubo_energy_equals_obs_cost(start, vars_per_weight):
    """BQM energy = vectorised energy = δᵀ([H⁻¹]_BB)⁻¹δ with H⁻¹ the inverse over the remaining columns."""
    k = 8 if vars_per_weight == 1 else 4
    prob, w, scale, zero, Hd = _block_problem(seed=2, start=start, k=k, vars_per_weight=vars_per_weight)
    hinv_rest = torch.linalg.inv(Hd[start:, start:])
    A_direct = torch.linalg.inv(hinv_rest[:k, :k])
    gen = torch.Generator().manual_seed(0)
    for r in range(prob.rows):
        bqm = row_bqm(prob, r)
        for _ in range(5):
            bits = torch.randint(0, 2, (1, prob.n_variables), generator=gen).double()
            levels = prob.levels(bits.expand(prob.rows, -1))[r]
            delta = w[r].double() - scale[r].double() * (levels - zero[r].double())
            direct = float(delta @ A_direct @ delta)
            vectorised = float(prob.energy(bits.expand(prob.rows, -1))[r] * prob.scale2[r])
            sample = {i: int(b) for i, b in enumerate(bits[0].tolist())}
            assert vectorised == pytest.approx(direct, rel=1e-6)
            assert bqm.energy(sample) == pytest.approx(direct, rel=1e-6)


def test_exact_solver_matches_dimod_brute_force():
    prob, *_ = _block_problem(seed=3, start=16)
    sol = ExactSolver().solve(prob)
    for r in range(prob.rows):
        best = dimod.ExactSolver().sample(row_bqm(prob, r, weight_units=False)).first
        assert float(sol.energy[r]) == pytest.approx(best.energy, rel=1e-9, abs=1e-9)


def test_box_stays_on_grid_and_contains_gptq_choice():
    """Weights beyond the grid's ends: boxes are clamped to [0, maxq] and still hold GPTQ's levels."""
    W, H = random_layer(rows=8, cols=16, seed=4)
    W[:, :4] = 3.0  # far above the row maximum the grid was fitted to, below
    W[:, 4:8] = -3.0
    fac = factorize(W, H, 0.01)
    scale, zero = torch.full((8,), 0.01), torch.full((8,), 3.0)
    for vars_per_weight in (1, 2):
        w = fac.weight[:, :8].clone()
        u = fac.hinv_upper[:8, :8]
        greedy, _ = greedy_block(w.clone(), u, scale, zero, 7)
        prob = build_block_qubo(w, u, scale, zero, 7, vars_per_weight, greedy)
        width = 2**vars_per_weight - 1
        assert (prob.base >= 0).all() and (prob.base + width <= 7).all()
        assert torch.equal(prob.levels(prob.greedy_bits), greedy.double())
        best = prob.levels(ExactSolver().solve(prob).bits)
        assert (best >= 0).all() and (best <= 7).all()


def test_rtn_is_nearest_level_on_minmax_grid():
    W, _ = random_layer(rows=16, cols=32, seed=5)
    q = make_quantizer("rtn", bits=3).fit(W)
    scale, zero = q.quantized_.scale[:, :1], q.quantized_.zero[:, :1]
    assert q.quantized_.codes.max() <= 7
    assert torch.allclose(q.weight_, q.quantized_.dequantize())
    inside = (scale * (0 - zero) <= W) & (scale * (7 - zero) >= W)
    assert ((W - q.weight_).abs()[inside] <= scale.expand_as(W)[inside] / 2 + 1e-7).all()


def test_group_size_gives_one_grid_per_group():
    W, H = random_layer(rows=8, cols=64, seed=6)
    q = make_quantizer("gptq", bits=4, group_size=16).fit(W, H)
    assert q.quantized_.scale.shape == (8, 4)
    assert torch.equal(q.quantized_.g_idx, torch.arange(64) // 16)
    assert torch.allclose(q.weight_, q.quantized_.dequantize())


@pytest.mark.parametrize("method", ["gptq", "qubo"])
def test_act_order_with_groups_keeps_each_group_a_range_of_columns(method):
    """Act-order permutes columns inside groups and orders the groups, so g_idx stays c // group_size."""
    W, H = random_layer(rows=8, cols=64, seed=6)
    H[40, 40] *= 50  # a loud input in the third group: that group goes first, it leads inside its group
    fac = factorize(W, H, act_order=True, group_size=16)
    assert fac.perm is not None and int(fac.perm[0]) == 40
    assert sorted(int(c) // 16 for c in fac.perm[:16]) == [2] * 16
    q = make_quantizer(method, bits=3, group_size=16, act_order=True).fit(W, H)
    plain = make_quantizer(method, bits=3, group_size=16).fit(W, H)
    assert torch.equal(q.quantized_.g_idx, torch.arange(64) // 16)
    assert torch.allclose(q.weight_, q.quantized_.dequantize())
    assert not torch.equal(q.quantized_.codes, plain.quantized_.codes)  # the order did change the result


def test_group_size_that_does_not_divide_leaves_a_shorter_last_group():
    W, H = random_layer(rows=8, cols=64, seed=6)
    H[60, 60] *= 50  # the loud input is in the short last group, which must still come last
    fac = factorize(W, H, act_order=True, group_size=24)
    assert sorted(int(c) for c in fac.perm[48:]) == list(range(48, 64))
    for method, options in (("rtn", {}), ("gptq", {"act_order": True}), ("qubo", {"act_order": True})):
        q = make_quantizer(method, bits=3, group_size=24, **options).fit(W, H).quantized_
        assert q.scale.shape == (8, 3) and torch.equal(q.g_idx, torch.arange(64) // 24)
        assert torch.allclose(q.weight, q.dequantize())


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("gptq", {"bits": 0}, "--bits"),
        ("rtn", {"bits": 9}, "--bits"),
        ("qubo", {"bits": 3, "block": 17}, "more than the exact solver"),
        ("qubo", {"bits": 3, "block": 9, "vars_per_weight": 2}, "more than the exact solver"),
        ("qubo", {"bits": 3, "block": 8, "group_size": 12}, "multiple of --block"),
        ("qubo", {"bits": 3, "solver": "magic"}, "unknown solver"),
        ("nope", {}, "unknown method"),
    ],
)
def test_bad_options_are_user_errors(method, options, message):
    with pytest.raises(QscaleUserError, match=message):
        make_quantizer(method, **options)


def test_nan_weight_is_a_user_error():
    W, H = random_layer(rows=4, cols=8)
    W[1, 2] = float("nan")
    with pytest.raises(QscaleUserError, match="NaN"):
        make_quantizer("gptq", bits=4).fit(W, H)
