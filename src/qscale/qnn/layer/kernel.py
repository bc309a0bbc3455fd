"""Exact, differentiable simulation of a `QuantumLayer` batch, shaped for small circuits at large batch.

Layout: the state is (2^n, B), batch LAST, so every operation on qubits is a large matrix product whose
rows are whole batch columns. Every ansatz layer here is RZ(pre) · RY(θ) · RZ(post) on each qubit, then a
CNOT/CZ entangler, and the simulation exploits that:
- the encoded input is a product state and the first layer's rotations keep it one: they act on
  per-qubit 2-vectors and the state is built once from outer products, never gate by gate;
- the RZ rotations and CZ signs are diagonal: a diagonal commutes through a permutation, so everything
  diagonal between two RY blocks (post-rotations, entangler signs, next pre-rotations) is ONE weight-only
  phase vector of 2^n entries, applied with one elementwise product;
- the RY rotations are real: their Kronecker product is split into blocks of `group` qubits and each
  block is one REAL batched GEMM on the complex state viewed as real numbers (half the flops of a
  complex GEMM), shared by the whole batch;
- each CNOT pattern is one precomputed row gather (its backward is the inverse gather);
- the read-out is |ψ|² times a ±1 table; for I/Z read-outs the last layer's RZ and entangler are folded
  into that table, since diagonals do not change |ψ|².
`program` lists those ops; `fused.FusedCircuit` runs them with a hand-written backward (`run(...,
fused=False)` runs the same program through plain autograd ops, as the reference). On CPU, angle encodings
with an I/Z read-out run the same circuit in the numba kernels of `adjoint` instead (per-qubit RY
passes and an adjoint backward; `use_numba=False` on the plan selects the torch program). Data re-uploading
puts per-sample gates between layers and takes the simpler qubit-by-qubit path (`_run_reupload`).
"""

from __future__ import annotations

import numpy as np
import torch

from qscale.qnn.layer.adjoint import AdjointTables
from qscale.qnn.layer.ansatz import Ansatz, entangler_table
from qscale.qnn.layer.fused import FusedCircuit, Op
from qscale.qnn.layer.fused import _gemm as gemm
from qscale.qnn.layer.readout import group_terms, parity_signs
from qscale.quantum.device import real_dtype


def _kron_all(mats: torch.Tensor) -> torch.Tensor:
    """kron(mats[-1], ..., mats[0]) for mats (k, 2, 2): qubit 0 of the block is its least significant bit."""
    out = mats[-1]
    for q in range(mats.shape[0] - 2, -1, -1):
        d = out.shape[-1]
        out = (out[:, None, :, None] * mats[q][None, :, None, :]).reshape(2 * d, 2 * d)
    return out


def _ry_real(theta: torch.Tensor) -> torch.Tensor:
    """(..., 2, 2) real RY(θ) matrices."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    return torch.stack((c, -s, s, c), -1).reshape(*theta.shape, 2, 2)


class _Gather(torch.autograd.Function):
    """Row permutation ψ[perm]; its backward is the inverse permutation (no scatter-add needed)."""

    @staticmethod
    def forward(ctx, psi: torch.Tensor, perm: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(inv)
        return psi.index_select(0, perm)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inv,) = ctx.saved_tensors
        return grad.index_select(0, inv), None, None


class _RzPhase(torch.autograd.Function):
    """`ExactPlan.rz_phase` on CPU in numpy, with its own backward: as torch ops it is n broadcast adds
    recorded by autograd and n reductions in the backward, ~0.5 ms of per-op overhead per call at 12 qubits
    and several calls per training step, all on the calling thread (serial beside the chunk workers)."""

    @staticmethod
    def forward(ctx, angles: torch.Tensor) -> torch.Tensor:
        a = angles.detach().numpy()
        n = a.shape[0]
        out = np.array([-0.5, 0.5], dtype=a.dtype) * a[n - 1]
        for q in range(n - 2, -1, -1):  # qubit 0 varies fastest
            out = (out[:, None] + np.array([-0.5, 0.5], dtype=a.dtype) * a[q]).reshape(-1)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        G = g.detach().numpy().reshape((2,) * int(np.log2(g.shape[0])))  # axis k is qubit n - 1 - k
        n = G.ndim
        grad = np.empty(n, dtype=G.dtype)
        for q in range(n):
            half = G.sum(axis=tuple(k for k in range(n) if k != n - 1 - q))
            grad[q] = 0.5 * (half[1] - half[0])
        return torch.from_numpy(grad)


class ExactPlan:
    """Index tables of one layer shape on one device: entangler gathers, diagonal signs, read-out signs."""

    def __init__(
        self,
        n: int,
        ansatz: Ansatz,
        n_layers: int,
        terms: list[str],
        dtype: torch.dtype,
        device: torch.device,
        group: int = 4,
    ) -> None:
        self.n, self.n_layers, self.dtype, self.device = n, n_layers, dtype, device
        rdtype = real_dtype(dtype)
        self.rdtype = rdtype
        self.groups = [(max(hi - group, 0), hi) for hi in range(n, 0, -group)]
        rot = ansatz.rotations
        self.k_ry = rot.index("ry")
        self.k_pre = [k for k in range(self.k_ry) if rot[k] == "rz"]
        self.k_post = [k for k in range(self.k_ry + 1, len(rot)) if rot[k] == "rz"]
        assert len(self.k_pre) + len(self.k_post) + 1 == len(rot), "ansatz must be RZ* RY RZ* per qubit"
        x = np.arange(2**n, dtype=np.int64)
        # RZ(φ) on every qubit = exp(-i/2 Σ_q φ_q z_q(y)) with z_q = ±1 (see `rz_phase`)
        self.zsign = torch.tensor([-0.5, 0.5], dtype=rdtype, device=device)
        self.perms: list[tuple[torch.Tensor, torch.Tensor] | None] = []
        self.signs: list[torch.Tensor | None] = []
        tables = [entangler_table(ansatz.entangler(layer, n), n) for layer in range(n_layers)]
        for perm, sign in tables:
            self.signs.append(None if sign is None else torch.as_tensor(sign, dtype=rdtype, device=device))
            if np.array_equal(perm, x):
                self.perms.append(None)
                continue
            inv = np.empty_like(perm)
            inv[perm] = x
            self.perms.append((torch.as_tensor(perm, device=device), torch.as_tensor(inv, device=device)))
        self.readout = group_terms(terms)
        self.n_out = len(terms)
        # fold the last rotations' RZ and the last entangler into the read-out when every term is I/Z only
        self.fold_last = len(self.readout) == 1 and self.readout[0].flip == 0
        # the numba CPU path (`adjoint`) covers product initial states with an I/Z read-out
        self.use_numba = device.type == "cpu" and self.fold_last
        self._adjoint = None
        self.tables: list[tuple[list[int], torch.Tensor | None, torch.Tensor, torch.Tensor]] = []
        for g in self.readout:
            signs = parity_signs(g.zy, n)
            if self.fold_last:
                inv = np.empty_like(tables[-1][0])
                inv[tables[-1][0]] = x
                signs = signs[inv]
            idx = None if g.flip == 0 else torch.as_tensor(x ^ g.flip, device=device)
            ph = torch.tensor(g.phases, dtype=torch.complex128)
            self.tables.append(
                (
                    g.cols,
                    idx,
                    torch.as_tensor(signs.T.copy(), dtype=rdtype, device=device),
                    torch.stack((ph.real, ph.imag)).to(rdtype).to(device)[:, :, None],
                )
            )

    # -- state updates ----------------------------------------------------------------------------
    def product_halves(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hi, lo) with hi ⊗ lo the product state of per-qubit vectors v (n, 2, B); qubit 0 = lowest bit."""
        n, B = v.shape[0], v.shape[-1]
        h = n // 2

        def build(qs: range) -> torch.Tensor:
            out = v[qs[-1]]
            for q in reversed(qs[:-1]):
                out = (out[:, None, :] * v[q][None, :, :]).reshape(-1, B)
            return out

        lo = build(range(h)) if h else torch.ones((1, B), dtype=v.dtype, device=v.device)
        return build(range(h, n)), lo

    def product_state(self, v: torch.Tensor) -> torch.Tensor:
        hi, lo = self.product_halves(v)
        return (hi[:, None, :] * lo[None, :, :]).reshape(-1, v.shape[-1])

    def apply_per_sample(self, psi: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
        """Apply per-sample single-qubit gates G (n, 2, 2, B) qubit by qubit."""
        B = psi.shape[-1]
        for q in range(self.n):
            x = psi.reshape(2 ** (self.n - q - 1), 2, 2**q, B)
            x0, x1 = x[:, 0], x[:, 1]
            g = G[q]
            psi = torch.stack((g[0, 0] * x0 + g[0, 1] * x1, g[1, 0] * x0 + g[1, 1] * x1), 1)
        return psi.reshape(2**self.n, B)

    def gather(self, psi: torch.Tensor, layer: int) -> torch.Tensor:
        p = self.perms[layer]
        return psi if p is None else _Gather.apply(psi, *p)

    def entangle(self, psi: torch.Tensor, layer: int) -> torch.Tensor:
        psi = self.gather(psi, layer)
        sign = self.signs[layer]
        return psi if sign is None else psi * sign[:, None]

    def expectations(self, psi: torch.Tensor) -> torch.Tensor:
        """(n_out, B) real expectations of the read-out terms."""
        B = psi.shape[-1]
        out = psi.real.new_empty((self.n_out, B)) if len(self.tables) > 1 else None
        for cols, idx, signs, phase in self.tables:
            if idx is None:  # signs @ |ψ|², as one GEMM over the squared real and imaginary parts
                r = torch.view_as_real(psi).reshape(psi.shape[0], 2 * B)
                vals = (signs @ (r * r)).reshape(-1, B, 2).sum(-1)
            else:
                c = psi.index_select(0, idx).conj() * psi  # conj(ψ[x^m]) ψ[x]
                # Re(phase · Σ signs·c) = Re(phase)·Σ signs·Re c − Im(phase)·Σ signs·Im c
                vals = phase[0] * (signs @ c.real) - phase[1] * (signs @ c.imag)
            if out is None:
                return vals
            out = out.index_copy(0, torch.as_tensor(cols, device=psi.device), vals)
        return out

    # -- whole circuit ----------------------------------------------------------------------------
    def _angles(self, w: torch.Tensor, layer: int, ks: list[int]) -> torch.Tensor | None:
        if not ks:
            return None
        out = w[layer, :, ks[0]]
        for k in ks[1:]:
            out = out + w[layer, :, k]
        return out

    def rz_phase(self, angles: torch.Tensor) -> torch.Tensor:
        """(2^n,) phase of RZ(angles[q]) on every qubit q: Σ_q -angles[q]/2 · z_q(y), built as outer sums
        of per-qubit (−φ/2, +φ/2) pairs (qubit 0 varies fastest), never as a 2^n x n table."""
        if angles.device.type == "cpu":
            return _RzPhase.apply(angles)
        out = None
        for q in range(self.n - 1, -1, -1):
            pair = self.zsign * angles[q]
            out = pair if out is None else (out[:, None] + pair[None, :]).reshape(-1)
        return out

    def _diagonal(self, w: torch.Tensor, layer: int, post_pending: bool, last: bool) -> torch.Tensor | None:
        """Phase/sign vector (2^n, 1) applied after the gather of `layer`'s entangler: entangler signs,
        this layer's post-RZ (permuted, when still pending) and the next layer's pre-RZ."""
        phase = self.diagonal_angles(w, layer, post_pending, last)
        sign = self.signs[layer]
        if phase is None:
            return None if sign is None else sign.to(self.dtype)
        c = torch.complex(torch.cos(phase), torch.sin(phase))
        return c if sign is None else c * sign

    def diagonal_angles(self, w: torch.Tensor, layer: int, post_pending: bool, last: bool) -> torch.Tensor | None:
        """(2^n,) real angles φ of `_diagonal` = sign · exp(iφ), or None when it has no RZ part."""
        phase = None
        post = self._angles(w, layer, self.k_post) if post_pending else None
        if post is not None:
            p = self.rz_phase(post)
            phase = p if self.perms[layer] is None else p.index_select(0, self.perms[layer][0])
        pre = None if last else self._angles(w, layer + 1, self.k_pre)
        if pre is not None:
            phase = self.rz_phase(pre) if phase is None else phase + self.rz_phase(pre)
        return phase

    def program(self, w: torch.Tensor, amplitude: bool) -> tuple[list[Op], list[torch.Tensor]]:
        """The circuit after the initial state as a list of block GEMMs, gathers and diagonals, with the
        small weight-only tensors they use (built here with autograd ops)."""
        ops: list[Op] = []
        params: list[torch.Tensor] = []

        def diag(c: torch.Tensor | None) -> None:
            if c is not None:
                params.append(c)
                ops.append(Op("diag", k=len(params) - 1))

        def ry(layer: int) -> None:
            mats = _ry_real(w[layer, :, self.k_ry])
            for lo, hi in self.groups:
                params.append(_kron_all(mats[lo:hi]))
                ops.append(Op("gemm", lo, hi, len(params) - 1))

        def gather(layer: int) -> None:
            if self.perms[layer] is not None:
                ops.append(Op("gather", layer))

        post_pending = False
        if amplitude:
            pre = self._angles(w, 0, self.k_pre)
            if pre is not None:
                p = self.rz_phase(pre)
                diag(torch.complex(torch.cos(p), torch.sin(p)))
            ry(0)
            post_pending = True
        for layer in range(1, self.n_layers):
            gather(layer - 1)
            diag(self._diagonal(w, layer - 1, post_pending, last=False))
            ry(layer)
            post_pending = True
        if not self.fold_last:
            gather(self.n_layers - 1)
            diag(self._diagonal(w, self.n_layers - 1, post_pending, last=True))
        return ops, params

    def flops_per_sample(self, amplitude: bool = False) -> dict[str, int]:
        """Floating-point operations per sample of `run` (forward) and of its backward, counted from the
        program: a real d x d block on the complex state costs 4·d·2^n (2 flops per multiply-add on the
        2·2^n real numbers), its backward twice that (λ ← Mᵀλ and dM = λ xᵀ); a complex diagonal 6·2^n
        forward and 14·2^n backward; the product state 6·2^n (16·2^n backward); the I/Z read-out
        (3 + 2·n_out)·2^n each way. Gathers move data and count zero."""
        N = 2**self.n
        if self.use_numba and not amplitude:
            return self._flops_numba()
        ops, _ = self.program(torch.zeros(self.n_layers, self.n, 3, dtype=self.rdtype, device=self.device), amplitude)
        fwd = bwd = 0
        for op in ops:
            if op.kind == "gemm":
                fwd += 4 * 2 ** (op.b - op.a) * N
                bwd += 8 * 2 ** (op.b - op.a) * N
            elif op.kind == "diag":
                fwd, bwd = fwd + 6 * N, bwd + 14 * N
        if not amplitude:
            fwd, bwd = fwd + 6 * N, bwd + 16 * N
        read = (3 + 2 * self.n_out) * N
        return {"forward": fwd + read, "backward": bwd + read, "total": fwd + bwd + 2 * read}

    def _flops_numba(self) -> dict[str, int]:
        """FLOPs per sample of the CPU kernels (`numba_kernels`), each multiply and each add counted once: per
        layer after the first, the phase (a complex multiply, 6·2^n; backward 20·2^n: conj(c) on ψ and λ
        plus dL/dc) and RY on every qubit (6·2^n each: 3 flops per real output; backward 16·2^n: ψ and λ
        un-rotated, plus 4 for the dθ sum); the product state 6·2^n (16·2^n backward); the I/Z read-out
        (3 + 2·n_out)·2^n each way. Gathers and the copy of the saved state move data and count zero."""
        N, n, L1 = 2**self.n, self.n, self.n_layers - 1
        read = (3 + 2 * self.n_out) * N
        fwd = 6 * N + L1 * (6 + 6 * n) * N + read
        bwd = 16 * N + L1 * (20 + 16 * n) * N + read
        return {"forward": fwd, "backward": bwd, "total": fwd + bwd}

    def run(
        self,
        w: torch.Tensor,
        U: torch.Tensor,
        v0: torch.Tensor | None = None,
        psi0: torch.Tensor | None = None,
        enc: list[torch.Tensor | None] | None = None,
        fused: bool = True,
    ) -> torch.Tensor:
        """(n_out, B) expectations.

        w: (L, n, R) weights (one column per rotation); U: (L, n, 2, 2) the same as full rotations;
        v0: (n, 2, B) encoded per-qubit vectors (angle encodings), or psi0: (2^n, B) an initial state
        (amplitude encoding); enc[l]: (n, 2, 2, B) per-sample encoding gates applied before layer l >= 1
        (data re-uploading; enc[0] is unused). fused=False runs the same program through plain autograd
        ops (the reference for the hand-written backward).
        """
        if enc is not None:
            return self._run_reupload(U, v0, enc)
        hi = lo = None
        if v0 is not None:
            hi, lo = self.product_halves(_apply2(U[0], v0))
            if fused and self.use_numba:
                if self._adjoint is None:
                    self._adjoint = AdjointTables(self)
                return self._adjoint.run(w, hi, lo)
        ops, params = self.program(w, amplitude=v0 is None)
        if fused:
            if self.fold_last:  # I/Z read-out fused into the chunks
                return FusedCircuit.apply(self, ops, self.tables[0][2], hi, lo, psi0, *params)
            psi = FusedCircuit.apply(self, ops, None, hi, lo, psi0, *params)
        else:
            psi = psi0 if v0 is None else (hi[:, None, :] * lo[None, :, :]).reshape(2**self.n, -1)
            for op in ops:
                if op.kind == "gather":
                    psi = self.gather(psi, op.a)
                elif op.kind == "diag":
                    psi = psi * params[op.k][:, None]
                else:
                    psi = gemm(psi, params[op.k], self.n, op.a, op.b, transpose=False)
        return self.expectations(psi)

    def _run_reupload(self, U: torch.Tensor, v0: torch.Tensor, enc: list[torch.Tensor | None]) -> torch.Tensor:
        """Re-uploading: per-sample gates Rot_l · E_l(x) before every layer, applied qubit by qubit."""
        psi = self.product_state(_apply2(U[0], v0))
        for layer in range(self.n_layers):
            if layer > 0:
                psi = self.apply_per_sample(psi, torch.einsum("qac,qcdb->qadb", U[layer], enc[layer]))
            if not (self.fold_last and layer == self.n_layers - 1):
                psi = self.entangle(psi, layer)
        return self.expectations(psi)


def _apply2(U: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(n, 2, B) = U (n, 2, 2) applied to v (n, 2, B), elementwise (no threaded BLAS call for 2x2 blocks)."""
    return U[:, :, 0:1] * v[:, 0:1, :] + U[:, :, 1:2] * v[:, 1:2, :]


def state_copies(n_layers: int) -> int:
    """Full-size (2^n x B) buffers alive at the peak of forward + backward (one per layer kept for
    autograd, plus work space), for the memory guard."""
    return 2 * n_layers + 4


def amplitude_state(x: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """(2^n, B) normalised amplitudes of x (B, n_in), zero-padded."""
    pad = torch.nn.functional.pad(x, (0, 2**n - x.shape[1]))
    norm = torch.linalg.vector_norm(pad, dim=1, keepdim=True)
    return (pad / norm).T.to(dtype)
