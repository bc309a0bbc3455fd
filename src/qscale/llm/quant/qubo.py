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

from itertools import pairwise
from typing import Any

import torch

from qscale.errors import QscaleUserError
from qscale.llm.quant.base import LayerQuantizer, QuantizedWeight, finish
from qscale.llm.quant.block import BlockTally, build_block_qubo
from qscale.llm.quant.grid import GroupGrid, dequantize, group_values, lazy_batch_size, quantize_levels
from qscale.llm.quant.hessian import check_damping, factorize
from qscale.llm.quant.refine import check_refine, refine_layer, refine_levels
from qscale.llm.quant.solvers import BlockSolver, make_solver
from qscale.validation import check_int


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
        check_int(block, "--block", min=1)
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
        fac = factorize(W, H.to(W.device), self.percdamp, self.act_order, self.group_size)
        original = fac.weight.clone() if self.refine else None  # the loop below updates fac.weight in place
        W, U = fac.weight, fac.hinv_upper
        cols = W.shape[1]
        grid = GroupGrid(W, self.bits, self.group_size)
        levels = torch.zeros_like(W)
        tally = BlockTally(W.shape[0], W.device)
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
        tally = BlockTally(W.shape[0], W.device)
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
        tally: BlockTally, start: int,
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
