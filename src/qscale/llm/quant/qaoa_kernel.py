"""A small batched QAOA simulator for many tiny QUBOs at once (one row of a weight block each).

Kept apart from the solver so it can be swapped for qscale.quantum.qaoa_engine. Conventions (docs/design.md):
start |+>^n; cost layer exp(−iγ·C) with C the (normalised) QUBO energy as a diagonal; mixer exp(−iβ·ΣX);
qubit i is bit i of the basis index. Each row's diagonal is normalised to mean 0 and standard deviation 1
over all assignments; both moments of a QUBO over uniform bits have closed forms in Q and L, so this
needs no enumeration on hardware, and it lets one angle set serve every row.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import minimize


def normalise(diag: torch.Tensor) -> torch.Tensor:
    """(E − mean) / std per row, over all 2^n assignments."""
    mean = diag.mean(dim=1, keepdim=True)
    std = diag.std(dim=1, correction=0, keepdim=True)
    return (diag - mean) / torch.where(std > 0, std, torch.ones_like(std))


def _mix(psi: torch.Tensor, beta: torch.Tensor, n: int) -> torch.Tensor:
    """exp(−iβX) on every qubit: view the state as (rows, 2, ..., 2) and flip each axis."""
    shape = psi.shape
    view = psi.reshape((shape[0],) + (2,) * n)
    c, s = torch.cos(beta), -1j * torch.sin(beta)
    for axis in range(1, n + 1):
        view = c * view + s * torch.flip(view, dims=(axis,))
    return view.reshape(shape)


def qaoa_state(diag: torch.Tensor, gammas: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """Final QAOA states (rows, 2^n) for normalised cost diagonals (rows, 2^n); differentiable in the angles."""
    rows, dim = diag.shape
    n = int(math.log2(dim))
    cdtype = torch.complex128 if diag.dtype == torch.float64 else torch.complex64
    psi = torch.full((rows, dim), 1.0 / math.sqrt(dim), dtype=cdtype, device=diag.device)
    for gamma, beta in zip(gammas, betas, strict=True):
        psi = psi * torch.exp(-1j * gamma * diag)
        psi = _mix(psi, beta, n)
    return psi


def probabilities(diag: torch.Tensor, gammas: np.ndarray, betas: np.ndarray) -> torch.Tensor:
    g = torch.as_tensor(gammas, dtype=diag.dtype, device=diag.device)
    b = torch.as_tensor(betas, dtype=diag.dtype, device=diag.device)
    return qaoa_state(diag, g, b).abs() ** 2


def linear_ramp(p: int, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear-ramp angles (γ rising, β falling), the usual start for annealing-like QAOA."""
    frac = (np.arange(p) + 0.5) / p
    return delta * frac, delta * (1.0 - frac)


def optimise_angles(diag: torch.Tensor, p: int, deltas: tuple[float, ...] = (0.4, 0.8, 1.2)) -> dict:
    """One shared angle set minimising the mean expected normalised energy over sample rows.

    L-BFGS-B (scipy) with autograd gradients, started from a few linear ramps; returns the best.
    """
    best: dict | None = None

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = torch.tensor(theta, dtype=diag.dtype, device=diag.device, requires_grad=True)
        probs = qaoa_state(diag, t[:p], t[p:]).abs() ** 2
        value = (probs * diag).sum(dim=1).mean()
        value.backward()
        return float(value.detach()), t.grad.detach().cpu().numpy().astype(float)

    for delta in deltas:
        g0, b0 = linear_ramp(p, delta)
        res = minimize(objective, np.concatenate([g0, b0]), jac=True, method="L-BFGS-B", options={"maxiter": 200})
        if best is None or res.fun < best["expectation"]:
            best = {"gammas": res.x[:p], "betas": res.x[p:], "expectation": float(res.fun), "start_delta": delta}
    assert best is not None
    return best
