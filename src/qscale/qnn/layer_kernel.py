"""Exact, differentiable simulation of a `QuantumLayer` batch, shaped for small circuits at large batch.

Layout: the state is (2^n, B), batch LAST, so every operation on qubits is a large matrix product
whose inner rows are whole batch columns:
- the encoded input is a product state, and the first layer's rotations keep it one: both are applied
  to per-qubit 2-vectors and the state is built once from outer products, never gate by gate;
- later layers' rotations are weight-only, hence shared by the batch: their Kronecker product is split
  into blocks of `group` qubits and each block is one batched GEMM on the reshaped state;
- each entangler (a CNOT/CZ pattern) is one precomputed row gather (plus a sign for CZ);
- the read-out is |ψ|² times a ±1 table, with the last entangler folded into that table.
Autograd differentiates through these few large ops; the forward keeps one state per layer.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from qscale.qnn.layer_ansatz import Ansatz, entangler_table
from qscale.qnn.layer_readout import group_terms, parity_signs
from qscale.quantum.device import real_dtype


def _kron_all(mats: torch.Tensor) -> torch.Tensor:
    """kron(mats[-1], ..., mats[0]) for mats (k, 2, 2): qubit 0 of the block is its least significant bit."""
    out = mats[-1]
    for q in range(mats.shape[0] - 2, -1, -1):
        d = out.shape[-1]
        out = (out[:, None, :, None] * mats[q][None, :, None, :]).reshape(2 * d, 2 * d)
    return out


class ExactPlan:
    """Index tables of one layer shape on one device: entangler gathers and read-out signs."""

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
        self.groups = [(max(hi - group, 0), hi) for hi in range(n, 0, -group)]
        self.entanglers: list[tuple[torch.Tensor, torch.Tensor | None] | None] = []
        tables = [entangler_table(ansatz.entangler(layer, n), n) for layer in range(n_layers)]
        for perm, sign in tables:
            if np.array_equal(perm, np.arange(perm.size)) and sign is None:
                self.entanglers.append(None)
                continue
            s = None if sign is None else torch.as_tensor(sign, dtype=rdtype, device=device)[:, None]
            self.entanglers.append((torch.as_tensor(perm, device=device), s))
        self.readout = group_terms(terms)
        self.n_out = len(terms)
        # fold the last entangler into the read-out when every term is diagonal (I/Z only)
        self.fold_last = len(self.readout) == 1 and self.readout[0].flip == 0
        self.tables: list[tuple[list[int], torch.Tensor | None, torch.Tensor, torch.Tensor]] = []
        x = np.arange(2**n, dtype=np.int64)
        for g in self.readout:
            signs = parity_signs(g.zy, n)
            if self.fold_last and tables[-1][0] is not None:
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
    def product_state(self, v: torch.Tensor) -> torch.Tensor:
        """(2^n, B) from per-qubit vectors v (n, 2, B); qubit 0 is the least significant bit."""
        n, B = v.shape[0], v.shape[-1]
        h = n // 2

        def build(qs: range) -> torch.Tensor:
            out = v[qs[-1]]
            for q in reversed(qs[:-1]):
                out = (out[:, None, :] * v[q][None, :, :]).reshape(-1, B)
            return out

        lo = build(range(h)) if h else None
        hi = build(range(h, n))
        if lo is None:
            return hi
        return (hi[:, None, :] * lo[None, :, :]).reshape(-1, B)

    def apply_shared(self, psi: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
        """Apply kron(U[n-1], ..., U[0]) (U (n, 2, 2), the same for every sample) by blocks of qubits."""
        B = psi.shape[-1]
        for lo, hi in self.groups:
            m = _kron_all(U[lo:hi])
            d = m.shape[0]
            psi = torch.matmul(m, psi.reshape(2 ** (self.n - hi), d, (2**lo) * B))
        return psi.reshape(2**self.n, B)

    def apply_per_sample(self, psi: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
        """Apply per-sample single-qubit gates G (n, 2, 2, B) qubit by qubit."""
        B = psi.shape[-1]
        for q in range(self.n):
            x = psi.reshape(2 ** (self.n - q - 1), 2, 2**q, B)
            x0, x1 = x[:, 0], x[:, 1]
            g = G[q]
            psi = torch.stack((g[0, 0] * x0 + g[0, 1] * x1, g[1, 0] * x0 + g[1, 1] * x1), 1)
        return psi.reshape(2**self.n, B)

    def entangle(self, psi: torch.Tensor, layer: int) -> torch.Tensor:
        e = self.entanglers[layer]
        if e is None:
            return psi
        perm, sign = e
        psi = psi.index_select(0, perm)
        return psi if sign is None else psi * sign

    def expectations(self, psi: torch.Tensor) -> torch.Tensor:
        """(n_out, B) real expectations of the read-out terms."""
        B = psi.shape[-1]
        out = psi.real.new_empty((self.n_out, B)) if len(self.tables) > 1 else None
        for cols, idx, signs, phase in self.tables:
            if idx is None:
                vals = signs @ (psi.real.square() + psi.imag.square())
            else:
                c = psi.index_select(0, idx).conj() * psi  # conj(ψ[x^m]) ψ[x]
                # Re(phase · Σ signs·c) = Re(phase)·Σ signs·Re c − Im(phase)·Σ signs·Im c
                vals = phase[0] * (signs @ c.real) - phase[1] * (signs @ c.imag)
            if out is None:
                return vals
            out = out.index_copy(0, torch.as_tensor(cols, device=psi.device), vals)
        return out

    # -- whole circuit ----------------------------------------------------------------------------
    def run(
        self,
        U: torch.Tensor,
        v0: torch.Tensor | None = None,
        psi0: torch.Tensor | None = None,
        enc: list[torch.Tensor | None] | None = None,
    ) -> torch.Tensor:
        """(n_out, B) expectations.

        U: (L, n, 2, 2) layer rotations; v0: (n, 2, B) encoded per-qubit vectors (angle encodings), or
        psi0: (2^n, B) an initial state (amplitude encoding); enc[l]: (n, 2, 2, B) per-sample encoding
        gates applied before layer l >= 1 (data re-uploading; enc[0] is unused).
        """
        if v0 is not None:
            v = torch.einsum("qac,qcb->qab", U[0], v0)
            psi = self.product_state(v)
        else:
            psi = self.apply_shared(psi0, U[0])
        for layer in range(self.n_layers):
            if layer > 0:
                if enc is not None and enc[layer] is not None:
                    psi = self.apply_per_sample(psi, torch.einsum("qac,qcdb->qadb", U[layer], enc[layer]))
                else:
                    psi = self.apply_shared(psi, U[layer])
            if not (self.fold_last and layer == self.n_layers - 1):
                psi = self.entangle(psi, layer)
        return self.expectations(psi)


def state_copies(n_layers: int) -> int:
    """Full-size (2^n x B) buffers alive at the peak of forward + backward (one per layer kept for
    autograd, plus work space), for the memory guard."""
    return 2 * n_layers + 4


def amplitude_state(x: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """(2^n, B) normalised amplitudes of x (B, n_in), zero-padded."""
    pad = torch.nn.functional.pad(x, (0, 2**n - x.shape[1]))
    norm = torch.linalg.vector_norm(pad, dim=1, keepdim=True)
    return (pad / norm).T.to(dtype)


def n_groups(n: int, group: int) -> int:
    return math.ceil(n / group)
