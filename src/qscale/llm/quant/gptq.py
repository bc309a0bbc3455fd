"""GPTQ (Frantar et al. 2022): quantize column by column, spreading each column's error over the rest.

Written from the paper's algorithm: H = 2XXᵀ/n, 1% damping of mean(diag H), U = chol(H⁻¹) upper,
lazy batches of 128 columns, optional act-order. Per row this is Babai's nearest-plane rounding of the
OBS objective, which is what the QUBO quantizer's `greedy` solver must reproduce bit for bit.
"""

from __future__ import annotations

from typing import Any

import torch

from qscale.llm.quant.base import LayerQuantizer, QuantizedWeight, finish
from qscale.llm.quant.grid import GroupGrid, dequantize, group_values, lazy_batch_size, quantize_levels
from qscale.llm.quant.hessian import check_damping, factorize
from qscale.llm.quant.refine import check_refine, coordinate_descent, refine_layer


class GPTQQuantizer(LayerQuantizer):
    """GPTQ; refine > 0 adds that many sweeps of cyclic coordinate descent on the damped layer loss."""

    method = "gptq"

    def __init__(
        self, bits: int = 4, group_size: int | None = None, act_order: bool = False, percdamp: float = 0.01,
        refine: int = 0,
    ):
        super().__init__(bits, group_size)
        self.act_order = bool(act_order)
        self.percdamp = check_damping(percdamp)
        self.refine = check_refine(refine)

    def _quantize(self, W: torch.Tensor, H: torch.Tensor | None) -> tuple[QuantizedWeight, dict[str, Any]]:
        assert H is not None
        fac = factorize(W, H.to(W.device), self.percdamp, self.act_order, self.group_size)
        original = fac.weight.clone() if self.refine else None  # the loop below updates fac.weight in place
        W, U = fac.weight, fac.hinv_upper
        rows, cols = W.shape
        grid = GroupGrid(W, self.bits, self.group_size)
        levels = torch.zeros_like(W)
        loss = torch.zeros(rows, dtype=torch.float64, device=W.device)
        lazy = lazy_batch_size(self.group_size)
        for i1 in range(0, cols, lazy):
            i2 = min(i1 + lazy, cols)
            W1 = W[:, i1:i2].clone()
            Err1 = torch.zeros_like(W1)
            U1 = U[i1:i2, i1:i2]
            for i in range(i2 - i1):
                if grid.starts_group(i1 + i):
                    grid.start(group_values(W1, W, i1, i2, i1 + i, self.group_size or 0))
                w = W1[:, i]
                lev = quantize_levels(w, grid.scale[:, 0], grid.zero[:, 0], grid.maxq)
                q = dequantize(lev, grid.scale[:, 0], grid.zero[:, 0])
                err = (w - q) / U1[i, i]
                W1[:, i:] -= err.unsqueeze(1) @ U1[i, i:].unsqueeze(0)
                Err1[:, i] = err
                levels[:, i1 + i] = lev
                loss += err.to(torch.float64) ** 2
            W[:, i2:] -= Err1 @ U[i1:i2, i2:]
        scale, zero = grid.stacked()
        stats = {"obs_loss": float(loss.sum()), "damp": fac.damp, "dead_columns": fac.dead_columns}
        if original is not None:

            def move(W, H, levels, S, Z):
                new, moves = coordinate_descent(W, H, levels, S, Z, grid.maxq, self.refine)
                return new, {"refine_sweeps": self.refine, "refine_moves": moves}

            levels, more = refine_layer(original, fac, levels, scale, zero, grid.group_index(), move)
            stats |= more
        result = finish(levels, scale, zero, grid.group_index(), fac.perm, self.bits, self.group_size)
        return result, stats
