"""One interface for every layer quantizer, in scikit-learn style: configure, `fit(W, H)`, read `*_`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import torch

from qscale.errors import QscaleUserError
from qscale.llm.quant.grid import check_bits, check_group_size, dequantize


@dataclass
class QuantizedWeight:
    """A quantized weight in its original column order: value = scale[r, g_idx[c]] * (codes[r, c] - zero[...])."""

    weight: torch.Tensor  # (rows, cols) float32, the de-quantized values the model runs with
    codes: torch.Tensor  # (rows, cols) uint8 grid levels
    scale: torch.Tensor  # (rows, groups)
    zero: torch.Tensor  # (rows, groups)
    g_idx: torch.Tensor  # (cols,) group of each column
    bits: int
    group_size: int | None

    def dequantize(self) -> torch.Tensor:
        """Rebuild the weight from codes and grid (a check that the saved grid is complete)."""
        idx = self.g_idx.to(self.scale.device)
        return dequantize(self.codes.to(self.scale.dtype), self.scale[:, idx], self.zero[:, idx])


def finish(
    levels: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, g_idx: torch.Tensor, perm: torch.Tensor | None,
    bits: int, group_size: int | None,
) -> QuantizedWeight:
    """Undo the act-order permutation and package levels + grid as a QuantizedWeight."""
    if perm is not None:
        inv = torch.argsort(perm)
        levels, g_idx = levels[:, inv.to(levels.device)], g_idx[inv.cpu()]
        scale, zero, g_idx = _groups_in_column_order(scale, zero, g_idx)
    weight = dequantize(levels, scale[:, g_idx.to(scale.device)], zero[:, g_idx.to(zero.device)])
    return QuantizedWeight(
        weight=weight.float(), codes=levels.to(torch.uint8), scale=scale.float(), zero=zero.float(),
        g_idx=g_idx.cpu(), bits=bits, group_size=group_size,
    )


def _groups_in_column_order(
    scale: torch.Tensor, zero: torch.Tensor, g_idx: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Number the groups by their first column, when each holds one contiguous range of columns.

    Act-order keeps groups whole (hessian.act_order_perm), so afterwards g_idx is c // group_size as in
    a checkpoint without act-order; the grids are only reordered, nothing is recomputed.
    """
    order = torch.unique_consecutive(g_idx)
    if order.numel() != scale.shape[1]:  # some group is split: keep the processing-order numbering
        return scale, zero, g_idx
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel())
    idx = order.to(scale.device)
    return scale[:, idx], zero[:, idx], rank[g_idx]


class LayerQuantizer(ABC):
    """Quantize one linear layer's weight (rows = outputs, cols = inputs) given its input Hessian.

    Fitted attributes: `quantized_` (QuantizedWeight), `weight_` (de-quantized tensor), `stats_` (dict).
    """

    method: ClassVar[str]
    needs_hessian: ClassVar[bool] = True

    def __init__(self, bits: int = 4, group_size: int | None = None):
        self.bits = check_bits(bits)
        self.group_size = check_group_size(group_size)

    def fit(self, weight: torch.Tensor, hessian: torch.Tensor | None = None) -> Self:
        W = self._check_weight(weight)
        H = self._check_hessian(hessian, W.shape[1])
        self.quantized_, self.stats_ = self._quantize(W, H)
        return self

    @property
    def weight_(self) -> torch.Tensor:
        return self.quantized_.weight

    @abstractmethod
    def _quantize(self, W: torch.Tensor, H: torch.Tensor | None) -> tuple[QuantizedWeight, dict[str, Any]]: ...

    @staticmethod
    def _check_weight(weight: torch.Tensor) -> torch.Tensor:
        if not isinstance(weight, torch.Tensor) or weight.ndim != 2 or weight.numel() == 0:
            raise QscaleUserError("a weight to quantize must be a non-empty 2-D tensor (outputs x inputs)")
        if not torch.isfinite(weight).all():
            raise QscaleUserError("the weight contains NaN or infinite values")
        return weight.detach().to(torch.float32).clone()

    def _check_hessian(self, hessian: torch.Tensor | None, cols: int) -> torch.Tensor | None:
        if hessian is None:
            if self.needs_hessian:
                raise QscaleUserError(f"{self.method} needs the layer's input Hessian (cols x cols)")
            return None
        if hessian.shape != (cols, cols):
            raise QscaleUserError(f"Hessian shape {tuple(hessian.shape)} does not match {cols} weight columns")
        if not torch.isfinite(hessian).all():
            raise QscaleUserError("the Hessian contains NaN or infinite values")
        return hessian.detach().to(torch.float64).clone()
