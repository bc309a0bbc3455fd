"""The quantization grid shared by every method: asymmetric min-max levels per row or per column group.

GPTQ's convention (IST-DASLab/gptq `Quantizer`, sym=False): the range of a row always contains 0,
scale = (max - min) / maxq, zero = round(-min / scale), level = clamp(round(w / scale) + zero, 0, maxq),
value = scale * (level - zero). An all-zero row gets the range [-1, 1] so its scale is never 0.
"""

from __future__ import annotations

import torch

from qscale.errors import QscaleUserError
from qscale.validation import check_int

MIN_BITS, MAX_BITS = 2, 8


def check_bits(bits: int) -> int:
    """Levels are stored as uint8 and a 1-bit min-max grid is degenerate, hence 2..8."""
    return check_int(bits, "--bits", min=MIN_BITS, max=MAX_BITS)


def check_group_size(group_size: int | None) -> int | None:
    if group_size is not None and (isinstance(group_size, bool) or group_size < 1):
        raise QscaleUserError(f"--group-size must be a positive integer, got {group_size!r}")
    return group_size


def minmax_params(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and zero point per row of `w` (rows, cols); both returned with shape (rows,)."""
    maxq = 2**bits - 1
    zero_t = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
    xmin = torch.minimum(w.min(dim=1).values, zero_t)
    xmax = torch.maximum(w.max(dim=1).values, zero_t)
    flat = (xmin == 0) & (xmax == 0)
    xmin = torch.where(flat, -torch.ones_like(xmin), xmin)
    xmax = torch.where(flat, torch.ones_like(xmax), xmax)
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    return scale, zero


def quantize_levels(w: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, maxq: int) -> torch.Tensor:
    """Nearest grid level (as a float tensor holding integers); scale/zero broadcast against w."""
    return torch.clamp(torch.round(w / scale) + zero, 0, maxq)


def dequantize(levels: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    return scale * (levels - zero)


def lazy_batch_size(group_size: int | None, default: int = 128) -> int:
    """GPTQ's lazy batch (128 columns), changed only so a group never straddles two batches.

    Then a group's grid can always be read from up-to-date weights (see GroupGrid.start).
    """
    if group_size is None or default % group_size == 0 or group_size % default == 0:
        return default
    return group_size


class GroupGrid:
    """Per-row grid parameters as quantization walks the columns (in processing order).

    With group_size=None one (scale, zero) per row comes from the whole weight; otherwise a new one
    starts every group_size columns, computed from the current (error-updated) weights of that group,
    as GPTQ does.
    """

    def __init__(self, weight: torch.Tensor, bits: int, group_size: int | None):
        self.bits = bits
        self.maxq = 2**bits - 1
        self.group_size = group_size
        self.columns = weight.shape[1]
        self.scales: list[torch.Tensor] = []
        self.zeros: list[torch.Tensor] = []
        if group_size is None:
            self._set(*minmax_params(weight, bits))

    def _set(self, scale: torch.Tensor, zero: torch.Tensor) -> None:
        self.scale, self.zero = scale.unsqueeze(1), zero.unsqueeze(1)
        self.scales.append(scale)
        self.zeros.append(zero)

    def starts_group(self, column: int) -> bool:
        return self.group_size is not None and column % self.group_size == 0

    def start(self, current: torch.Tensor) -> None:
        """Begin a group from the current values of its columns (rows, <= group_size)."""
        self._set(*minmax_params(current, self.bits))

    def group_index(self) -> torch.Tensor:
        """Group of each column in processing order."""
        if self.group_size is None:
            return torch.zeros(self.columns, dtype=torch.long)
        return torch.arange(self.columns) // self.group_size

    def stacked(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, groups) scale and zero tensors."""
        return torch.stack(self.scales, 1), torch.stack(self.zeros, 1)


def group_values(W1: torch.Tensor, W: torch.Tensor, i1: int, i2: int, column: int, size: int) -> torch.Tensor:
    """Current values of columns [column, column+size): in-batch ones from W1, later ones from W."""
    inside = W1[:, column - i1 : min(column + size, i2) - i1]
    if column + size <= i2:
        return inside
    return torch.cat([inside, W[:, i2 : column + size]], dim=1)
