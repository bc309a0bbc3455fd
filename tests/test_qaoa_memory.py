"""QAOA memory discipline: integer costs streamed from the QUBO as a level index, the kept final state,
streamed sampling / top-k / probability of the optimum, the footprint guard, and an independent
closed form for MaxCut at p = 1 on graphs with triangles (Wang, Hadfield, Jiang, Rieffel,
PRA 97, 022304 (2018), arXiv:1706.02998, Theorem 1)."""

from __future__ import annotations

import itertools
import math

import dimod
import networkx as nx
import numpy as np
import psutil
import pytest

from qscale.algorithms.qaoa.closed_form import maxcut_p1_cut
from qscale.algorithms.qaoa.problems import make_problem, maxcut_bqm
from qscale.errors import QscaleUserError
from qscale.quantum import memory
from qscale.quantum.qaoa_engine import OVERHEAD_BYTES, QAOASimulator
from qscale.quantum.qubo import cost_diagonal, integer_cost, stream_levels


def _integer_qubo(n: int, seed: int, step: float = 0.25, span: int = 6, vartype: str = "BINARY"):
    rng = np.random.default_rng(seed)
    linear = {i: step * int(rng.integers(-span, span + 1)) for i in range(n)}
    quad = {
        (a, b): step * int(rng.integers(-span, span + 1))
        for a, b in itertools.combinations(range(n), 2)
        if rng.random() < 0.4
    }
    return dimod.BinaryQuadraticModel(linear, quad, 1.5, vartype)


@pytest.mark.parametrize(("n", "vartype"), [(3, "BINARY"), (9, "SPIN"), (17, "BINARY"), (18, "SPIN")])
def test_streamed_levels_equal_the_float_diagonal(n, vartype):
    bqm = _integer_qubo(n, seed=n, vartype=vartype)
    diag = cost_diagonal(bqm)
    enc, argmin = stream_levels(integer_cost(bqm))
    np.testing.assert_allclose(enc.values[enc.index], diag, rtol=0, atol=1e-12 * max(1.0, np.abs(diag).max()))
    assert argmin == int(np.argmin(diag))
    assert enc.values[0] == pytest.approx(diag.min()) and enc.values[-1] == pytest.approx(diag.max())


def test_streamed_levels_range_pass_when_the_bound_is_loose():
    bqm = _integer_qubo(17, seed=5, step=1.0, span=40)
    cost = integer_cost(bqm)
    diag = cost_diagonal(bqm)
    span = round((diag.max() - diag.min()) / cost.scale) + 1
    assert span < cost.level_bound()
    enc, argmin = stream_levels(cost, max_levels=span)  # below the bound: range pass, then the index
    np.testing.assert_allclose(enc.values[enc.index], diag, rtol=0, atol=1e-9)
    assert argmin == int(np.argmin(diag))
    assert stream_levels(cost, max_levels=span - 1) is None


def test_non_integer_costs_keep_the_float_diagonal():
    bqm = dimod.BinaryQuadraticModel({0: 1.0, 1: math.sqrt(2), 2: -math.pi}, {(0, 1): 0.5, (1, 2): 1.0}, 0.0, "BINARY")
    assert integer_cost(bqm) is None
    sim = QAOASimulator.from_bqm(bqm, device="cpu")
    np.testing.assert_array_equal(sim.diag, cost_diagonal(bqm))
    assert sim.footprint(bqm, device="cpu")[1] == "float64 diagonal"


def test_level_simulator_matches_diagonal_simulator():
    bqm = _integer_qubo(11, seed=3)
    lean = QAOASimulator.from_bqm(bqm, device="cpu", low_qubits=6, group_qubits=3)
    full = QAOASimulator(cost_diagonal(bqm), device="cpu", low_qubits=6, group_qubits=3)
    assert lean._diag is None and lean.levels is not None and lean.cost_bytes() == 2**11
    g, b = [0.31, -0.52, 0.2], [0.4, 0.15, -0.9]
    np.testing.assert_allclose(lean.expectation(g, b).numpy(), full.expectation(g, b).numpy(), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(lean.sample(g, b, 5000, seed=7), full.sample(g, b, 5000, seed=7))
    top_lean, top_full = lean.top_k(g, b, 20), full.top_k(g, b, 20)
    np.testing.assert_array_equal(top_lean.indices, top_full.indices)
    np.testing.assert_allclose(top_lean.energies, top_full.energies, rtol=0, atol=1e-12)
    probs = full.probabilities(g, b)[0].numpy()
    diag = full.diag
    assert lean.probability_of_optimum(g, b) == pytest.approx(probs[diag == diag.min()].sum(), abs=1e-12)
    assert lean.cost_range() == pytest.approx(full.cost_range())
    np.testing.assert_allclose(lean.diag, diag, atol=1e-12)
    # the torch backend (the CUDA path, run here on the CPU) keeps the float diagonal and agrees
    tsim = QAOASimulator.from_bqm(bqm, device="cpu", backend="torch")
    assert tsim.backend == "torch" and tsim.levels is None
    np.testing.assert_allclose(tsim.expectation(g, b).numpy(), full.expectation(g, b).numpy(), atol=1e-12)
    np.testing.assert_array_equal(tsim.top_k(g, b, 20).indices, top_full.indices)
    assert tsim.probability_of_optimum(g, b) == pytest.approx(lean.probability_of_optimum(g, b), abs=1e-12)
    assert np.mean(tsim.sample(g, b, 5000, seed=7) == lean.sample(g, b, 5000, seed=7)) > 0.999


def test_top_k_is_exact_with_ties_and_several_threads():
    diag = np.zeros(2**10)  # uniform superposition at p = 0: every state ties, lower index first
    sim = QAOASimulator(diag)
    top = sim.top_k(np.zeros(0), np.zeros(0), 7)
    np.testing.assert_array_equal(top.indices, np.arange(7))
    rng = np.random.default_rng(3)
    sim = QAOASimulator(rng.integers(-9, 9, 2**12).astype(float), low_qubits=6, group_qubits=3)
    g, b = [0.4, -0.8], [0.3, 0.7]
    probs = sim.probabilities(g, b)[0].numpy()
    top = sim.top_k(g, b, 50)
    ref = np.lexsort((np.arange(probs.size), -probs))[:50]
    np.testing.assert_array_equal(top.indices, ref)
    assert sim.top_k(g, b, 10**9).indices.size == 2**12


def test_kept_state_follows_the_angles():
    """expectation / sample / gradient at changing angles must never reuse a stale final state."""
    bqm = _integer_qubo(10, seed=9)
    sim = QAOASimulator.from_bqm(bqm, device="cpu", low_qubits=5, group_qubits=3)
    g1, b1, g2, b2 = [0.3, 0.1], [0.6, -0.2], [-0.7, 0.25], [0.1, 1.1]
    e1 = sim.expectation(g1, b1).item()
    s2 = sim.sample(g2, b2, 3000, seed=1)
    e2 = sim.expectation(g2, b2).item()
    e_grad, _, _ = sim.expectation_and_grad(np.array(g1), np.array(b1))  # rotates its state back in place
    assert sim.expectation(g1, b1).item() == pytest.approx(e1, abs=1e-12)
    fresh = QAOASimulator.from_bqm(bqm, device="cpu")
    assert fresh.expectation(g2, b2).item() == pytest.approx(e2, abs=1e-12)
    assert e_grad[0] == pytest.approx(e1, abs=1e-12)
    np.testing.assert_array_equal(fresh.sample(g2, b2, 3000, seed=1), s2)


def test_sampling_follows_the_distribution_across_blocks():
    rng = np.random.default_rng(0)
    n = 16  # 4 sampling blocks
    sim = QAOASimulator(rng.integers(-4, 4, 2**n).astype(float))
    g, b = [0.9], [0.35]
    probs = sim.probabilities(g, b)[0].numpy()
    shots = sim.sample(g, b, 400_000, seed=5)
    block = np.bincount(shots >> 12, minlength=16) / shots.size
    expect = probs.reshape(16, -1).sum(axis=1)
    assert np.abs(block - expect).max() < 5 * math.sqrt(expect.max() / shots.size)
    top = np.argsort(probs)[-20:]
    freq = np.bincount(shots, minlength=2**n)[top] / shots.size
    assert np.abs(freq - probs[top]).max() < 5 * math.sqrt(probs[top].max() / shots.size)


def test_guard_admits_31_qubits_complex64_in_24_gib_and_refuses_with_bytes(monkeypatch):
    bqm = make_problem("maxcut", "regular:4", 31, 1).bqm  # no 3-regular graph has 31 nodes
    need, what, _ = QAOASimulator.footprint(bqm, 1, device="cpu", dtype="complex64")
    assert what == "uint8 level index"
    assert need == 2**31 * 8 + 2**31 + OVERHEAD_BYTES  # one complex64 state + 1 byte per state + overhead
    assert need <= 24 * 2**30 - 4 * 2**30  # leaves 4 GiB of a 24 GiB machine to everything else
    grad_need, _, _ = QAOASimulator.footprint(bqm, 2, device="cpu", dtype="complex64")
    assert grad_need == need + 2**31 * 8

    def no_build(*_a, **_k):
        raise AssertionError("built the cost before the guard refused")

    monkeypatch.setattr(memory, "available_bytes", lambda _dev: 12 * 2**30)
    monkeypatch.setattr("qscale.quantum.qubo.stream_levels", no_build)
    monkeypatch.setattr("qscale.quantum.qubo.cost_diagonal", no_build)
    with pytest.raises(QscaleUserError, match=rf"31 qubits .*needs {need} bytes .*only 12.0 GiB"):
        QAOASimulator.from_bqm(bqm, state_copies=1, device="cpu", dtype="complex64")


# ------------------------------------------------------------------------------------------------
# MaxCut p = 1 closed form (Wang et al. 2018, Theorem 1), independent of any simulator


def test_closed_form_is_farhis_on_triangle_free_cubic_graphs():
    graph = nx.petersen_graph()
    gamma, beta = math.atan(1 / math.sqrt(2)), math.pi / 8
    assert maxcut_p1_cut(graph, gamma, beta) / 15 == pytest.approx(0.5 + 1 / (3 * math.sqrt(3)), abs=1e-12)


def _engine_cut(graph: nx.Graph, gamma: float, beta: float, **kwargs) -> float:
    # qscale minimises E = -cut with exp(-i·γ_q·E): γ_q = -γ for the theorem's exp(-i·γ·cut)
    sim = QAOASimulator.from_bqm(maxcut_bqm(graph), state_copies=1, **kwargs)
    return -sim.expectation([-gamma], [beta]).item()


@pytest.mark.parametrize(
    "graph",
    [
        nx.complete_graph(5),
        nx.random_regular_graph(3, 12, seed=4),
        nx.gnp_random_graph(11, 0.45, seed=2),
        nx.lollipop_graph(4, 3),
    ],
    ids=["K5", "3-regular-12", "gnp-11", "lollipop"],
)
def test_p1_maxcut_matches_wang_closed_form(graph):
    assert sum(nx.triangles(graph).values()) > 0 or graph.number_of_nodes() == 12
    rng = np.random.default_rng(graph.number_of_edges())
    for gamma, beta in rng.uniform(-1.4, 1.4, (4, 2)):
        assert _engine_cut(graph, gamma, beta, device="cpu") == pytest.approx(
            maxcut_p1_cut(graph, gamma, beta), abs=1e-10
        )


@pytest.mark.slow
def test_p1_maxcut_matches_wang_closed_form_at_30_qubits():
    """The 30-qubit check (8 GiB complex64 state + 1 GiB level index): skipped when memory is short."""
    if psutil.virtual_memory().available < 11 * 2**30:
        pytest.skip("needs about 11 GiB of free memory")
    graph = make_problem("maxcut", "regular:3", 30, 1).graph
    gamma, beta = 0.6154797, 0.3926991  # Farhi's optimum for d = 3 (arctan(1/sqrt 2), pi/8)
    got = _engine_cut(graph, gamma, beta, device="cpu", dtype="complex64")
    assert got == pytest.approx(maxcut_p1_cut(graph, gamma, beta), abs=1e-4)
