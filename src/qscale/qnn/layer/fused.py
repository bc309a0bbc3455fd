"""Hand-written forward and backward of the fused circuit program (a custom autograd Function).

`ExactPlan` describes a circuit as a short program on the (2^n, B) state: real block GEMMs (RY layers),
row gathers (CNOT patterns) and diagonal phase vectors. Autograd through those ops works (`ExactPlan.run`
is the reference) but allocates a fresh full state for every op and intermediate gradient, and at 16
qubits a 128 MiB state per op means page faults on every allocation. Here:
- the batch is cut into chunks of at most `CHUNK_BYTES` of state, so each chunk's working set stays
  in cache and its buffers are recycled by the allocator instead of being mapped afresh; on CPU the
  chunks run on one single-threaded worker per torch thread (`map_chunks`), so no op waits at a
  thread barrier;
- with an I/Z read-out, signs @ |ψ|² is computed inside the chunk too (λ = 2ψ·signsᵀg backward);
- the forward saves only what the backward needs (the input of every GEMM block);
- the backward applies the transposed blocks and inverse gathers into two scratch buffers, and forms
  the parameter gradients with one GEMM per block (dM = λ Xᵀ) and one batched dot per diagonal.
The small tensors it takes (block matrices, phase vectors, product-state factors) are built from the
weights and inputs by ordinary autograd ops, so the chain rule to weights and inputs is torch's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

CHUNK_BYTES = 2 * 2**20  # CPU: about one core's L2; CUDA runs the whole batch at once
MIN_CHUNK = 32


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
    # at least MIN_CHUNK samples, so the lowest qubit block's GEMM still has 2·MIN_CHUNK columns
    return split_batch(B, max(MIN_CHUNK, CHUNK_BYTES // (itemsize * 2**n)))


def split_batch(B: int, size: int) -> list[slice]:
    """Slices of at most `size` samples, and at least one per torch thread (each runs on its own worker)."""
    threads = torch.get_num_threads()
    if threads > 1:
        size = min(size, -(-B // threads))
    size = max(1, min(size, B))
    return [slice(s, min(s + size, B)) for s in range(0, B, size)]


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _one_thread(fn, arg):
    torch.set_num_threads(1)  # this worker's OpenMP team and MKL: one thread each
    return fn(arg)


def map_chunks(fn, chunks: list[slice], device: torch.device) -> list:
    """Run fn on every chunk; on CPU, chunks go to parallel workers that are single-threaded inside.

    Small GEMMs split across OpenMP threads wait at a barrier after every op, which on a loaded (or
    small) machine costs far more than the op itself; independent chunks per thread have no barrier.
    """
    threads = torch.get_num_threads()
    if device.type != "cpu":
        return [fn(c) for c in chunks]
    if threads <= 1 or len(chunks) == 1:
        try:
            torch.set_num_threads(1)
            return [fn(c) for c in chunks]
        finally:
            torch.set_num_threads(threads)
    pool = _POOLS.get(threads)
    if pool is None:
        pool = _POOLS[threads] = ThreadPoolExecutor(threads, thread_name_prefix="qscale-qnn")
    try:
        return list(pool.map(lambda c: _one_thread(fn, c), chunks))
    finally:
        torch.set_num_threads(threads)


class FusedCircuit(torch.autograd.Function):
    """`program` applied to hi ⊗ lo (product state) or to psi0: the final (2^n, B) state, or with `signs`
    (n_out, 2^n) the I/Z read-out signs @ |ψ|² (n_out, B) directly."""

    @staticmethod
    def forward(ctx, plan, program: list[Op], signs, hi, lo, psi0, *params):
        n = plan.n
        first = psi0 if psi0 is not None else hi
        B, device = first.shape[-1], first.device
        chunks = _chunks(n, B, first.element_size(), device)

        def run(sl: slice):
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
            if signs is None:
                return keep, psi
            keep.append(psi)
            r = torch.view_as_real(psi).reshape(2**n, -1)
            return keep, (signs @ (r * r)).reshape(signs.shape[0], -1, 2).sum(-1)

        done = map_chunks(run, chunks, device)
        ctx.plan, ctx.program, ctx.chunks = plan, program, chunks
        ctx.saved_states = [keep for keep, _ in done]
        ctx.product = psi0 is None
        ctx.save_for_backward(signs, hi, lo, *params)
        return torch.cat([o for _, o in done], dim=1)

    @staticmethod
    def backward(ctx, grad_out):
        plan, program = ctx.plan, ctx.program
        n = plan.n
        signs, hi, lo, *params = ctx.saved_tensors
        want = [ctx.needs_input_grad[6 + k] for k in range(len(params))]
        want_hi = ctx.product and ctx.needs_input_grad[3]
        want_lo = ctx.product and ctx.needs_input_grad[4]
        want_psi0 = not ctx.product and ctx.needs_input_grad[5]

        def run(args):
            sl, keep = args
            grads: list[torch.Tensor | None] = [None] * len(params)
            j = len(keep)
            if signs is None:
                lam = grad_out[:, sl].contiguous()
            else:  # d(signs @ |ψ|²): λ = 2ψ · (signsᵀ g)
                j -= 1
                gp = signs.T @ grad_out[:, sl]
                lam = keep[j] * (2 * gp)
            for i in range(len(program) - 1, -1, -1):
                op = program[i]
                if op.kind == "gemm" or (op.kind == "diag" and not _next_is_gemm(program, i)):
                    j -= 1
                if op.kind == "gemm":
                    if want[op.k]:
                        g = _gemm_grad(lam, keep[j], n, op.a, op.b)
                        grads[op.k] = g if grads[op.k] is None else grads[op.k] + g
                    lam = _gemm(lam, params[op.k], n, op.a, op.b, transpose=True)
                elif op.kind == "diag":
                    c = params[op.k]
                    if want[op.k]:
                        # χ = c·u is saved (the next GEMM's input, or kept after a trailing diagonal):
                        # dL/dc = Σ_b conj(u)·λ = c · Σ_b conj(χ)·λ since |c| = 1
                        g = c * _row_dot(keep[j], lam)
                        grads[op.k] = g if grads[op.k] is None else grads[op.k] + g
                    lam = lam * c.conj()[:, None]
                else:
                    lam = lam.index_select(0, plan.perms[op.a][1])
            g_hi = g_lo = None
            if want_hi or want_lo:
                lam3 = lam.reshape(hi.shape[0], lo.shape[0], -1)
                g_hi = torch.linalg.vecdot(lo[None, :, sl], lam3, dim=1) if want_hi else None
                g_lo = torch.linalg.vecdot(hi[:, None, sl], lam3, dim=0) if want_lo else None
            return grads, g_hi, g_lo, (lam if want_psi0 else None)

        done = map_chunks(run, list(zip(ctx.chunks, ctx.saved_states, strict=True)), grad_out.device)
        grads = []
        for k in range(len(params)):
            parts = [d[0][k] for d in done if d[0][k] is not None]
            grads.append(torch.stack(parts).sum(0) if parts else None)
        g_hi = torch.cat([d[1] for d in done], dim=1) if want_hi else None
        g_lo = torch.cat([d[2] for d in done], dim=1) if want_lo else None
        g_psi0 = torch.cat([d[3] for d in done], dim=1) if want_psi0 else None
        return (None, None, None, g_hi, g_lo, g_psi0, *grads)


def _next_is_gemm(program: list[Op], i: int) -> bool:
    return i + 1 < len(program) and program[i + 1].kind == "gemm"


def _row_dot(chi: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """Σ_b conj(χ[y, b])·λ[y, b] for every row y, as one batched GEMM of 2x2 Gram matrices on the real views
    (no conjugated or multiplied copy of the state, unlike vecdot)."""
    a = torch.view_as_real(chi)
    b = torch.view_as_real(lam)
    if not b.is_contiguous():
        b = b.contiguous()
    G = torch.bmm(a.transpose(1, 2), b)  # (N, 2, 2): [[Σ χr λr, Σ χr λi], [Σ χi λr, Σ χi λi]]
    return torch.complex(G[:, 0, 0] + G[:, 1, 1], G[:, 0, 1] - G[:, 1, 0])


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
