"""GPTQ with blocks rounded jointly as QUBOs: the quantizer behind `--method qubo`.

GPTQ fixes the columns of a block one at a time (Babai's nearest plane). Here a block B of k columns is
fixed at once: each weight picks a level from a small box (round down / round up, or four levels with
2 binary variables per weight) to minimise the OBS cost δᵀ([H⁻¹]_BB)⁻¹δ, δ = w_B − q_B, where H⁻¹ is
the inverse Hessian of the not-yet-quantized columns (= U_BBᵀU_BB with GPTQ's Cholesky factor U).
In grid-step units (δ = s·(t* − Cx)) every row's cost is xᵀQx + L_r·x + c_r with Q = CᵀAC,
A = (U_BBᵀU_BB)⁻¹ shared by all rows of the block, and L_r = −2·t*_rᵀAC row-specific.
The box is anchored at floor(w/s + z) and shifted, where needed, to contain GPTQ's own choice for the
block, so the exact optimum is never worse than GPTQ for the same starting state.
After the block is fixed, the remaining columns get GPTQ's error feedback, which for a block is the
exact OBS update Err = δ·U_BB⁻¹ (so QUBO and GPTQ differ only in how each block is rounded).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.llm.quant.base import LayerQuantizer, QuantizedWeight, finish
from qscale.llm.quant.gptq import check_damping, group_values
from qscale.llm.quant.grid import GroupGrid, dequantize, lazy_batch_size, quantize_levels
from qscale.llm.quant.hessian import factorize
from qscale.llm.quant.refine import check_refine, refine_layer, refine_levels
from qscale.llm.quant.solvers import BlockSolver, make_solver


@dataclass
class BlockQubo:
    """The QUBOs of one block, all rows at once. Energies are in grid steps² unless scaled by `scale2`."""

    Q: torch.Tensor  # (n, n) float64 symmetric, shared by all rows
    L: torch.Tensor  # (rows, n) float64 row-specific linear terms
    const: torch.Tensor  # (rows,) float64
    scale2: torch.Tensor  # (rows,) grid scale², turns energies into weight units (the OBS loss)
    base: torch.Tensor  # (rows, k) lowest level of each weight's box
    code: torch.Tensor  # (k, n): level = base + code @ bits
    greedy_bits: torch.Tensor  # (rows, n) GPTQ's choice for the block, inside the box
    A: torch.Tensor  # (k, k) ([H⁻¹]_BB)⁻¹
    tstar: torch.Tensor  # (rows, k) unquantized position in grid steps above `base`

    @property
    def n_variables(self) -> int:
        return self.Q.shape[0]

    @property
    def rows(self) -> int:
        return self.L.shape[0]

    def levels(self, bits: torch.Tensor) -> torch.Tensor:
        return self.base + bits.to(self.code.dtype) @ self.code.T

    def energy(self, bits: torch.Tensor) -> torch.Tensor:
        """xᵀQx + L·x + c per row (grid steps²)."""
        x = bits.to(self.Q.dtype)
        return ((x @ self.Q) * x).sum(1) + (self.L * x).sum(1) + self.const

    def couplings(self) -> torch.Tensor:
        """Nonzero couplings of the QUBO (= RZZ gates per QAOA layer), as a 0-d tensor (no device sync)."""
        iu = torch.triu_indices(self.n_variables, self.n_variables, 1, device=self.Q.device)
        return (self.Q[iu[0], iu[1]].abs() > 1e-12 * self.Q.diagonal().abs().max()).sum()


@cache
def level_code(k: int, vars_per_weight: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """C (k, k·m): weight j's level offset is Σ_i 2^i·x[j·m + i] (variable j·m+i is qubit j·m+i).

    Cached (every block of a layer asks for the same one), so treat it as read-only.
    """
    powers = 2.0 ** torch.arange(vars_per_weight, dtype=dtype)
    return torch.kron(torch.eye(k, dtype=dtype), powers.unsqueeze(0))


def to_bits(offsets: torch.Tensor, vars_per_weight: int) -> torch.Tensor:
    """Level offsets (rows, k) in 0..2^m−1 to binary variables (rows, k·m), least significant first."""
    off = offsets.to(torch.long)
    bits = [(off >> i) & 1 for i in range(vars_per_weight)]
    return torch.stack(bits, dim=2).reshape(off.shape[0], -1).to(torch.float64)


def box_base(target: torch.Tensor, must_contain: torch.Tensor, vars_per_weight: int, maxq: int) -> torch.Tensor:
    """Lowest level of each weight's box of 2^m levels: around `target`, shifted to hold `must_contain`."""
    width = 2**vars_per_weight - 1
    base = torch.floor(target) - (2 ** (vars_per_weight - 1) - 1)
    base = torch.minimum(torch.maximum(base, must_contain - width), must_contain)
    return torch.clamp(base, 0, maxq - width)


def build_block_qubo(
    w_block: torch.Tensor, u_block: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, maxq: int,
    vars_per_weight: int, greedy_levels: torch.Tensor,
) -> BlockQubo:
    """QUBOs for a block: w_block (rows, k) current weights, u_block (k, k) GPTQ's U_BB, per-row grid."""
    s, z = scale.to(torch.float64).unsqueeze(1), zero.to(torch.float64).unsqueeze(1)
    t = w_block.to(torch.float64) / s + z
    g = greedy_levels.to(torch.float64)
    base = box_base(t, g, vars_per_weight, maxq)
    U = u_block.to(torch.float64)
    eye = torch.eye(U.shape[0], dtype=U.dtype, device=U.device)
    uinv = torch.linalg.solve_triangular(U, eye, upper=True)
    A = uinv @ uinv.T
    A = (A + A.T) / 2
    C = level_code(U.shape[0], vars_per_weight).to(U.device)
    tstar = t - base
    tA = tstar @ A
    return BlockQubo(
        Q=C.T @ A @ C, L=-2.0 * tA @ C, const=(tA * tstar).sum(1), scale2=(s**2).squeeze(1), base=base, code=C,
        greedy_bits=to_bits(g - base, vars_per_weight), A=A, tstar=tstar,
    )


def row_bqm(problem: BlockQubo, row: int, weight_units: bool = True):
    """dimod BQM of one row's block QUBO; variables 0..n−1 (= qubits); energy = OBS loss if weight_units."""
    import dimod

    n = problem.n_variables
    factor = float(problem.scale2[row]) if weight_units else 1.0
    Q, L = problem.Q.cpu().numpy() * factor, problem.L[row].cpu().numpy() * factor
    linear = {i: float(Q[i, i] + L[i]) for i in range(n)}
    quadratic = {(i, j): float(2 * Q[i, j]) for i in range(n) for j in range(i + 1, n)}
    return dimod.BinaryQuadraticModel(linear, quadratic, float(problem.const[row]) * factor, dimod.BINARY)


def all_row_bqms(problem: BlockQubo, weight_units: bool = True) -> list:
    return [row_bqm(problem, r, weight_units) for r in range(problem.rows)]


def greedy_block(
    w_block: torch.Tensor, u_block: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, maxq: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """GPTQ's own levels for a block (same arithmetic as its column loop) and their OBS cost per row.

    w_block is modified in place.
    """
    levels = torch.empty_like(w_block)
    cost = torch.zeros(w_block.shape[0], dtype=torch.float64, device=w_block.device)
    for j in range(w_block.shape[1]):
        lev = quantize_levels(w_block[:, j], scale, zero, maxq)
        err = (w_block[:, j] - dequantize(lev, scale, zero)) / u_block[j, j]
        w_block[:, j:] -= err.unsqueeze(1) @ u_block[j, j:].unsqueeze(0)
        levels[:, j] = lev
        cost += err.to(torch.float64) ** 2
    return levels, cost


def block_bounds(i1: int, i2: int, block: int, group_size: int | None) -> list[tuple[int, int]]:
    """Blocks of `block` columns inside a lazy batch, cut at group starts (a block has one grid per row)."""
    cuts = sorted({i1, i2} | {c for c in range(i1, i2) if group_size and c % group_size == 0})
    return [(s, min(s + block, b)) for a, b in pairwise(cuts) for s in range(a, b, block)]


class QUBOQuantizer(LayerQuantizer):
    """`qubo`: GPTQ's framework with each block of `block` columns rounded by a QUBO solver.

    solver: 'exact', 'sa', 'greedy', 'qaoa' or a BlockSolver. refine: sweeps of block moves on the true
    layer loss afterwards (qscale.llm.quant.refine), solved by the same solver. record_blocks=True keeps
    per-block energies (solver, GPTQ's choice, chosen) in `blocks_` for inspection and tests.
    """

    method = "qubo"

    def __init__(
        self, bits: int = 4, group_size: int | None = None, act_order: bool = False, percdamp: float = 0.01,
        block: int = 8, vars_per_weight: int = 1, solver: str | BlockSolver = "exact", refine: int = 0,
        record_blocks: bool = False, **solver_options: Any,
    ):
        super().__init__(bits, group_size)
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise QscaleUserError(f"--block must be a positive integer, got {block!r}")
        if vars_per_weight not in (1, 2) or vars_per_weight > self.bits:
            raise QscaleUserError(f"--vars-per-weight must be 1 or 2 (and at most --bits), got {vars_per_weight!r}")
        if group_size is not None and group_size % block:
            raise QscaleUserError(f"--group-size ({group_size}) must be a multiple of --block ({block})")
        self.act_order = bool(act_order)
        self.percdamp = check_damping(percdamp)
        self.block = block
        self.vars_per_weight = vars_per_weight
        self.solver = make_solver(solver, **solver_options) if isinstance(solver, str) else solver
        limit = getattr(self.solver, "max_variables", None)
        if limit is not None and block * vars_per_weight > limit:
            raise QscaleUserError(
                f"--block x vars per weight = {block * vars_per_weight} binary variables is more than the "
                f"{self.solver.name} solver handles ({limit})"
            )
        self.refine = check_refine(refine)
        self.record_blocks = record_blocks

    def _quantize(self, W: torch.Tensor, H: torch.Tensor | None) -> tuple[QuantizedWeight, dict[str, Any]]:
        assert H is not None
        fac = factorize(W, H.to(W.device), self.percdamp, self.act_order)
        original = fac.weight.clone() if self.refine else None  # the loop below updates fac.weight in place
        W, U = fac.weight, fac.hinv_upper
        cols = W.shape[1]
        grid = GroupGrid(W, self.bits, self.group_size)
        levels = torch.zeros_like(W)
        tally = _Tally(W.shape[0], W.device)
        column_by_column = self.solver.name == "greedy"
        self.blocks_: list[dict[str, Any]] = []
        lazy = lazy_batch_size(self.group_size)
        for i1 in range(0, cols, lazy):
            i2 = min(i1 + lazy, cols)
            W1 = W[:, i1:i2].clone()
            Err1 = torch.zeros_like(W1)
            U1 = U[i1:i2, i1:i2]
            for b1, b2 in block_bounds(i1, i2, self.block, self.group_size):
                if grid.starts_group(b1):
                    grid.start(group_values(W1, W, i1, i2, b1, self.group_size or 0))
                j1, j2 = b1 - i1, b2 - i1
                s, z = grid.scale[:, 0], grid.zero[:, 0]
                lev = self._round_block(W1[:, j1:j2], U1[j1:j2, j1:j2], s, z, grid.maxq, tally, b1)
                levels[:, b1:b2] = lev
                if column_by_column:  # GPTQ's own arithmetic, so `greedy` reproduces it bit for bit
                    for j in range(j1, j2):
                        err = (W1[:, j] - dequantize(lev[:, j - j1], s, z)) / U1[j, j]
                        W1[:, j:] -= err.unsqueeze(1) @ U1[j, j:].unsqueeze(0)
                        Err1[:, j] = err
                else:  # the same OBS update in one step: Err_B = δ_B·U_BB⁻¹
                    delta = W1[:, j1:j2] - dequantize(lev, s.unsqueeze(1), z.unsqueeze(1))
                    Err1[:, j1:j2] = torch.linalg.solve_triangular(U1[j1:j2, j1:j2], delta, upper=True, left=False)
                    W1[:, j2:] -= Err1[:, j1:j2] @ U1[j1:j2, j2:]
                tally.loss += (Err1[:, j1:j2].to(torch.float64) ** 2).sum(1)
            W[:, i2:] -= Err1 @ U[i1:i2, i2:]
        scale, zero = grid.stacked()
        stats = tally.summary() | {"damp": fac.damp, "dead_columns": fac.dead_columns}
        if self.refine:
            assert original is not None
            levels, refine_stats = self._refine(original, fac, levels, scale, zero, grid)
            stats |= refine_stats
        result = finish(levels, scale, zero, grid.group_index(), fac.perm, self.bits, self.group_size)
        return result, stats

    def _refine(
        self, W: torch.Tensor, fac: Any, levels: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor,
        grid: GroupGrid,
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        """Block moves, each a QUBO for the same solver, on the damped loss of W (processing order)."""
        tally = _Tally(W.shape[0], W.device)
        bounds = block_bounds(0, W.shape[1], self.block, self.group_size)

        def move(W, H, levels, S, Z):
            new = refine_levels(
                W, H, levels, S, Z, grid.maxq, bounds, self.vars_per_weight, self.solver, self.refine, tally
            )
            moves = tally.summary()
            out = {
                "refine_sweeps": self.refine,
                "refine_qubos": moves["block_qubos"],
                "refine_moved_fraction": moves["better_than_gptq_fraction"],
                "refine_qubo_shapes": moves["qubo_shapes"],
            }
            for key in ("optimal_count", "random_optimal_count", "p_optimal_sum"):
                if key in moves:
                    out[f"refine_{key}"] = moves[key]
            return new, out

        return refine_layer(W, fac, levels, scale, zero, grid.group_index(), move)

    def _round_block(
        self, w_block: torch.Tensor, u_block: torch.Tensor, s: torch.Tensor, z: torch.Tensor, maxq: int,
        tally: _Tally, start: int,
    ) -> torch.Tensor:
        """Levels for one block: the solver's answer, or GPTQ's where the two tie."""
        greedy, greedy_cost = greedy_block(w_block.clone(), u_block, s, z, maxq)
        prob = build_block_qubo(w_block, u_block, s, z, maxq, self.vars_per_weight, greedy)
        sol = self.solver.solve(prob)
        e_greedy = prob.energy(prob.greedy_bits)
        e_solver = sol.energy
        tol = 1e-9 * (e_greedy.abs() + e_solver.abs()) + 1e-12 * prob.A.diagonal().mean()
        keep = (e_solver - e_greedy).abs() <= tol
        chosen = torch.where(keep.unsqueeze(1), greedy, prob.levels(sol.bits).to(greedy.dtype))
        low = torch.floor(w_block.double() / s.double().unsqueeze(1) + z.double().unsqueeze(1)).clamp(0, maxq - 1)
        tally.add(prob, sol, e_greedy, e_solver, keep, low, greedy)
        if self.record_blocks:
            e_chosen = torch.where(keep, e_greedy, e_solver)
            self.blocks_.append(
                {
                    "start": start, "stop": start + w_block.shape[1], "energy_solver": e_solver * prob.scale2,
                    "energy_greedy": e_greedy * prob.scale2, "energy_chosen": e_chosen * prob.scale2,
                    "energy_greedy_direct": greedy_cost,
                    "levels": chosen.clone(), "greedy_levels": greedy.clone(),
                }
            )
        return chosen


class _Tally:
    """Per-layer counts for the JSON (how often the solver beat GPTQ, QAOA success, QUBO shapes).

    Kept as device tensors and read once per layer, so a GPU never waits on a block.
    """

    def __init__(self, rows: int, device: torch.device):
        z = {"dtype": torch.float64, "device": device}
        self.loss = torch.zeros(rows, **z)
        self.counts = torch.zeros(7, **z)  # improved, worse, shifted, optimal, random optimal, p_opt sum, gain
        self.qubos = 0
        self.has_optimal = False
        self.shapes: list[tuple[int, torch.Tensor, int]] = []

    def add(
        self, prob: BlockQubo, sol: Any, e_greedy: torch.Tensor, e_solver: torch.Tensor, keep: torch.Tensor,
        low: torch.Tensor, greedy: torch.Tensor,
    ) -> None:
        self.qubos += prob.rows
        outside = (greedy.double() < low) | (greedy.double() > low + 1)  # GPTQ left the round-down/up box
        parts = [
            ((e_solver < e_greedy) & ~keep).sum(),
            ((e_solver > e_greedy) & ~keep).sum(),
            outside.any(dim=1).sum(),
        ]
        if sol.optimal is not None:
            self.has_optimal = True
            zero = torch.zeros((), device=self.counts.device)
            parts += [
                sol.optimal.sum(),
                sol.extra["random_optimal"].sum() if "random_optimal" in sol.extra else zero,
                sol.extra["p_optimal"].sum() if "p_optimal" in sol.extra else zero,
            ]
        else:
            parts += [torch.zeros((), device=self.counts.device)] * 3
        parts.append((((e_greedy - e_solver) * prob.scale2)[~keep]).sum())
        self.counts += torch.stack([p.to(torch.float64) for p in parts])
        self.shapes.append((prob.n_variables, prob.couplings(), prob.rows))

    def summary(self) -> dict[str, Any]:
        n = max(self.qubos, 1)
        improved, worse, shifted, optimal, random_optimal, p_opt, gain = self.counts.tolist()
        shapes: Counter[tuple[int, int]] = Counter()
        nnz = torch.stack([c for _, c, _ in self.shapes]).tolist() if self.shapes else []
        for (q, _, rows), c in zip(self.shapes, nnz, strict=True):
            shapes[(q, int(c))] += rows
        out: dict[str, Any] = {
            "obs_loss": float(self.loss.sum()),
            "block_qubos": self.qubos,
            "better_than_gptq_fraction": improved / n,
            "worse_than_gptq_fraction": worse / n,
            "obs_gain_over_gptq_blocks": gain,
            "gptq_outside_floor_ceil_fraction": shifted / n,
            "qubo_shapes": [{"qubits": q, "couplings": c, "circuits": k} for (q, c), k in sorted(shapes.items())],
        }
        if self.has_optimal:
            out["optimal_count"] = int(optimal)
            out["random_optimal_count"] = int(random_optimal)
            out["p_optimal_sum"] = p_opt
        return out
