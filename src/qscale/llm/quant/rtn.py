"""Round-to-nearest: the baseline that ignores the inputs (no Hessian, no error feedback)."""

from __future__ import annotations

from typing import Any

import torch

from qscale.llm.quant.base import LayerQuantizer, QuantizedWeight, finish
from qscale.llm.quant.grid import GroupGrid, quantize_levels


class RTNQuantizer(LayerQuantizer):
    method = "rtn"
    needs_hessian = False

    def _quantize(self, W: torch.Tensor, H: torch.Tensor | None) -> tuple[QuantizedWeight, dict[str, Any]]:
        grid = GroupGrid(W, self.bits, self.group_size)
        levels = torch.empty_like(W)
        step = self.group_size or W.shape[1]
        for c in range(0, W.shape[1], step):
            if grid.starts_group(c):
                grid.start(W[:, c : c + step])
            levels[:, c : c + step] = quantize_levels(W[:, c : c + step], grid.scale, grid.zero, grid.maxq)
        scale, zero = grid.stacked()
        return finish(levels, scale, zero, grid.group_index(), None, self.bits, self.group_size), {}
