"""Block solvers: given the QUBOs of one weight block (shared Q, row-specific L, constants), pick bits per row.

Every solver answers the same question for all rows at once and returns a BlockSolution. Energies are in
grid steps² (the problem's `scale2` turns them into OBS loss). `optimal` (where given) says per row
whether the answer equals the exact optimum of that row's QUBO, computed by enumeration on the side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from qscale.errors import QscaleUserError
from qscale.llm.quant.qaoa_kernel import normalise, optimise_angles, probabilities
from qscale.llm.quant.resources import coupling_rounds
from qscale.quantum.executor import Batch, CircuitSpec, Executor, RowSpecs, exact_executor

if TYPE_CHECKING:
    from qscale.llm.quant.block import BlockQubo

MAX_ENUMERATION_VARIABLES = 16


@dataclass
class BlockSolution:
    bits: torch.Tensor  # (rows, n) float64 in {0, 1}
    energy: torch.Tensor  # (rows,) float64, grid steps²
    optimal: torch.Tensor | None = None  # (rows,) bool: equals the exact optimum
    extra: dict[str, Any] = field(default_factory=dict)


class BlockSolver(Protocol):
    name: str
    max_variables: int | None

    def solve(self, problem: BlockQubo) -> BlockSolution: ...


ROW_FIELDS = ("L", "const", "scale2", "base", "greedy_bits", "tstar")  # BlockQubo fields with one row per QUBO


def rows_of(problem: BlockQubo, start: int, stop: int) -> BlockQubo:
    """The same block QUBO restricted to rows start:stop (shared Q, A and code kept; all rows: itself)."""
    if start == 0 and stop == problem.rows:
        return problem
    return dataclasses.replace(problem, **{f: getattr(problem, f)[start:stop] for f in ROW_FIELDS})


def join(parts: list[BlockSolution]) -> BlockSolution:
    """Concatenate row-sliced solutions back into one, in order."""
    if len(parts) == 1:
        return parts[0]
    optimal = None if parts[0].optimal is None else torch.cat([p.optimal for p in parts])
    extra = {k: torch.cat([p.extra[k] for p in parts]) for k in parts[0].extra}
    return BlockSolution(torch.cat([p.bits for p in parts]), torch.cat([p.energy for p in parts]), optimal, extra)


@cache
def _assignments(n: int, device: str) -> torch.Tensor:
    a = torch.arange(2**n, device=device)
    return ((a.unsqueeze(1) >> torch.arange(n, device=device)) & 1).to(torch.float64)


def assignments(n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """All 2^n assignments (2^n, n); row a has bit i = (a >> i) & 1 (variable i = qubit i)."""
    return _assignments(n, str(device))


def energy_table(Q: torch.Tensor, L: torch.Tensor, const: torch.Tensor) -> torch.Tensor:
    """Energies of every assignment for every row (rows, 2^n): L @ Xᵀ + xᵀQx + c, all in torch matmuls."""
    X = assignments(Q.shape[0], Q.device)
    quad = ((X @ Q) * X).sum(dim=1)
    return L @ X.T + quad.unsqueeze(0) + const.unsqueeze(1)


def _row_step(n: int, elements: int = 2**22) -> int:
    """Rows per chunk so that a (rows, 2^n) table stays near `elements` entries."""
    return max(1, elements // 2**n)


def exact_minimum(problem: BlockQubo) -> tuple[torch.Tensor, torch.Tensor]:
    """(argmin index, minimum energy) per row by enumeration, chunked over rows to bound memory."""
    idx, val = [], []
    step = _row_step(problem.n_variables)
    for r in range(0, problem.rows, step):
        m = energy_table(problem.Q, problem.L[r : r + step], problem.const[r : r + step]).min(dim=1)
        idx.append(m.indices)
        val.append(m.values)
    return torch.cat(idx), torch.cat(val)


def _tolerance(energy: torch.Tensor, problem: BlockQubo) -> torch.Tensor:
    return 1e-9 * energy.abs() + 1e-12 * float(problem.Q.diagonal().abs().mean())


class ExactSolver:
    """Vectorised enumeration of all 2^n assignments for all rows (n ≤ 16)."""

    name = "exact"
    max_variables: int | None = MAX_ENUMERATION_VARIABLES

    def solve(self, problem: BlockQubo) -> BlockSolution:
        idx, energy = exact_minimum(problem)
        bits = assignments(problem.n_variables, problem.Q.device)[idx]
        return BlockSolution(bits, energy, torch.ones_like(energy, dtype=torch.bool))


class GreedySolver:
    """GPTQ's own answer (column by column, nearest level after error feedback), which the box contains."""

    name = "greedy"
    max_variables: int | None = None

    def solve(self, problem: BlockQubo) -> BlockSolution:
        bits = problem.greedy_bits
        return BlockSolution(bits, problem.energy(bits))


def _check_optimal(problem: BlockQubo, energy: torch.Tensor) -> torch.Tensor | None:
    if problem.n_variables > MAX_ENUMERATION_VARIABLES:
        return None
    _, best = exact_minimum(problem)
    return energy <= best + _tolerance(best, problem)


class AnnealingSolver:
    """dwave-samplers simulated annealing on one BQM holding every row's QUBO as a disjoint piece."""

    name = "sa"
    max_variables: int | None = None

    def __init__(self, num_reads: int = 4, num_sweeps: int = 64, seed: int = 0):
        self.num_reads, self.num_sweeps, self.seed = num_reads, num_sweeps, seed
        self._calls = 0

    def solve(self, problem: BlockQubo) -> BlockSolution:
        import dimod
        from dwave.samplers import SimulatedAnnealingSampler

        rows, n = problem.rows, problem.n_variables
        Q, L = problem.Q.cpu().numpy(), problem.L.cpu().numpy()
        linear = (np.diag(Q)[None, :] + L).ravel()
        iu, ju = np.triu_indices(n, 1)
        offsets = (np.arange(rows) * n)[:, None]
        irow, icol = (offsets + iu).ravel(), (offsets + ju).ravel()
        qdata = np.tile(2 * Q[iu, ju], rows)
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(linear, (irow, icol, qdata), 0.0, dimod.BINARY)
        ss = SimulatedAnnealingSampler().sample(
            bqm, num_reads=self.num_reads, num_sweeps=self.num_sweeps, seed=self.seed + self._calls
        )
        self._calls += 1
        order = np.argsort(np.asarray(list(ss.variables)))
        samples = torch.from_numpy(ss.record.sample[:, order].reshape(-1, rows, n).astype(np.float64))
        samples = samples.to(problem.Q.device)
        x = samples
        energies = ((x @ problem.Q) * x).sum(-1) + (x * problem.L).sum(-1) + problem.const  # (reads, rows)
        best = energies.argmin(dim=0)
        bits = samples[best, torch.arange(rows, device=best.device)]
        energy = energies.min(dim=0).values
        return BlockSolution(bits, energy, _check_optimal(problem, energy))


class QaoaSolver:
    """Batched QAOA over the rows of a block, read out like hardware: best of `shots` samples per row.

    Angles: one shared set per qubit count, optimised once (qaoa_kernel.optimise_angles) on the
    normalised diagonals of up to `sample_rows` rows of the first block seen, then reused for every
    block; or given. Per row it also records whether the answer is the exact optimum, the chance that
    `shots` uniform random guesses would have found it (the no-quantum baseline), and the QAOA state's
    probability of the optimum.

    Each row is one QAOA circuit of 1 + p (coupling rounds + 1) two-qubit layers (as qscale.llm.quant.resources
    counts them); a block's rows go to the `executor` as one `Batch` (exact: the batched kernel on all rows at
    once; a recording executor packs and times them as a QPU would run them, then runs the kernel per job).
    """

    name = "qaoa"
    max_variables: int | None = MAX_ENUMERATION_VARIABLES

    def __init__(
        self, p: int = 2, shots: int = 256, seed: int = 0, angles: dict[int, dict] | None = None,
        sample_rows: int = 256, complex128: bool = True, executor: Executor | None = None,
    ):
        if not 1 <= p <= 32:
            raise QscaleUserError(f"--qaoa-p must be from 1 to 32, got {p}")
        if shots < 1:
            raise QscaleUserError(f"--shots must be positive, got {shots}")
        self.p, self.shots, self.seed, self.sample_rows = p, shots, seed, sample_rows
        self.angles: dict[int, dict] = dict(angles or {})
        self.dtype = torch.float64 if complex128 else torch.float32
        self._gen: torch.Generator | None = None
        self._random_gen: torch.Generator | None = None
        self.recorder: Any = None  # e.g. qaoa_backend.QuboSample: sees every solved row (backend audit)
        self.executor = exact_executor(executor)

    def _generators(self, device: torch.device) -> tuple[torch.Generator, torch.Generator]:
        if self._gen is None or self._random_gen is None:
            self._gen = torch.Generator(device=device).manual_seed(self.seed)
            self._random_gen = torch.Generator(device=device).manual_seed(self.seed + 1_000_003)
        return self._gen, self._random_gen

    def angles_for(self, diag_normalised: torch.Tensor, n: int) -> dict:
        if n not in self.angles:
            sample = diag_normalised[: self.sample_rows]
            self.angles[n] = optimise_angles(sample, self.p)
        return self.angles[n]

    def circuit(self, problem: BlockQubo) -> CircuitSpec:
        """One row's QAOA circuit as a device model sees it (payload: the block QUBO and the row)."""
        n, couplings = problem.n_variables, int(problem.couplings())
        return CircuitSpec(n, 1 + self.p * (coupling_rounds(n, couplings) + 1), self.p * couplings)

    def solve(self, problem: BlockQubo) -> BlockSolution:
        specs = RowSpecs(lambda: self.circuit(problem), problem.rows, problem)

        def execute(part: Sequence[CircuitSpec], shots: int) -> BlockSolution:
            return self.solve_rows(rows_of(problem, part[0].payload[1], part[-1].payload[1] + 1))

        return self.executor.run(Batch(specs, self.shots, execute, join))

    def solve_rows(self, problem: BlockQubo) -> BlockSolution:
        """The batched exact-simulator path: every row of `problem` at once."""
        n, device = problem.n_variables, problem.Q.device
        gen, random_gen = self._generators(device)
        step = _row_step(n, 2**20)
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("idx", "energy", "optimal", "random", "p_opt")}
        for r in range(0, problem.rows, step):
            diag = energy_table(problem.Q, problem.L[r : r + step], problem.const[r : r + step])
            dn = normalise(diag).to(self.dtype)
            angles = self.angles_for(dn, n)
            probs = probabilities(dn, angles["gammas"], angles["betas"]).to(torch.float64)
            samples = torch.multinomial(probs, self.shots, replacement=True, generator=gen)
            sampled = diag.gather(1, samples)
            pick = sampled.argmin(dim=1)
            best = diag.min(dim=1).values
            tol = _tolerance(best, problem)
            is_opt = diag <= (best + tol).unsqueeze(1)
            guesses = torch.randint(0, 2**n, samples.shape, generator=random_gen, device=device)
            parts["idx"].append(samples.gather(1, pick.unsqueeze(1)).squeeze(1))
            parts["energy"].append(sampled.min(dim=1).values)
            parts["optimal"].append(parts["energy"][-1] <= best + tol)
            parts["random"].append(is_opt.gather(1, guesses).any(dim=1))
            parts["p_opt"].append((probs * is_opt).sum(dim=1))
            if self.recorder is not None:
                self.recorder.add(problem, r, parts["optimal"][-1], parts["random"][-1], parts["p_opt"][-1])
        cat = {k: torch.cat(v) for k, v in parts.items()}
        bits = assignments(n, device)[cat["idx"]]
        extra = {"random_optimal": cat["random"], "p_optimal": cat["p_opt"]}
        return BlockSolution(bits, cat["energy"], cat["optimal"], extra)


def make_solver(name: str, **options: Any) -> BlockSolver:
    """'exact', 'sa', 'greedy' or 'qaoa' (options: sa num_reads/num_sweeps/seed; qaoa p/shots/seed/angles)."""
    if name == "exact":
        return ExactSolver()
    if name == "greedy":
        return GreedySolver()
    if name == "sa":
        return AnnealingSolver(**options)
    if name == "qaoa":
        return QaoaSolver(**options)
    raise QscaleUserError(f"unknown solver {name!r}: use exact, sa, greedy or qaoa")
