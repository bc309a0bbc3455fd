"""QAOA as a user runs it: angles (given, fixed-angle table, or optimised), sampling, and baselines.

The engine (qscale.quantum.qaoa_engine) does the simulation; this module decides which angles to
run and reports the result beside classical solvers on the same problem.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import torch
from scipy.optimize import minimize

from qscale.algorithms.qaoa.problems import Problem, approximation_ratio
from qscale.errors import QscaleUserError
from qscale.io import Result
from qscale.quantum.executor import Executor
from qscale.quantum.qaoa_engine import QAOASimulator
from qscale.quantum.qubo import variable_order

MAX_P = 64


@cache
def _fixed_angle_table() -> dict:
    text = resources.files("qscale.algorithms.qaoa").joinpath("data/fixed_angles_regular_maxcut.json").read_text()
    return json.loads(text)


def fixed_angles(degree: int, p: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Wurtz–Lykov angles for MaxCut on d-regular graphs in qscale's minimisation convention.

    The table's γ is for exp(-iγ·cut); qscale's cost is E = -cut, so γ changes sign.
    Returns (gammas, betas, guaranteed approximation ratio on large-girth graphs).
    """
    for row in _fixed_angle_table()["rows"]:
        if row["degree"] == degree and row["p"] == p:
            return -np.asarray(row["gamma"], float), np.asarray(row["beta"], float), float(row["guaranteed_ratio"])
    known = sorted({(r["degree"], r["p"]) for r in _fixed_angle_table()["rows"]})
    degrees = sorted({d for d, _ in known})
    ps = sorted({q for d, q in known if d == degree})
    raise QscaleUserError(
        f"no fixed angles for degree {degree}, p={p}: table has degrees {degrees}"
        + (f" and p in {ps} for degree {degree}" if ps else "")
    )


def interp_transfer(gammas: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """INTERP initialisation (Zhou et al., PRX 10, 021067): stretch p angles onto p+1 layers."""
    p = len(gammas)

    def stretch(x: np.ndarray) -> np.ndarray:
        padded = np.concatenate([[0.0], x, [0.0]])
        i = np.arange(1, p + 2)
        return (i - 1) / p * padded[i - 1] + (p - i + 1) / p * padded[i]

    return stretch(np.asarray(gammas, float)), stretch(np.asarray(betas, float))


@dataclass
class AngleResult:
    gammas: np.ndarray
    betas: np.ndarray
    expectation: float
    evaluations: int
    history: list[float]


def _objective(sim: QAOASimulator, p: int):
    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, g_gamma, g_beta = sim.expectation_and_grad(x[:p], x[p:])
        return float(np.ravel(value)[0]), np.concatenate([np.ravel(g_gamma), np.ravel(g_beta)])

    return fun


def _local_optimize(sim: QAOASimulator, x0: np.ndarray, optimizer: str, max_iter: int) -> AngleResult:
    p = len(x0) // 2
    fun = _objective(sim, p)
    history: list[float] = []
    if optimizer == "lbfgs":

        def tracked(x: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = fun(x)
            history.append(value)
            return value, grad

        res = minimize(tracked, x0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": 1e-9})
        x = res.x
    elif optimizer == "adam":
        params = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([params], lr=0.02)
        best = (np.inf, x0.copy())
        for _ in range(max_iter):
            value, grad = fun(params.detach().numpy())
            history.append(value)
            if value < best[0]:
                best = (value, params.detach().numpy().copy())
            params.grad = torch.from_numpy(grad)
            opt.step()
        x = best[1]
    else:
        raise QscaleUserError(f"unknown optimizer {optimizer!r}: use lbfgs or adam")
    value, _ = fun(x)
    return AngleResult(x[:p].copy(), x[p:].copy(), value, len(history) + 1, history)


def _angle_scale(bqm) -> float:
    """Typical |coupling| in Ising form, so random γ starts span about one period of the cost phase."""
    h, J, _ = bqm.to_ising()
    coeffs = np.abs(np.fromiter(list(h.values()) + list(J.values()), float))
    coeffs = coeffs[coeffs > 0]
    return float(np.max(coeffs)) if coeffs.size else 1.0


def optimize_angles(
    sim: QAOASimulator,
    p: int,
    restarts: int,
    seed: int,
    scale: float = 1.0,
    optimizer: str = "lbfgs",
    max_iter: int = 200,
) -> tuple[AngleResult, list[AngleResult]]:
    """Multi-start optimisation at depth 1, then INTERP transfer p -> p+1 plus fresh random starts.

    Returns the best result at depth p and the best result at every depth 1..p (the ladder).
    """
    rng = np.random.default_rng(seed)
    ladder: list[AngleResult] = []
    best: AngleResult | None = None
    for depth in range(1, p + 1):
        starts = []
        if best is not None:
            g, b = interp_transfer(best.gammas, best.betas)
            starts.append(np.concatenate([g, b]))
        n_random = restarts if best is None else max(restarts // 2, 1)
        for _ in range(n_random):
            g = rng.uniform(-np.pi / 4, np.pi / 4, depth) / (2 * scale)
            b = rng.uniform(-np.pi / 4, np.pi / 4, depth)
            starts.append(np.concatenate([g, b]))
        results = [_local_optimize(sim, x0, optimizer, max_iter) for x0 in starts]
        best = min(results, key=lambda r: r.expectation)
        ladder.append(best)
    assert best is not None
    return best, ladder


def classical_baselines(problem: Problem, sim: QAOASimulator | None, seed: int, reads: int = 100) -> dict:
    """Best classical answers on the same BQM: exact enumeration, simulated annealing, steepest descent.

    The exact optimum is the simulator's enumeration of every energy: streamed from the QUBO in integer
    chunks when the cost is integer (nothing stored beyond the level index), else the argmin of the
    float diagonal.
    """
    from dwave.samplers import SimulatedAnnealingSampler, SteepestDescentSolver

    out: dict = {}
    if sim is not None:
        e_min, _, idx = sim.cost_range()
        streamed = sim.levels is not None and sim._diag is None
        out["exact"] = {
            "energy": e_min,
            "index": idx,
            "method": "exhaustive enumeration of all 2^n energies (classical), "
            + ("streamed from the QUBO in integer chunks" if streamed else "argmin of the cost diagonal"),
            "seconds": sim.enumeration_seconds,
            "kind": "measured",
        }
    for name, sampler, kwargs in (
        ("simulated_annealing", SimulatedAnnealingSampler(), {"num_reads": reads, "seed": seed}),
        ("steepest_descent", SteepestDescentSolver(), {"num_reads": reads, "seed": seed}),
    ):
        t0 = time.perf_counter()
        sampleset = sampler.sample(problem.bqm, **kwargs)
        out[name] = {
            "energy": float(sampleset.first.energy),
            "method": f"dwave-samplers {type(sampler).__name__}, {reads} reads",
            "seconds": time.perf_counter() - t0,
            "kind": "measured",
        }
    return out


def circuit_resources(bqm, p: int, shots: int, evaluations: int) -> dict:
    """Gate counts of the QAOA circuit as hardware would run it (all-to-all connectivity assumed).

    Each interaction is one RZZ (2 CNOTs) per layer; interactions that share no qubit run in parallel,
    so the two-qubit depth per layer is 2 x (colours of a greedy edge colouring of the interaction graph).
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(bqm.variables)
    graph.add_edges_from((u, v) for (u, v), bias in bqm.quadratic.items() if bias != 0)
    colours = 0
    if graph.number_of_edges():
        colours = 1 + max(nx.coloring.greedy_color(nx.line_graph(graph), strategy="largest_first").values())
    return {
        "kind": "projected",
        "qubits": bqm.num_variables,
        "two_qubit_gates": 2 * p * graph.number_of_edges(),
        "two_qubit_depth": 2 * p * colours,
        "single_qubit_gates": p * 2 * bqm.num_variables + bqm.num_variables,
        "shots_per_circuit": shots,
        "circuit_evaluations": evaluations,
        "assumption": "all-to-all connectivity, RZZ = 2 CNOT + RZ, no SWAP routing; energy-expectation "
        "evaluations during optimisation each need their own shots on hardware",
    }


def project_qpu(
    resources: dict, modalities: tuple[str, ...] = ("superconducting", "trapped_ion", "neutral_atom")
) -> dict:
    """Projected QPU time and energy of running these circuits on hardware, per modality (qscale.energy.qpu)."""
    from qscale.energy.ledger import current_ledger
    from qscale.energy.qpu import qpu_job

    out = {}
    for modality in modalities:
        job = qpu_job(
            modality,
            resources["qubits"],
            max(resources["two_qubit_depth"], 1),
            resources["shots_per_circuit"],
            iterations=resources["circuit_evaluations"],
        ).report
        out[modality] = {"seconds": job["seconds"], "energy_j": job["energy_j"], "kind": "projected"}
    ledger = current_ledger()
    if ledger is not None:
        ledger.add_qpu(
            modalities[0],
            resources["qubits"],
            max(resources["two_qubit_depth"], 1),
            resources["shots_per_circuit"],
            iterations=resources["circuit_evaluations"],
            label="qaoa",
        )
    return out


class QaoaResult(Result):
    """`run_qaoa`'s answer: the `qscale qaoa` JSON (angles, ratio, samples, baselines, projected QPU cost)."""


def _bitstring(index: int, n: int) -> str:
    """Qiskit order: the rightmost character is qubit 0 (the first variable in sorted order)."""
    return format(int(index), f"0{n}b")


def run_qaoa(
    problem: Problem,
    p: int,
    mode: str = "optimize",
    gammas: list[float] | None = None,
    betas: list[float] | None = None,
    restarts: int = 4,
    optimizer: str = "lbfgs",
    shots: int = 1024,
    seed: int = 1,
    device: str = "auto",
    dtype: str = "complex128",
    baselines: bool = True,
    backend: str = "exact",
    executor: Executor | None = None,
) -> QaoaResult:
    """Run QAOA at depth p; the result's `to_json()` is the `qscale qaoa` JSON contract.

    backend: `exact` (qscale's engine) or a name of qscale.primitives.backends, which then runs the final circuit.
    executor: instead of `backend` (qscale.quantum.executor). An exact one keeps qscale's QAOA engine on the cost
    diagonal (qaoa_engine.py: angles, expectation, samples); a device executor also runs the final circuit.
    """
    if not 1 <= p <= MAX_P:
        raise QscaleUserError(f"--p must be between 1 and {MAX_P}, got {p}")
    if shots < 1:
        raise QscaleUserError(f"--shots must be positive, got {shots}")
    if restarts < 1:
        raise QscaleUserError(f"--restarts must be positive, got {restarts}")
    n = problem.n_variables
    on_backend = None
    if executor is None:
        from qscale.primitives.executor import make_executor

        executor = make_executor(backend, seed=seed)
    if not executor.exact:  # a device: check it is wide enough before simulating anything
        from qscale.algorithms.qaoa.backend import QaoaOnBackend

        on_backend = QaoaOnBackend(executor, n, shots, seed)
    guaranteed = None
    ladder: list[AngleResult] = []
    # angles that need no simulation are checked first, so a bad request fails before any big allocation
    if mode == "given":
        if gammas is None or betas is None or len(gammas) != p or len(betas) != p:
            raise QscaleUserError(f"--gammas and --betas must each give exactly p={p} comma-separated angles")
        g, b = np.asarray(gammas, float), np.asarray(betas, float)
        evaluations = 1
    elif mode == "fixed":
        if problem.regular_degree is None:
            raise QscaleUserError("--fixed-angles needs MaxCut on a regular graph (--graph regular:D)")
        g, b, guaranteed = fixed_angles(problem.regular_degree, p)
        evaluations = 1
    elif mode != "optimize":
        raise QscaleUserError(f"unknown angle mode {mode!r}")
    t_start = time.perf_counter()
    # one state to evaluate and sample; the adjoint gradients of optimisation need a second
    sim = QAOASimulator.from_bqm(problem.bqm, state_copies=2 if mode == "optimize" else 1, device=device, dtype=dtype)
    e_min, e_max, _ = sim.cost_range()
    if mode == "optimize":
        best, ladder = optimize_angles(sim, p, restarts, seed, scale=_angle_scale(problem.bqm), optimizer=optimizer)
        g, b = best.gammas, best.betas
        evaluations = sum(r.evaluations for r in ladder)

    if sim.backend == "numba":
        sim.clear_workspace()  # the optimiser's adjoint vector is not needed any more
    expectation = float(np.ravel(sim.expectation(g, b).detach().cpu().numpy())[0])
    samples = np.ravel(np.asarray(sim.sample(g, b, shots, seed)))  # the final state is kept: no second run
    sample_energies = sim.energies(samples)
    best_idx = int(samples[int(np.argmin(sample_energies))])
    p_opt = sim.probability_of_optimum(g, b)
    seconds = time.perf_counter() - t_start

    order = variable_order(problem.bqm)
    result: dict = {
        "problem": problem.description,
        "n_qubits": n,
        "p": p,
        "angles": mode,
        "gammas": g,
        "betas": b,
        "expectation": expectation,
        "best_bitstring": _bitstring(best_idx, n),
        "best_energy": float(sample_energies.min()),
        "best_sample": {str(v): int((best_idx >> q) & 1) for q, v in enumerate(order)},
        "optimal_energy": e_min,
        "approximation_ratio": approximation_ratio(expectation, e_min, e_max),
        "approximation_ratio_definition": "(E_max - <E>) / (E_max - E_min); for MaxCut <cut>/maxcut",
        "probability_optimal": p_opt,
        "shots": shots,
        "sampled_optimal_fraction": float(np.mean(sample_energies == e_min)),
        "evaluations": evaluations,
        "seconds": seconds,
        "kind": "simulated",
        "simulator": {"device": str(sim.device), "dtype": dtype, "backend": sim.backend},
        "conventions": "start |+>^n; layer exp(-i*gamma*E) then exp(-i*beta*sum X); E = BQM energy; "
        "bitstrings in Qiskit order (rightmost = qubit 0 = first variable in sorted label order)",
    }
    if problem.name == "maxcut":
        result["expected_cut"] = -expectation
        result["max_cut"] = -e_min
    if guaranteed is not None:
        result["fixed_angle_guaranteed_ratio"] = guaranteed
    if ladder:
        result["optimization"] = {
            "optimizer": optimizer,
            "restarts": restarts,
            "transfer": "INTERP p -> p+1",
            "expectation_by_depth": [r.expectation for r in ladder],
            "ratio_by_depth": [approximation_ratio(r.expectation, e_min, e_max) for r in ladder],
        }
    resources = circuit_resources(problem.bqm, p, shots, evaluations + 1)
    result["quantum_resources"] = resources
    result["projected_qpu"] = project_qpu(resources)
    if baselines:
        result["classical_baselines"] = classical_baselines(problem, sim, seed)
    if on_backend is not None:  # backends run small circuits: the float diagonal is cheap there
        on_backend.apply(result, problem.bqm, sim.diag, g, b)
    return QaoaResult(result)
