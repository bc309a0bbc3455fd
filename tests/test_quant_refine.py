"""Refinement sweeps (`--refine`): move QUBOs price the true loss, the loss never rises, CD ends at a local minimum."""

from __future__ import annotations

import pytest
import torch
from tests.test_quant_layer import random_layer

from qscale.errors import QscaleUserError
from qscale.llm.quant import make_quantizer
from qscale.llm.quant.grid import dequantize, minmax_params, quantize_levels
from qscale.llm.quant.hessian import relative_error
from qscale.llm.quant.refine import coordinate_descent, layer_loss, move_qubo
from qscale.llm.quant.solvers import assignments


def _rtn_start(W: torch.Tensor, bits: int):
    scale, zero = minmax_params(W, bits)
    S = scale.unsqueeze(1).expand_as(W).double()
    Z = zero.unsqueeze(1).expand_as(W).double()
    return quantize_levels(W.double(), S, Z, 2**bits - 1), S, Z


@pytest.mark.parametrize("vars_per_weight", [1, 2])
def test_move_qubo_energy_is_the_change_of_the_layer_loss(vars_per_weight):
    """For every assignment of a block's box, energy x s² = loss(after the move) − loss(now), row by row."""
    W, H = random_layer(rows=5, cols=24, seed=3)
    H = H.double()
    bits, maxq = 3, 7
    lev, S, Z = _rtn_start(W, bits)
    b1, b2 = 8, 12
    A = H[b1:b2, b1:b2]
    G = (W.double() - dequantize(lev, S, Z)) @ H
    a = lev[:, b1:b2] @ A + G[:, b1:b2] / S[:, b1 : b1 + 1]
    prob = move_qubo(A, a, lev[:, b1:b2], S[:, b1], maxq, vars_per_weight)
    X = assignments(prob.n_variables)
    for r in range(W.shape[0]):
        now = layer_loss(W[r : r + 1], dequantize(lev[r : r + 1], S[r : r + 1], Z[r : r + 1]), H)
        for x in X[:: max(1, len(X) // 16)]:
            new = lev[r : r + 1].clone()
            new[0, b1:b2] = prob.levels(x.unsqueeze(0))[r]
            assert (new >= 0).all() and (new <= maxq).all()
            after = layer_loss(W[r : r + 1], dequantize(new, S[r : r + 1], Z[r : r + 1]), H)
            energy = float(prob.energy(x.expand(prob.rows, -1))[r] * prob.scale2[r])
            assert energy == pytest.approx(after - now, rel=1e-7, abs=1e-12)
    current = prob.energy(prob.greedy_bits)  # the box holds the current levels, at energy 0
    assert torch.allclose(current, torch.zeros_like(current), atol=1e-9)


@pytest.mark.parametrize(
    ("solver", "options"),
    [("exact", {}), ("exact", {"vars_per_weight": 2, "block": 4}), ("sa", {}), ("qaoa", {"qaoa_p": 1})],
)
def test_refinement_never_raises_the_loss_and_beats_gptq(solver, options):
    W, H = random_layer(seed=4)
    extra = {"p": options.pop("qaoa_p"), "shots": 64} if solver == "qaoa" else {}
    plain = make_quantizer("qubo", bits=3, solver=solver, **options, **extra).fit(W, H)
    refined = make_quantizer("qubo", bits=3, solver=solver, refine=3, **options, **extra).fit(W, H)
    s = refined.stats_
    assert s["refine_loss_after"] <= s["refine_loss_before"] * (1 + 1e-12)
    assert s["refine_loss_after"] < 0.97 * s["refine_loss_before"]  # the moves find real gains here
    assert 0 < s["refine_moved_fraction"] < 1 and s["refine_qubos"] > 0
    gptq = make_quantizer("gptq", bits=3).fit(W, H)
    assert relative_error(W, refined.weight_, H) < relative_error(W, plain.weight_, H)
    assert relative_error(W, refined.weight_, H) < relative_error(W, gptq.weight_, H)
    if solver == "qaoa":
        assert s["refine_optimal_count"] <= s["refine_qubos"]


def test_refinement_with_groups_and_act_order_keeps_a_valid_grid():
    W, H = random_layer(seed=5)
    q = make_quantizer("qubo", bits=3, group_size=16, act_order=True, refine=2).fit(W, H)
    assert q.stats_["refine_loss_after"] < q.stats_["refine_loss_before"]
    assert int(q.quantized_.codes.max()) <= 7
    assert torch.allclose(q.quantized_.dequantize(), q.weight_, atol=1e-6)
    g = make_quantizer("gptq", bits=3, group_size=16, act_order=True, refine=2).fit(W, H)
    assert torch.allclose(g.quantized_.dequantize(), g.weight_, atol=1e-6)
    assert g.stats_["refine_loss_after"] < g.stats_["refine_loss_before"]


def test_coordinate_descent_stops_at_a_local_minimum():
    """After CD converges no single weight can move one level (or to any level) and lower its row's loss."""
    W, H = random_layer(rows=6, cols=32, seed=6)
    H = H.double()
    lev, S, Z = _rtn_start(W, 3)
    out, moves = coordinate_descent(W, H, lev, S, Z, 7, sweeps=100)
    assert moves > 0
    for r in range(W.shape[0]):
        best = layer_loss(W[r : r + 1], dequantize(out[r : r + 1], S[r : r + 1], Z[r : r + 1]), H)
        for c in range(W.shape[1]):
            for level in range(8):
                trial = out[r : r + 1].clone()
                trial[0, c] = level
                loss = layer_loss(W[r : r + 1], dequantize(trial, S[r : r + 1], Z[r : r + 1]), H)
                assert loss >= best - 1e-12 * max(best, 1e-30)


@pytest.mark.parametrize("width", [1, 7, 16])
def test_coordinate_descent_lazy_batches_match_full_updates(width):
    """Updating the rest of the gradient once per batch of columns (as GPTQ does) takes the same moves as
    updating every column after each move (width = all columns)."""
    W, H = random_layer(rows=12, cols=50, seed=9)
    H = H.double()
    lev, S, Z = _rtn_start(W, 3)
    full, full_moves = coordinate_descent(W, H, lev, S, Z, 7, sweeps=3, width=W.shape[1])
    lazy, lazy_moves = coordinate_descent(W, H, lev, S, Z, 7, sweeps=3, width=width)
    assert full_moves > 0 and lazy_moves == full_moves
    assert torch.equal(lazy, full)


def test_gptq_refine_zero_is_plain_gptq_and_refine_lowers_the_loss():
    W, H = random_layer(seed=7)
    plain = make_quantizer("gptq", bits=3).fit(W, H)
    zero = make_quantizer("gptq", bits=3, refine=0).fit(W, H)
    assert torch.equal(plain.quantized_.codes, zero.quantized_.codes)
    cd = make_quantizer("gptq", bits=3, refine=2).fit(W, H)
    assert relative_error(W, cd.weight_, H) < relative_error(W, plain.weight_, H)


@pytest.mark.parametrize("bad", [-1, 101, 1.5, True])
def test_bad_refine_is_a_user_error(bad):
    with pytest.raises(QscaleUserError, match="--refine"):
        make_quantizer("qubo", bits=3, refine=bad)
    with pytest.raises(QscaleUserError, match="--refine"):
        make_quantizer("gptq", bits=3, refine=bad)
