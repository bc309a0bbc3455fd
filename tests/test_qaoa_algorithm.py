"""The QAOA driver against closed forms: Farhi's p=1 formula, the fixed-angle table, INTERP."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from qscale.algorithms.qaoa.driver import approximation_ratio, fixed_angles, interp_transfer
from qscale.algorithms.qaoa.problems import maxcut_bqm
from qscale.quantum.qaoa_engine import QAOASimulator
from qscale.quantum.qubo import cost_diagonal


def test_fixed_angles_p1_d3_are_farhis_closed_form():
    g, b, ratio = fixed_angles(3, 1)
    # Farhi et al. 2014: gamma = arctan(1/sqrt(d-1)) for C = cut; qscale minimises -cut, so -gamma.
    assert g[0] == pytest.approx(-np.arctan(1 / np.sqrt(2)), abs=1e-4)  # table is numerically optimised
    assert b[0] == pytest.approx(np.pi / 8, abs=1e-4)
    assert ratio == pytest.approx(0.6924, abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_p1_expectation_matches_farhi_formula_on_triangle_free_graph(seed):
    graph = nx.petersen_graph()  # 3-regular, girth 5
    diag = cost_diagonal(maxcut_bqm(graph))
    sim = QAOASimulator(diag, device="cpu")
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)
    energy = float(np.ravel(sim.expectation(np.array([gamma]), np.array([beta])).detach().numpy())[0])
    # Per edge, with C = cut and exp(-i g C): <c_e> = 1/2 + 1/2 sin(4b) sin(g) cos^(d-1)(g); here g = -gamma.
    g = -gamma
    per_edge = 0.5 + 0.5 * np.sin(4 * beta) * np.sin(g) * np.cos(g) ** 2
    assert -energy == pytest.approx(graph.number_of_edges() * per_edge, abs=1e-10)


def test_interp_transfer_known_values():
    g, b = interp_transfer(np.array([1.0]), np.array([0.5]))
    np.testing.assert_allclose(g, [1.0, 1.0])
    np.testing.assert_allclose(b, [0.5, 0.5])
    g, _ = interp_transfer(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(g, [1.0, 2.0, 3.0])


def test_approximation_ratio_is_cut_ratio_for_maxcut():
    assert approximation_ratio(-6.0, -8.0, 0.0) == pytest.approx(0.75)
    assert approximation_ratio(-8.0, -8.0, 0.0) == pytest.approx(1.0)
