"""QUBO quantization's QAOA on a named backend (`qscale quantize --solver qaoa --backend NAME`).

The exact path quantizes every block QUBO with qscale's batched QAOA simulator, as without a backend. A
noisy Aer simulation of every block QUBO of a layer is far too slow (SmolLM2's q_proj alone has about 10^5
block QUBOs, rounding pass plus refinement moves; one 8-qubit QUBO with p = 2 on a Fez snapshot costs about
a second, see `seconds_per_qubo` in the JSON). So while the exact path runs, a `QuboSample` keeps a uniform
random sample of the block QUBOs it solved (reservoir sampling, seeded: the same run keeps the same QUBOs),
with the exact path's verdict on each. Afterwards each sampled QUBO's QAOA circuit (the same shared angles,
the same normalised cost) runs on the backend with the same shots, and is scored the same way: optimal
when the best of its samples is an exact optimum (found by enumeration). `qaoa_optimal_fraction_backend`
sits beside `qaoa_optimal_fraction_exact_sample` (exact simulation, same QUBOs) and the random-guess rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qscale.errors import QscaleUserError

DEFAULT_SAMPLE = 32


@dataclass
class SampledQubo:
    Q: np.ndarray  # (n, n)
    L: np.ndarray  # (n,)
    const: float
    optimal_exact: bool  # the exact path's best-of-shots answer was optimal
    random_optimal: bool  # `shots` uniform guesses found an optimum
    p_optimal: float  # noiseless QAOA state's probability of an optimum

    @property
    def n(self) -> int:
        return self.Q.shape[0]


class QuboSample:
    """Reservoir sample (Vitter's algorithm R) of the block QUBOs a QaoaSolver solves; set as its `recorder`."""

    def __init__(self, size: int, seed: int):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise QscaleUserError(f"--backend-qubos must be a positive integer, got {size!r}")
        self.size = size
        self.rng = np.random.default_rng(seed)
        self.seen = 0
        self.items: list[SampledQubo] = []

    def add(self, problem: Any, start: int, optimal: torch.Tensor, random_opt: torch.Tensor, p_opt: torch.Tensor):
        """Rows start.. of `problem` (as many as `optimal` has) were solved by the exact path."""
        m = int(optimal.shape[0])
        slots = np.arange(self.seen, self.seen + m)
        keep = np.where(slots < self.size, slots, self.rng.integers(0, slots + 1))
        chosen = np.flatnonzero(keep < self.size)
        self.seen += m
        if not chosen.size:
            return
        Q = problem.Q.detach().cpu().numpy()
        L = problem.L[start : start + m].detach().cpu().numpy()
        const = problem.const[start : start + m].detach().cpu().numpy()
        flags = [t.detach().cpu().numpy() for t in (optimal, random_opt, p_opt)]
        for i in chosen:
            item = SampledQubo(Q, L[i].copy(), float(const[i]), bool(flags[0][i]), bool(flags[1][i]),
                               float(flags[2][i]))
            if keep[i] < len(self.items):
                self.items[keep[i]] = item
            else:
                self.items.append(item)


def check_backend_options(
    backend: str, method: str, solver: str, n_qubits: int, size: int, shots: int, seed: int
) -> QuboSample:
    """Validate --backend for quantize before the model loads; the recorder the QAOA solver will feed."""
    from qscale.primitives.backends import check_shots, resolve_backend

    if method != "qubo" or solver != "qaoa":
        raise QscaleUserError("--backend runs QAOA circuits: use it with --method qubo --solver qaoa")
    check_shots(shots)
    resolve_backend(backend, seed=seed).check_width(n_qubits)
    return QuboSample(size, seed)


def energy_table(item: SampledQubo) -> np.ndarray:
    """E(x) = xᵀQx + L·x + c for every assignment; bit i of the index is variable i (= qubit i)."""
    n = item.n
    X = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)
    return ((X @ item.Q) * X).sum(1) + X @ item.L + item.const


def qubo_bqm(item: SampledQubo):
    """The QUBO as a dimod BQM on variables 0..n-1 (qubit i = variable i)."""
    import dimod

    n = item.n
    Q = item.Q
    linear = {i: float(Q[i, i] + item.L[i]) for i in range(n)}
    quadratic = {(i, j): float(Q[i, j] + Q[j, i]) for i in range(n) for j in range(i + 1, n) if Q[i, j] + Q[j, i]}
    return dimod.BinaryQuadraticModel(linear, quadratic, item.const, dimod.BINARY)


def qubo_circuit(item: SampledQubo, gammas: np.ndarray, betas: np.ndarray):
    """QAOA on the normalised cost (E - mean)/std, as qaoa_kernel runs it: γ scaled by 1/std (mean = phase)."""
    from qscale.quantum.export import qaoa_circuit

    std = float(energy_table(item).std())
    scale = 1.0 / std if std > 0 else 1.0
    return qaoa_circuit(qubo_bqm(item), np.asarray(gammas) * scale, np.asarray(betas))


def audit(sample: QuboSample, backend_name: str, angles: dict[int, dict], shots: int, seed: int) -> dict[str, Any]:
    """Run the sampled QUBOs on the backend; the keys `qscale quantize --json` adds."""
    from qscale.primitives.executor import make_executor

    executor = make_executor(backend_name, seed=seed, qiskit=True)
    backend = executor.backend
    items = sample.items
    t0 = time.perf_counter()
    circuits = [qubo_circuit(it, angles[it.n]["gammas"], angles[it.n]["betas"]) for it in items]
    outcomes = executor.sample_many([(qc, None) for qc in circuits], shots) if circuits else []
    seconds = time.perf_counter() - t0
    found, frequency, uniform = [], [], []
    for it, idx in zip(items, outcomes, strict=True):
        table = energy_table(it)
        best = table.min()
        tol = 1e-9 * abs(best) + 1e-12 * float(np.abs(np.diag(it.Q)).mean())
        hits = table[idx[0]] <= best + tol
        found.append(bool(hits.any()))
        frequency.append(float(hits.mean()))
        uniform.append(float(np.mean(table <= best + tol)))
    k = max(len(items), 1)
    summary = backend.summary()
    return {
        "qaoa_optimal_fraction_backend": sum(found) / k,
        "qaoa_optimal_fraction_exact_sample": sum(it.optimal_exact for it in items) / k,
        "qaoa_backend": {
            "kind": "simulated (noisy)" if backend.noisy else "simulated",
            "backend": summary,
            "qubos_sampled": len(items),
            "qubos_total": sample.seen,
            "shots": shots,
            "optimal_fraction": sum(found) / k,
            "optimal_fraction_stderr": float(np.sqrt(max(sum(found) / k * (1 - sum(found) / k), 0.0) / k)),
            "optimal_fraction_exact_same_qubos": sum(it.optimal_exact for it in items) / k,
            "random_guess_optimal_fraction_same_qubos": sum(it.random_optimal for it in items) / k,
            "mean_optimum_probability_exact_same_qubos": sum(it.p_optimal for it in items) / k,
            "mean_optimum_frequency_backend": sum(frequency) / k,
            "mean_optimum_probability_uniform_same_qubos": sum(uniform) / k,
            "transpiled_two_qubit_gates_mean": summary.get("transpiled_two_qubit_gates_mean"),
            "transpiled_two_qubit_gates_max": summary.get("transpiled_two_qubit_gates_max"),
            "transpiled_depth_max": summary.get("transpiled_depth_max"),
            "estimated_fidelity_mean": summary.get("estimated_fidelity_mean"),
            "estimated_fidelity_min": summary.get("estimated_fidelity_min"),
            "seconds": seconds,
            "seconds_per_qubo": seconds / k,
            "sample_rule": "uniform random sample without replacement of all block QUBOs the exact path solved "
            "(rounding pass and refinement moves), reservoir sampling seeded with --seed",
            "definition": "a sampled QUBO counts as optimal when the best of `shots` samples of its QAOA circuit "
            "(shared angles, cost normalised to mean 0 and std 1) on the backend is an exact optimum (enumeration); "
            "the exact path quantized every QUBO, and its verdicts on the same QUBOs are the *_exact_* keys. Per shot: "
            "mean_optimum_frequency_backend (share of the backend's shots that are optimal) beside the noiseless "
            "state's optimum probability and a uniform guess's",
        },
    }
