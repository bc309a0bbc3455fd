"""CPU fast path of `ExactPlan.run`: the numba kernels of `numba_kernels` as one autograd Function.

It covers the common case: an angle encoding (product initial state), any of the RZ* RY RZ* ansätze, an
I/Z read-out (folded with the last layer's RZ and entangler into signs) and complex64 or complex128 on
CPU. Everything else (CUDA, amplitude encoding, re-uploading, X/Y read-outs) runs the torch program of
`kernel` / `fused`.

Inputs built by torch with autograd (so torch's chain rule reaches weights and inputs): the product
factors hi, lo of the first layer's state; θ of the RY rotations of layers 1..L-1; the phase vector
before each of those layers (`ExactPlan.diagonal_angles`; the entangler signs are constant tables).
"""

from __future__ import annotations

import threading

import numpy as np
import torch

from qscale.qnn.layer import numba_kernels as nk
from qscale.qnn.layer.fused import map_chunks, split_batch

CHUNK_BYTES = 2**21  # of state per chunk (ψ alone; the backward holds four such buffers)
MIN_COLS, MAX_COLS = 32, 128  # samples per chunk


def chunks(n: int, B: int, itemsize: int) -> list[slice]:
    """Column slices of the batch, one kernel call each. Measured on one Zen 4 core (noisy, shared
    machine, batch 256, forward + backward, with reused buffers): 12 qubits, 64 samples per chunk beat 32
    by ~15 % and 16 or 128 (longer lane loops, though ψ and λ then overflow L2); 16 qubits, 32 beat 64 by
    ~20 %; 8 qubits, 32 to 128 equal."""
    return split_batch(B, min(MAX_COLS, max(MIN_COLS, CHUNK_BYTES // (2 * itemsize * 2**n))))


class Workspace:
    """State-sized buffers reused across calls: scratch per worker thread, and a free list for the saved final
    states (given back when autograd frees the graph). Fresh arrays of a MiB or more are new pages that
    fault on first touch; at 12 qubits that was ~1,500 faults per chunk, as long as the kernels' passes.
    Holds at most `MAX_BYTES` of free saved states."""

    MAX_BYTES = 2**27

    def __init__(self) -> None:
        self._local = threading.local()
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()

    def scratch(self, count: int, shape: tuple[int, int], dtype: np.dtype) -> list[np.ndarray]:
        """`count` contiguous (rows, cols) views of this thread's flat buffers (grown, never shrunk)."""
        size = shape[0] * shape[1]
        bufs = getattr(self._local, "bufs", [])
        if len(bufs) < count or bufs[0].size < size or bufs[0].dtype != dtype:
            bufs = self._local.bufs = [np.empty(size, dtype=dtype) for _ in range(count)]
        return [b[:size].reshape(shape) for b in bufs[:count]]

    def take(self, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        with self._lock:
            for i, a in enumerate(self._free):
                if a.shape == shape and a.dtype == dtype:
                    return self._free.pop(i)
        return np.empty(shape, dtype=dtype)

    def give(self, arrays: list[np.ndarray]) -> None:
        with self._lock:
            held = sum(a.nbytes for a in self._free)
            for a in arrays:
                if held + a.nbytes <= self.MAX_BYTES:
                    self._free.append(a)
                    held += a.nbytes


_WORKSPACE = Workspace()


class _Saved(list):
    """The chunks' saved final states; back to the workspace when autograd drops the graph."""

    def __del__(self) -> None:
        _WORKSPACE.give(list(self))


class AdjointTables:
    """Index and sign tables of one `ExactPlan` as numpy arrays for the kernels."""

    def __init__(self, plan) -> None:
        self.plan = plan
        N = 2**plan.n
        L1 = plan.n_layers - 1
        self.perms = np.empty((L1, N), dtype=np.int64)
        for layer in range(L1):
            p = plan.perms[layer]
            self.perms[layer] = np.arange(N) if p is None else p[0].cpu().numpy()
        self.signs = np.ascontiguousarray(plan.tables[0][2].cpu().numpy())
        rdtype = self.signs.dtype
        # entangler signs of each phase vector (CZ); the RZ angles come per call
        self.row_signs = np.ones((L1, N), dtype=rdtype)
        for layer in range(L1):
            if plan.signs[layer] is not None:
                self.row_signs[layer] = plan.signs[layer].cpu().numpy()

    def run(self, w: torch.Tensor, hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
        """(n_out, B) expectations for weights w (L, n, R) and product factors hi, lo (complex)."""
        plan = self.plan
        N = 2**plan.n
        theta = w[1:, :, plan.k_ry]
        phis = []
        for layer in range(1, plan.n_layers):
            phi = plan.diagonal_angles(w, layer - 1, layer > 1, last=False)
            phis.append(torch.zeros(N, dtype=plan.rdtype) if phi is None else phi)
        phases = torch.stack(phis) if phis else torch.zeros((0, N), dtype=plan.rdtype)
        return AdjointCircuit.apply(self, hi, lo, theta, phases)


def _planar(z: torch.Tensor) -> np.ndarray:
    """(R, B) complex -> (R, 2, B) real numpy (real parts, then imaginary parts, of every row). The copy is
    numpy's: torch's of 2^15 numbers or more is split over OpenMP threads, and on a busy machine the caller
    then spins at the barrier for a descheduled thread (milliseconds per call)."""
    return np.ascontiguousarray(torch.view_as_real(z.detach()).numpy().transpose(0, 2, 1))


class AdjointCircuit(torch.autograd.Function):
    """Forward and adjoint backward of the product-state program, batch chunks on parallel workers."""

    @staticmethod
    def forward(ctx, tables: AdjointTables, hi, lo, theta, phases):
        plan = tables.plan
        hr, lr = _planar(hi), _planar(lo)
        th = theta.detach().cpu().numpy()
        cos_h, sin_h = np.cos(th / 2), np.sin(th / 2)
        # the phase vectors sign·exp(iφ) as (cos, sin) rows, in numpy: torch's threaded cos/sin on a few
        # thousand numbers waits at an OpenMP barrier, which on a busy machine costs milliseconds
        phi = phases.detach().cpu().numpy()
        d = np.ascontiguousarray(np.stack((np.cos(phi), np.sin(phi)), 1) * tables.row_signs[:, None, :])
        B = hr.shape[-1]
        out = np.empty((tables.signs.shape[0], B), dtype=hr.dtype)
        parts = chunks(plan.n, B, hr.itemsize)

        def run(sl: slice) -> np.ndarray:
            shape = (2**plan.n, 2 * (sl.stop - sl.start))
            save = _WORKSPACE.take(shape, hr.dtype)
            (t,) = _WORKSPACE.scratch(1, shape, hr.dtype)
            nk.forward_chunk(hr, lr, sl.start, sl.stop, tables.perms, d, cos_h, sin_h, tables.signs, out, save, t)
            return save

        ctx.saves = _Saved(map_chunks(run, parts, torch.device("cpu")))
        ctx.tables, ctx.parts, ctx.arrays = tables, parts, (hr, lr, d, cos_h, sin_h)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad_out):
        tables, parts = ctx.tables, ctx.parts
        hr, lr, d, cos_h, sin_h = ctx.arrays
        g = np.ascontiguousarray(grad_out.detach().cpu().numpy().astype(hr.dtype, copy=False))
        ghi, glo = np.zeros_like(hr), np.zeros_like(lr)

        def run(args):
            sl, save = args
            gth = np.zeros(cos_h.shape, dtype=np.float64)
            gd = np.zeros(d.shape, dtype=np.float64)
            work = _WORKSPACE.scratch(4, save.shape, save.dtype)
            args = (hr, lr, sl.start, sl.stop, tables.perms, d, cos_h, sin_h, tables.signs, g, save)
            nk.backward_chunk(*args, gth, gd, ghi, glo, *work)
            return gth, gd

        done = map_chunks(run, list(zip(parts, ctx.saves, strict=True)), torch.device("cpu"))
        dtype = torch.from_numpy(hr[:0]).dtype
        gth = torch.from_numpy(sum(x[0] for x in done)).to(dtype)
        gd = sum(x[1] for x in done)  # dL/d(cos, sin) rows; dc/dφ = i·c
        gphi = torch.from_numpy(gd[:, 1] * d[:, 0] - gd[:, 0] * d[:, 1]).to(dtype)

        def cplx(a: np.ndarray) -> torch.Tensor:
            t = torch.from_numpy(a)
            return torch.complex(t[:, 0], t[:, 1])

        return None, cplx(ghi), cplx(glo), gth, gphi
