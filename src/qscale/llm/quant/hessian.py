"""The layer Hessian H = 2·XXᵀ/n that GPTQ and the QUBO blocks minimise against, and its factorisation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from qscale.errors import QscaleUserError


class HessianAccumulator:
    """Accumulates XᵀX in float64 over calibration batches, so token count does not cost precision."""

    def __init__(self, columns: int, device: torch.device | str = "cpu"):
        self.xtx = torch.zeros(columns, columns, dtype=torch.float64, device=device)
        self.count = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1, self.xtx.shape[0]).to(torch.float32)
        self.xtx += (x.T @ x).to(torch.float64)
        self.count += x.shape[0]

    @property
    def hessian(self) -> torch.Tensor:
        if self.count == 0:
            raise RuntimeError("no inputs were recorded for this layer")
        return 2.0 * self.xtx / self.count


def relative_error(weight: torch.Tensor, quantized: torch.Tensor, hessian: torch.Tensor) -> float:
    """‖(W−Q)X‖² / ‖WX‖² from H ∝ XXᵀ (the factor cancels), on the inputs H was recorded from."""
    H = hessian.to(torch.float64)
    W = weight.to(H.device, torch.float64)
    D = W - quantized.to(H.device, torch.float64)
    den = float(((W @ H) * W).sum())
    return float(((D @ H) * D).sum()) / den if den > 0 else 0.0


@dataclass
class Factorized:
    """What the GPTQ column loop needs, in processing order (act-order permutes the columns)."""

    weight: torch.Tensor  # (rows, cols) float32, dead columns zeroed, permuted
    hinv_upper: torch.Tensor  # (cols, cols) float32: U with H_damped⁻¹ = UᵀU
    hessian: torch.Tensor  # (cols, cols) float64: damped and permuted H
    perm: torch.Tensor | None
    damp: float
    dead_columns: int


def act_order_perm(diag: torch.Tensor, group_size: int | None = None) -> torch.Tensor:
    """GPTQ's activation order: columns by decreasing diag(H), the inputs with the most energy first.

    With column groups every group stays whole: groups go by their largest diag(H), and columns by
    diag(H) inside each. Each group then keeps one contiguous range of the original columns, so a
    checkpoint needs no per-column group index (compressed-tensors 0.20 dropped g_idx, its `group`
    act-order), and a QUBO block (inside one group) keeps one grid per row.
    """
    if group_size is None or group_size >= diag.numel():
        return torch.argsort(diag, descending=True)
    groups = torch.arange(diag.numel(), device=diag.device) // group_size
    top = torch.full((int(groups[-1]) + 1,), -torch.inf, dtype=diag.dtype, device=diag.device)
    top = top.scatter_reduce(0, groups, diag, "amax")
    if diag.numel() % group_size:  # a short last group stays last, so groups start at multiples of group_size
        top[-1] = -torch.inf
    rank = torch.empty_like(groups)
    rank[torch.argsort(top, descending=True)] = torch.arange(top.numel(), device=diag.device)
    within = torch.argsort(diag, descending=True, stable=True)  # by diag, then a stable sort by group rank
    return within[torch.argsort(rank[groups[within]], stable=True)]


def factorize(
    W: torch.Tensor, H: torch.Tensor, percdamp: float = 0.01, act_order: bool = False, group_size: int | None = None,
) -> Factorized:
    """GPTQ's set-up: zero dead inputs, order by diag(H) if act-order, damp, and take chol(H⁻¹) upper.

    If the damped H is still not positive definite the damping grows tenfold (at most 4 times).
    """
    W = W.clone()
    H = H.to(torch.float64).clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead.to(W.device)] = 0.0
    perm = None
    if act_order:
        perm = act_order_perm(torch.diag(H), group_size)
        W, H = W[:, perm.to(W.device)], H[perm][:, perm]
    mean_diag = float(torch.mean(torch.diag(H)))
    eye = torch.eye(H.shape[0], dtype=H.dtype, device=H.device)
    for attempt in range(5):
        damp = percdamp * mean_diag * 10**attempt
        Hd = H + damp * eye
        chol, info = torch.linalg.cholesky_ex(Hd)
        if int(info) == 0:
            hinv = torch.cholesky_inverse(chol)
            upper, info = torch.linalg.cholesky_ex(hinv, upper=True)
            if int(info) == 0:
                return Factorized(W, upper.to(W.dtype).to(W.device), Hd, perm, damp, int(dead.sum()))
    raise QscaleUserError("the layer Hessian is not positive definite even with 10000x damping")


def check_damping(percdamp: float) -> float:
    if not 0 < percdamp < 1:
        raise QscaleUserError(f"damping must be a fraction in (0, 1), got {percdamp!r}")
    return percdamp
