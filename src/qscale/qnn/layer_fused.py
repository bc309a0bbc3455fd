"""Hand-written forward and backward of the fused circuit program (a custom autograd Function).

`ExactPlan` describes a circuit as a short program on the (2^n, B) state: real block GEMMs (RY layers),
row gathers (CNOT patterns) and diagonal phase vectors. Autograd through those ops works (`ExactPlan.run`
is the reference) but allocates a fresh full state for every op and intermediate gradient, and at 16
qubits a 128 MiB state per op means page faults on every allocation. Here:
- the batch is cut into chunks of at most `CHUNK_BYTES` of state, so each chunk's working set stays
  in cache and its buffers are recycled by the allocator instead of being mapped afresh;
- the forward saves only what the backward needs (the input of every GEMM block);
- the backward applies the transposed blocks and inverse gathers into two scratch buffers, and forms
  the parameter gradients with one GEMM per block (dM = λ Xᵀ) and one batched dot per diagonal.
The small tensors it takes (block matrices, phase vectors, product-state factors) are built from the
weights and inputs by ordinary autograd ops, so the chain rule to weights and inputs is torch's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

CHUNK_BYTES = 2 * 2**20  # CPU: about one core's L2; CUDA runs the whole batch at once


@dataclass(frozen=True)
class Op:
    """One program step: ("gemm", lo, hi, k) applies real block matrix params[k] on qubits [lo, hi);
    ("gather", layer, -, -) permutes rows; ("diag", -, -, k) multiplies rows by complex params[k]."""

    kind: str
    a: int = 0
    b: int = 0
    k: int = 0


def _chunks(n: int, B: int, itemsize: int, device: torch.device) -> list[slice]:
    if device.type != "cpu":
        return [slice(0, B)]
    size = max(1, min(B, CHUNK_BYTES // (itemsize * 2**n)))
    return [slice(s, min(s + size, B)) for s in range(0, B, size)]


class FusedCircuit(torch.autograd.Function):
    """(2^n, B) final state of `program` applied to hi ⊗ lo (product state) or to psi0."""

    @staticmethod
    def forward(ctx, plan, program: list[Op], hi, lo, psi0, *params):
        n = plan.n
        B = (psi0 if psi0 is not None else hi).shape[-1]
        dtype = (psi0 if psi0 is not None else hi).dtype
        out = torch.empty((2**n, B), dtype=dtype, device=plan.device)
        saved: list[list[torch.Tensor]] = []
        chunks = _chunks(n, B, out.element_size(), out.device)
        for sl in chunks:
            psi = psi0[:, sl] if psi0 is not None else (hi[:, None, sl] * lo[None, :, sl]).reshape(2**n, -1)
            keep: list[torch.Tensor] = []
            for i, op in enumerate(program):
                if op.kind == "gather":
                    psi = psi.index_select(0, plan.perms[op.a][0])
                elif op.kind == "diag":
                    psi = psi * params[op.k][:, None]
                    if not _next_is_gemm(program, i):  # its backward needs the state after it
                        keep.append(psi)
                else:
                    keep.append(psi)
                    psi = _gemm(psi, params[op.k], n, op.a, op.b, transpose=False)
            out[:, sl] = psi
            saved.append(keep)
        ctx.plan, ctx.program, ctx.chunks, ctx.saved_states = plan, program, chunks, saved
        ctx.product = psi0 is None
        ctx.save_for_backward(hi, lo, *params)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        plan, program = ctx.plan, ctx.program
        n = plan.n
        hi, lo, *params = ctx.saved_tensors
        grads: list[torch.Tensor | None] = [None] * len(params)
        for k, p in enumerate(params):
            if ctx.needs_input_grad[5 + k]:
                grads[k] = torch.zeros_like(p)
        g_hi = torch.empty_like(hi) if ctx.product and ctx.needs_input_grad[2] else None
        g_lo = torch.empty_like(lo) if ctx.product and ctx.needs_input_grad[3] else None
        g_psi0 = torch.empty_like(grad_out) if not ctx.product and ctx.needs_input_grad[4] else None
        for sl, keep in zip(ctx.chunks, ctx.saved_states, strict=True):
            lam = grad_out[:, sl].contiguous()
            j = len(keep)
            for i in range(len(program) - 1, -1, -1):
                op = program[i]
                if op.kind == "gemm" or (op.kind == "diag" and not _next_is_gemm(program, i)):
                    j -= 1
                if op.kind == "gemm":
                    x = keep[j]
                    if grads[op.k] is not None:
                        grads[op.k] += _gemm_grad(lam, x, n, op.a, op.b)
                    lam = _gemm(lam, params[op.k], n, op.a, op.b, transpose=True)
                elif op.kind == "diag":
                    c = params[op.k]
                    if grads[op.k] is not None:
                        # χ = c·u is saved (the next GEMM's input, or kept after a trailing diagonal):
                        # dL/dc = Σ_b conj(u)·λ = c · Σ_b conj(χ)·λ since |c| = 1
                        grads[op.k] += c * torch.linalg.vecdot(keep[j], lam, dim=1)
                    lam = lam * c.conj()[:, None]
                else:
                    lam = lam.index_select(0, plan.perms[op.a][1])
            if g_psi0 is not None:
                g_psi0[:, sl] = lam
            if g_hi is not None or g_lo is not None:
                lam3 = lam.reshape(hi.shape[0], lo.shape[0], -1)
                if g_hi is not None:
                    g_hi[:, sl] = torch.linalg.vecdot(lo[None, :, sl], lam3, dim=1)
                if g_lo is not None:
                    g_lo[:, sl] = torch.linalg.vecdot(hi[:, None, sl], lam3, dim=0)
        return (None, None, g_hi, g_lo, g_psi0, *grads)


def _next_is_gemm(program: list[Op], i: int) -> bool:
    return i + 1 < len(program) and program[i + 1].kind == "gemm"


def _gemm(psi: torch.Tensor, m: torch.Tensor, n: int, lo: int, hi: int, transpose: bool) -> torch.Tensor:
    """Real block matrix m (d, d) (or mᵀ) on qubits [lo, hi) of the complex state, as one (batched) GEMM."""
    B = psi.shape[-1]
    d, A = m.shape[0], 2 ** (n - hi)
    r = torch.view_as_real(psi)
    mt = m.T if transpose else m
    y = torch.mm(mt, r.reshape(d, -1)) if A == 1 else torch.bmm(mt.expand(A, d, d), r.reshape(A, d, -1))
    return torch.view_as_complex(y.reshape(2**n, B, 2))


def _gemm_grad(lam: torch.Tensor, x: torch.Tensor, n: int, lo: int, hi: int) -> torch.Tensor:
    """dL/dm = Σ λ_blocks · x_blocksᵀ over every block row and column (real parts of the complex pairs)."""
    B = lam.shape[-1]
    d, A = 2 ** (hi - lo), 2 ** (n - hi)
    lr = torch.view_as_real(lam)
    xr = torch.view_as_real(x)
    if A == 1:
        return torch.mm(lr.reshape(d, -1), xr.reshape(d, -1).T)
    cols = (2**lo) * B * 2
    return torch.bmm(lr.reshape(A, d, cols), xr.reshape(A, d, cols).transpose(1, 2)).sum(0)
