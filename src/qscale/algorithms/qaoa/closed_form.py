"""Closed forms of QAOA expectations, independent of any simulator (references for tests and benchmarks)."""

from __future__ import annotations

import math

import networkx as nx


def maxcut_p1_cut(graph: nx.Graph, gamma: float, beta: float) -> float:
    """Expected cut of depth-1 QAOA on an unweighted graph, from degrees and triangle counts alone.

    Wang, Hadfield, Jiang, Rieffel, PRA 97, 022304 (2018), arXiv:1706.02998, Theorem 1: for
    C = Σ_(uv) (1 - Z_u Z_v)/2 and the state exp(-iβ·ΣX) exp(-iγ·C) |+>^n, each edge contributes
        1/2 + 1/4 sin(4β) sin(γ) (cos^d_u γ + cos^d_v γ) - 1/4 sin²(2β) cos^(d_u + d_v - 2λ) γ (1 - cos^λ 2γ)
    with d_u = deg(u) - 1, d_v = deg(v) - 1 and λ the number of triangles containing the edge. On
    triangle-free graphs (λ = 0) this is Farhi, Goldstone, Gutmann (arXiv:1411.4028)'s edge term.
    qscale minimises E = -cut with exp(-iγ_q·E), so its expectation is -maxcut_p1_cut(graph, -γ_q, β).
    """
    c, s2b = math.cos(gamma), math.sin(2 * beta) ** 2
    total = 0.0
    for u, v in graph.edges:
        du, dv = graph.degree[u] - 1, graph.degree[v] - 1
        lam = len((set(graph[u]) & set(graph[v])) - {u, v})
        total += (
            0.5
            + 0.25 * math.sin(4 * beta) * math.sin(gamma) * (c**du + c**dv)
            - 0.25 * s2b * c ** (du + dv - 2 * lam) * (1 - math.cos(2 * gamma) ** lam)
        )
    return total
