"""Optimisation problems for QAOA: generated graphs (MaxCut) and user QUBO files, as dimod BQMs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dimod
import networkx as nx

from qscale.errors import QscaleUserError

MAX_NODES = 64  # beyond this no simulator or enumeration could help; the memory guard speaks earlier


@dataclass
class Problem:
    """A QUBO/Ising problem with the metadata the report needs (what it is, where it came from)."""

    bqm: dimod.BinaryQuadraticModel
    name: str
    description: str
    graph: nx.Graph | None = None
    regular_degree: int | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n_variables(self) -> int:
        return self.bqm.num_variables


def parse_graph(spec: str, nodes: int, seed: int) -> tuple[nx.Graph, int | None]:
    """Build a graph from 'regular:D', 'erdos:P' or 'complete'; returns it and its degree if regular."""
    if nodes < 2:
        raise QscaleUserError(f"--nodes must be at least 2, got {nodes}")
    if nodes > MAX_NODES:
        raise QscaleUserError(f"--nodes {nodes} is above the supported maximum of {MAX_NODES}")
    kind, _, arg = spec.partition(":")
    if kind == "regular":
        try:
            degree = int(arg)
        except ValueError:
            raise QscaleUserError(f"graph spec {spec!r}: the degree after 'regular:' must be an integer") from None
        if not 1 <= degree < nodes or (degree * nodes) % 2:
            raise QscaleUserError(f"no {degree}-regular graph on {nodes} nodes exists (need 1 <= d < n and d*n even)")
        return nx.random_regular_graph(degree, nodes, seed=seed), degree
    if kind == "erdos":
        try:
            prob = float(arg)
        except ValueError:
            raise QscaleUserError(
                f"graph spec {spec!r}: the edge probability after 'erdos:' must be a number"
            ) from None
        if not 0.0 < prob <= 1.0:
            raise QscaleUserError(f"graph spec {spec!r}: edge probability must be in (0, 1]")
        return nx.gnp_random_graph(nodes, prob, seed=seed), None
    if kind == "complete" and not arg:
        return nx.complete_graph(nodes), nodes - 1
    raise QscaleUserError(f"unknown graph spec {spec!r}: use regular:D, erdos:P or complete")


def maxcut_bqm(graph: nx.Graph) -> dimod.BinaryQuadraticModel:
    """MaxCut as a minimisation: energy = -(weight of cut edges), BINARY, one variable per node.

    An edge (i, j) of weight w is cut when x_i != x_j: w·(x_i + x_j - 2·x_i·x_j); we negate it.
    """
    bqm = dimod.BinaryQuadraticModel({int(v): 0.0 for v in graph.nodes}, {}, 0.0, dimod.BINARY)
    for i, j, data in graph.edges(data=True):
        w = float(data.get("weight", 1.0))
        bqm.add_linear(int(i), -w)
        bqm.add_linear(int(j), -w)
        bqm.add_quadratic(int(i), int(j), 2.0 * w)
    return bqm


def make_problem(problem: str, graph_spec: str, nodes: int, seed: int) -> Problem:
    if problem != "maxcut":
        raise QscaleUserError(f"unknown problem {problem!r}: use maxcut, or pass a QUBO file with --qubo")
    graph, degree = parse_graph(graph_spec, nodes, seed)
    if graph.number_of_edges() == 0:
        raise QscaleUserError(f"graph {graph_spec!r} with {nodes} nodes and seed {seed} has no edges")
    return Problem(
        bqm=maxcut_bqm(graph),
        name="maxcut",
        description=f"MaxCut on a {graph_spec} graph, {nodes} nodes, {graph.number_of_edges()} edges, seed {seed}",
        graph=graph,
        regular_degree=degree if graph_spec.startswith("regular") else None,
        meta={"graph": graph_spec, "nodes": nodes, "edges": graph.number_of_edges(), "seed": seed},
    )


def load_problem(path: Path) -> Problem:
    from qscale.quantum.qubo import bqm_from_json

    bqm = bqm_from_json(Path(path))
    if bqm.num_variables == 0:
        raise QscaleUserError(f"QUBO file {path} has no variables")
    if bqm.num_variables > MAX_NODES:
        raise QscaleUserError(f"QUBO file {path} has {bqm.num_variables} variables, above the maximum {MAX_NODES}")
    return Problem(
        bqm=bqm,
        name="qubo",
        description=f"QUBO from {Path(path).name}: {bqm.num_variables} variables, {bqm.num_interactions} interactions",
        meta={"file": str(path)},
    )


def approximation_ratio(expectation: float, e_min: float, e_max: float) -> float:
    """(E_max - <E>) / (E_max - E_min): 1 is optimal; for MaxCut (E = -cut, E_max = 0) it is <cut>/maxcut."""
    if e_max == e_min:
        return 1.0
    return (e_max - expectation) / (e_max - e_min)
