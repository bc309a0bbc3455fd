"""Density-matrix tools in torch: unitaries on chosen qubits, partial trace, and the DME partial-swap channel.

Why a separate module: density-matrix exponentiation (DME, Lloyd-Mohseni-Rebentrost 2014) is a *channel*,
not a unitary on the register we keep (each step consumes a fresh copy of rho and discards it), so the state
vector simulator cannot run it. Conventions follow the rest of qscale: qubit 0 is the least significant bit
of a basis index, and a matrix acting on `qubits` has qubits[0] as its least significant index bit (as
`Circuit.unitary`). In a two-register product the register on the higher qubits is the left Kronecker
factor: `kron(copy, system)` puts the system on qubits 0..m-1.

Two routes to one DME step, tested against each other:
* `dme_step_exact`: build sigma (x) rho, apply exp(-i S dt) with S the register swap, trace out the copy.
  Memory grows as d^4, so it is for small checks only.
* `dme_step`: the closed form of the same contraction (Lloyd, Mohseni & Rebentrost, Nat. Phys. 10, 631 (2014),
  arXiv 1307.0401):
  sigma -> cos^2(dt) sigma + sin^2(dt) Tr(sigma) rho - i sin(dt) cos(dt) [rho, sigma].
The controlled step (control qubit above both registers) acts blockwise on |a><a'| (x) B_aa', see
`controlled_dme_step`; `controlled_dme_powers` composes n identical steps exactly by repeated squaring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from qscale.errors import QscaleUserError
from qscale.quantum.device import resolve_device, resolve_dtype


def as_tensor(x: object, dtype: str | torch.dtype = torch.complex128, device: str | torch.device = "cpu"):
    """A complex tensor copy of an array-like (numpy, list or tensor)."""
    dtype, device = resolve_dtype(dtype), resolve_device(device)
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.to(device=device, dtype=dtype).clone()


def _kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """torch.kron on materialised operands (it rejects some strided and lazily-conjugated views)."""
    return torch.kron(a.resolve_conj().contiguous(), b.resolve_conj().contiguous())


def n_qubits_of(rho: torch.Tensor) -> int:
    """Number of qubits of a square 2^n x 2^n matrix (user error otherwise)."""
    if rho.ndim < 2 or rho.shape[-1] != rho.shape[-2]:
        raise QscaleUserError(f"a density matrix must be square, got shape {tuple(rho.shape)}")
    d = rho.shape[-1]
    n = d.bit_length() - 1
    if d < 2 or 2**n != d:
        raise QscaleUserError(f"density matrix dimension must be a power of two >= 2, got {d}")
    return n


def _check_qubits(qubits: Sequence[int], n: int) -> list[int]:
    qs = [int(q) for q in qubits]
    if len(set(qs)) != len(qs) or any(not 0 <= q < n for q in qs):
        raise QscaleUserError(f"qubits {qs} are not distinct indices in range(0, {n})")
    return qs


def apply_unitary(rho: torch.Tensor, u: torch.Tensor, qubits: Sequence[int]) -> torch.Tensor:
    """U rho U^dagger with U acting on `qubits` (qubits[0] = least significant bit of U's index)."""
    n = n_qubits_of(rho)
    qs = _check_qubits(qubits, n)
    k = len(qs)
    u = u.to(dtype=rho.dtype, device=rho.device).contiguous()
    if u.shape != (2**k, 2**k):
        raise QscaleUserError(f"a unitary on {k} qubit(s) must be {2**k}x{2**k}, got {tuple(u.shape)}")
    # rho as (2,)*n rows then (2,)*n columns; axis i of each half is qubit n-1-i.
    t = rho.contiguous().reshape((2,) * (2 * n))
    ut = u.reshape((2,) * (2 * k))  # axes: out q_{k-1}..q_0, in q_{k-1}..q_0
    row_axes = [n - 1 - q for q in reversed(qs)]
    t = torch.tensordot(ut, t, dims=(list(range(k, 2 * k)), row_axes))
    t = torch.movedim(t, list(range(k)), row_axes)
    col_axes = [n + a for a in row_axes]
    t = torch.tensordot(t, ut.conj(), dims=(col_axes, list(range(k, 2 * k))))
    t = torch.movedim(t, list(range(2 * n - k, 2 * n)), col_axes)
    return t.reshape(2**n, 2**n)


def partial_trace(rho: torch.Tensor, keep: Sequence[int]) -> torch.Tensor:
    """Reduced density matrix on the qubits `keep` (returned in ascending qubit order)."""
    n = n_qubits_of(rho)
    kept = sorted(_check_qubits(keep, n))
    t = rho.contiguous().reshape((2,) * (2 * n))
    remaining = list(range(n - 1, -1, -1))  # qubit of each row axis (then the same for columns)
    for q in [p for p in range(n) if p not in kept]:
        axis, m = remaining.index(q), len(remaining)
        t = torch.diagonal(t, dim1=axis, dim2=m + axis).sum(-1)
        remaining.remove(q)
    dk = 2 ** len(kept)
    return t.reshape(dk, dk)


def swap_operator(m: int, dtype: str | torch.dtype = torch.complex128, device: str | torch.device = "cpu"):
    """S on 2m qubits exchanging register 0..m-1 with register m..2m-1: S |i>|j> = |j>|i>."""
    d = 2**m
    idx = torch.arange(d * d, device=resolve_device(device))
    hi, lo = idx // d, idx % d
    s = torch.zeros(d * d, d * d, dtype=resolve_dtype(dtype), device=resolve_device(device))
    s[lo * d + hi, idx] = 1
    return s


def partial_swap_unitary(m: int, dt: float, dtype=torch.complex128, device="cpu") -> torch.Tensor:
    """exp(-i S dt) = cos(dt) I - i sin(dt) S, exactly (S^2 = I), on 2m qubits."""
    s = swap_operator(m, dtype, device)
    eye = torch.eye(s.shape[0], dtype=s.dtype, device=s.device)
    return math.cos(dt) * eye - 1j * math.sin(dt) * s


def dme_step_exact(sigma: torch.Tensor, rho: torch.Tensor, dt: float) -> torch.Tensor:
    """One DME step by brute force: Tr_copy[exp(-iS dt) (rho_copy (x) sigma) exp(iS dt)]."""
    m = n_qubits_of(sigma)
    if rho.shape != sigma.shape:
        raise QscaleUserError(f"sigma {tuple(sigma.shape)} and rho {tuple(rho.shape)} differ in shape")
    joint = _kron(rho.to(sigma.dtype), sigma)
    u = partial_swap_unitary(m, dt, sigma.dtype, sigma.device)
    out = u @ joint @ u.mH
    return partial_trace(out, range(m))


def dme_step(sigma: torch.Tensor, rho: torch.Tensor, dt: float) -> torch.Tensor:
    """One DME step in closed form: cos^2 sigma + sin^2 Tr(sigma) rho - i sin cos [rho, sigma] (batched)."""
    c, s = math.cos(dt), math.sin(dt)
    rho = rho.to(sigma.dtype)
    tr = torch.diagonal(sigma, dim1=-2, dim2=-1).sum(-1)[..., None, None]
    comm = rho @ sigma - sigma @ rho
    return c * c * sigma + s * s * tr * rho - 1j * s * c * comm


def dme_evolve(sigma: torch.Tensor, rho: torch.Tensor, t: float, steps: int) -> torch.Tensor:
    """`steps` DME steps of dt = t/steps (one copy of rho each): approximates exp(-i rho t) sigma exp(i rho t)."""
    if steps < 1:
        raise QscaleUserError(f"DME needs at least one step, got {steps}")
    out = sigma
    for _ in range(steps):
        out = dme_step(out, rho, t / steps)
    return out


def unitary_evolve(sigma: torch.Tensor, rho: torch.Tensor, t: float) -> torch.Tensor:
    """The exact target exp(-i rho t) sigma exp(i rho t) (for comparison with DME only)."""
    u = torch.linalg.matrix_exp(-1j * t * rho.to(sigma.dtype))
    return u @ sigma @ u.mH


def trace_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """(1/2) ||a - b||_1 for Hermitian a, b."""
    diff = a - b
    diff = (diff + diff.mH) / 2
    return float(0.5 * torch.linalg.eigvalsh(diff).abs().sum())


def controlled_dme_step(blocks: torch.Tensor, rho: torch.Tensor, dt: float) -> torch.Tensor:
    """One controlled DME step on a control qubit (x) system state given as blocks (..., 2, 2, d, d).

    blocks[..., a, a'] is the system operator next to |a><a'| of the control. Tracing the copy out of
    controlled-exp(-iS dt) gives: (0,0) unchanged; (1,0) c B - i s rho B; (0,1) c B + i s B rho;
    (1,1) the uncontrolled step. (Tr_c[S (B (x) rho)] = rho B and Tr_c[(B (x) rho) S] = B rho.)
    """
    c, s = math.cos(dt), math.sin(dt)
    rho = rho.to(blocks.dtype)
    out = blocks.clone()
    b10, b01 = blocks[..., 1, 0, :, :], blocks[..., 0, 1, :, :]
    out[..., 1, 0, :, :] = c * b10 - 1j * s * (rho @ b10)
    out[..., 0, 1, :, :] = c * b01 + 1j * s * (b01 @ rho)
    out[..., 1, 1, :, :] = dme_step(blocks[..., 1, 1, :, :], rho, dt)
    return out


def dme_superoperator(rho: torch.Tensor, dt: float) -> torch.Tensor:
    """The (d^2 x d^2) matrix of one DME step acting on row-major vec(sigma).

    sigma -> A sigma A^dagger - s^2 rho sigma rho + s^2 Tr(sigma) rho with A = c I - i s rho, which
    expands to the closed form of `dme_step`.
    """
    c, s = math.cos(dt), math.sin(dt)
    d = rho.shape[-1]
    eye = torch.eye(d, dtype=rho.dtype, device=rho.device)
    a = c * eye - 1j * s * rho
    refill = torch.outer(rho.reshape(-1), eye.reshape(-1))
    return _kron(a, a.conj()) - s * s * _kron(rho, rho.mT) + s * s * refill


def matrix_power(m: torch.Tensor, n: int) -> torch.Tensor:
    """m^n by binary exponentiation (n >= 0): log2(n) squarings, exact up to rounding (~n * eps)."""
    if n < 0:
        raise QscaleUserError(f"matrix power must be >= 0, got {n}")
    result = torch.eye(m.shape[-1], dtype=m.dtype, device=m.device)
    base = m
    first = True
    while n:
        if n & 1:
            result = base.clone() if first else result @ base
            first = False
        n >>= 1
        if n:
            base = base @ base
    return result


def controlled_dme_powers(rho: torch.Tensor, dt: float, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(A^n, Phi^n): the (1,0)-block left factor and the (1,1)-block superoperator after n steps.

    Block (0,1) is then B (A^n)^dagger and block (0,0) is unchanged.
    """
    c, s = math.cos(dt), math.sin(dt)
    eye = torch.eye(rho.shape[-1], dtype=rho.dtype, device=rho.device)
    return matrix_power(c * eye - 1j * s * rho, n), matrix_power(dme_superoperator(rho, dt), n)
