"""Numba kernels of the CPU fast path of `QuantumLayer`: forward and adjoint backward of one batch chunk.

Why this shape: at 12 qubits a chunk of the batch fits in L2, and the work is a few streaming passes over
it, so the cost is set by how many passes there are and how much arithmetic each does per load:
- the state of a chunk of Bc samples is a float array (2^n, 2·Bc): row y holds the real parts of amplitude
  y for every sample, then the imaginary parts, so every inner loop runs over contiguous batch lanes;
- RY is real, so it acts on real and imaginary lanes alike; three qubits are rotated per pass with their
  8 rows held in registers (radix 8), which is n·2^n·8 flops per layer per sample (a quarter of the 16x16
  Kronecker-block GEMMs of the torch path) and n/3 passes;
- a layer's entangler (row gather) and its phase vector are one pass that writes the next buffer;
- the backward is the adjoint method: no intermediate state is stored; the final state is un-rotated
  layer by layer beside λ, and dL/dθ of RY(θ) on qubit q is ½·Σ (λ₁ψ₀ − λ₀ψ₁) over the pairs of q,
  taken before the un-rotation (rotations on other qubits commute with it and are orthogonal).
The small weight-only inputs (RY angles, phase vectors, product-state factors) are built by torch with
autograd (`adjoint`), which chains these kernels' gradients to the weights and inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, fastmath=True, nogil=True, boundscheck=False)


@njit(inline="always")
def _rot(x0, x1, c, s):
    return c * x0 - s * x1, s * x0 + c * x1


@njit(inline="always")
def _base(g, q, k):
    """The g-th row index whose bits q..q+k-1 are zero."""
    return ((g >> q) << (q + k)) | (g & ((1 << q) - 1))


# ----------------------------------------------------------------------------------------------
# RY passes, forward


@njit(**_JIT)
def _ry8(a, q, c0, s0, c1, s1, c2, s2):
    h = 1 << q
    for g in range(a.shape[0] >> 3):
        b = _base(g, q, 3)
        A0, A1, A2, A3 = a[b], a[b + h], a[b + 2 * h], a[b + 3 * h]
        A4, A5, A6, A7 = a[b + 4 * h], a[b + 5 * h], a[b + 6 * h], a[b + 7 * h]
        for j in range(a.shape[1]):
            x0, x1 = _rot(A0[j], A1[j], c0, s0)
            x2, x3 = _rot(A2[j], A3[j], c0, s0)
            x4, x5 = _rot(A4[j], A5[j], c0, s0)
            x6, x7 = _rot(A6[j], A7[j], c0, s0)
            x0, x2 = _rot(x0, x2, c1, s1)
            x1, x3 = _rot(x1, x3, c1, s1)
            x4, x6 = _rot(x4, x6, c1, s1)
            x5, x7 = _rot(x5, x7, c1, s1)
            A0[j], A4[j] = _rot(x0, x4, c2, s2)
            A1[j], A5[j] = _rot(x1, x5, c2, s2)
            A2[j], A6[j] = _rot(x2, x6, c2, s2)
            A3[j], A7[j] = _rot(x3, x7, c2, s2)


@njit(**_JIT)
def _ry4(a, q, c0, s0, c1, s1):
    h = 1 << q
    for g in range(a.shape[0] >> 2):
        b = _base(g, q, 2)
        A0, A1, A2, A3 = a[b], a[b + h], a[b + 2 * h], a[b + 3 * h]
        for j in range(a.shape[1]):
            x0, x1 = _rot(A0[j], A1[j], c0, s0)
            x2, x3 = _rot(A2[j], A3[j], c0, s0)
            A0[j], A2[j] = _rot(x0, x2, c1, s1)
            A1[j], A3[j] = _rot(x1, x3, c1, s1)


@njit(**_JIT)
def _ry2(a, q, c0, s0):
    h = 1 << q
    for g in range(a.shape[0] >> 1):
        b = _base(g, q, 1)
        A0, A1 = a[b], a[b + h]
        for j in range(a.shape[1]):
            A0[j], A1[j] = _rot(A0[j], A1[j], c0, s0)


@njit(**_JIT)
def _ry_layer(a, c, s):
    """RY on every qubit (c, s = cos, sin of θ/2 per qubit), three qubits per pass."""
    n = c.shape[0]
    q = 0
    while q + 3 <= n:
        _ry8(a, q, c[q], s[q], c[q + 1], s[q + 1], c[q + 2], s[q + 2])
        q += 3
    if n - q == 2:
        _ry4(a, q, c[q], s[q], c[q + 1], s[q + 1])
    elif n - q == 1:
        _ry2(a, q, c[q], s[q])


# ----------------------------------------------------------------------------------------------
# RY passes, adjoint: dθ from (ψ, λ) after the rotation, then both un-rotated


@njit(inline="always")
def _dot(l0, l1, p0, p1):
    return l1 * p0 - l0 * p1


@njit(**_JIT)
def _ry4_adj(p, m, q, c0, s0, c1, s1, gt):
    h = 1 << q
    for g in range(p.shape[0] >> 2):
        b = _base(g, q, 2)
        P0, P1, P2, P3 = p[b], p[b + h], p[b + 2 * h], p[b + 3 * h]
        M0, M1, M2, M3 = m[b], m[b + h], m[b + 2 * h], m[b + 3 * h]
        g0 = g1 = c0 - c0
        for j in range(p.shape[1]):
            p0, p1, p2, p3 = P0[j], P1[j], P2[j], P3[j]
            m0, m1, m2, m3 = M0[j], M1[j], M2[j], M3[j]
            g0 += _dot(m0, m1, p0, p1) + _dot(m2, m3, p2, p3)
            g1 += _dot(m0, m2, p0, p2) + _dot(m1, m3, p1, p3)
            p0, p1 = _rot(p0, p1, c0, -s0)
            p2, p3 = _rot(p2, p3, c0, -s0)
            P0[j], P2[j] = _rot(p0, p2, c1, -s1)
            P1[j], P3[j] = _rot(p1, p3, c1, -s1)
            m0, m1 = _rot(m0, m1, c0, -s0)
            m2, m3 = _rot(m2, m3, c0, -s0)
            M0[j], M2[j] = _rot(m0, m2, c1, -s1)
            M1[j], M3[j] = _rot(m1, m3, c1, -s1)
        gt[q] += 0.5 * g0
        gt[q + 1] += 0.5 * g1


@njit(**_JIT)
def _ry2_adj(p, m, q, c0, s0, gt):
    h = 1 << q
    for g in range(p.shape[0] >> 1):
        b = _base(g, q, 1)
        P0, P1, M0, M1 = p[b], p[b + h], m[b], m[b + h]
        g0 = c0 - c0
        for j in range(p.shape[1]):
            p0, p1, m0, m1 = P0[j], P1[j], M0[j], M1[j]
            g0 += _dot(m0, m1, p0, p1)
            P0[j], P1[j] = _rot(p0, p1, c0, -s0)
            M0[j], M1[j] = _rot(m0, m1, c0, -s0)
        gt[q] += 0.5 * g0


@njit(**_JIT)
def _ry_layer_adj(p, m, c, s, gt, q0):
    """Adjoint of `_ry_layer` on qubits q0..n-1, two qubits per pass (the order is free: the rotations
    commute): radix 8 would hold 16 rows of ψ and λ, which at power-of-two row distances all fall into one
    8-way L1 set and evict each other (measured: no faster, padded rows or not)."""
    n = c.shape[0]
    q = q0
    while q + 2 <= n:
        _ry4_adj(p, m, q, c[q], s[q], c[q + 1], s[q + 1], gt)
        q += 2
    if n - q == 1:
        _ry2_adj(p, m, q, c[q], s[q], gt)


@njit(**_JIT)
def _ry2_adj_scatter(p2, m2, p, m, c0, s0, gt, perm, d, gd):
    """`_ry2_adj` on qubit 0 (rows y, y + 1) fused with the backward of `_gather_phase` for ψ and λ: row
    perm[y] of the previous buffers = conj(d[y])·row y, and gd[:, y] += d[y]·Σ_b conj(χ[y, b])·λ[y, b]
    (χ = ψ after the phase: dL/dd in torch's convention). One sweep over ψ and λ instead of two: the
    backward's passes stream them through L3 (a pass over a 64-sample chunk moves 4 MiB)."""
    Bc = p.shape[1] // 2
    for y in range(0, p.shape[0], 2):
        P0, P1, M0, M1 = p[y], p[y + 1], m[y], m[y + 1]
        Q0, Q1, N0, N1 = p2[perm[y]], p2[perm[y + 1]], m2[perm[y]], m2[perm[y + 1]]
        cr0, ci0, cr1, ci1 = d[0, y], d[1, y], d[0, y + 1], d[1, y + 1]
        g0 = ar0 = ai0 = ar1 = ai1 = c0 - c0
        for j in range(Bc):
            # real (r) and imaginary (i) lanes of ψ (p) and λ (l) in rows y (0) and y + 1 (1)
            pr0, pr1, pi0, pi1 = P0[j], P1[j], P0[Bc + j], P1[Bc + j]
            lr0, lr1, li0, li1 = M0[j], M1[j], M0[Bc + j], M1[Bc + j]
            g0 += _dot(lr0, lr1, pr0, pr1) + _dot(li0, li1, pi0, pi1)
            pr0, pr1 = _rot(pr0, pr1, c0, -s0)
            pi0, pi1 = _rot(pi0, pi1, c0, -s0)
            lr0, lr1 = _rot(lr0, lr1, c0, -s0)
            li0, li1 = _rot(li0, li1, c0, -s0)
            ar0 += pr0 * lr0 + pi0 * li0
            ai0 += pr0 * li0 - pi0 * lr0
            ar1 += pr1 * lr1 + pi1 * li1
            ai1 += pr1 * li1 - pi1 * lr1
            Q0[j] = cr0 * pr0 + ci0 * pi0
            Q0[Bc + j] = cr0 * pi0 - ci0 * pr0
            N0[j] = cr0 * lr0 + ci0 * li0
            N0[Bc + j] = cr0 * li0 - ci0 * lr0
            Q1[j] = cr1 * pr1 + ci1 * pi1
            Q1[Bc + j] = cr1 * pi1 - ci1 * pr1
            N1[j] = cr1 * lr1 + ci1 * li1
            N1[Bc + j] = cr1 * li1 - ci1 * lr1
        gt[0] += 0.5 * g0
        gd[0, y] += cr0 * ar0 - ci0 * ai0
        gd[1, y] += cr0 * ai0 + ci0 * ar0
        gd[0, y + 1] += cr1 * ar1 - ci1 * ai1
        gd[1, y + 1] += cr1 * ai1 + ci1 * ar1


# ----------------------------------------------------------------------------------------------
# entangler gather + phase, product state, read-out


@njit(**_JIT)
def _gather_phase(dst, src, perm, d):
    """dst[y] = d[y] · src[perm[y]] (complex d = d[0] + i·d[1] per row)."""
    Bc = dst.shape[1] // 2
    for y in range(dst.shape[0]):
        S = src[perm[y]]
        D = dst[y]
        cr, ci = d[0, y], d[1, y]
        for j in range(Bc):
            r, i = S[j], S[Bc + j]
            D[j] = cr * r - ci * i
            D[Bc + j] = ci * r + cr * i


@njit(**_JIT)
def _planar_cols(z, b0, Bc):
    """(R, 2, B) -> (R, 2·Bc): the chunk's columns of each row, real then imaginary parts, contiguous. The
    copy lets the loops below vectorize: on the (R, 2, B) input itself LLVM could not prove that the rows
    it reads and the rows it writes do not overlap, and ran them scalar (7x slower at 12 qubits)."""
    out = np.empty((z.shape[0], 2 * Bc), dtype=z.dtype)
    for r in range(z.shape[0]):
        for j in range(Bc):
            out[r, j] = z[r, 0, b0 + j]
            out[r, Bc + j] = z[r, 1, b0 + j]
    return out


@njit(**_JIT)
def _product(a, hi, lo, b0):
    """a[y] = hi[y >> h] · lo[y & (2^h - 1)] (complex), for the chunk's columns b0..b0 + Bc."""
    Bc = a.shape[1] // 2
    nl = lo.shape[0]
    H, L = _planar_cols(hi, b0, Bc), _planar_cols(lo, b0, Bc)
    for h in range(H.shape[0]):
        Hh = H[h]
        for l in range(nl):
            A, Ll = a[h * nl + l], L[l]
            for j in range(Bc):
                A[j] = Hh[j] * Ll[j] - Hh[Bc + j] * Ll[Bc + j]
                A[Bc + j] = Hh[j] * Ll[Bc + j] + Hh[Bc + j] * Ll[j]


@njit(**_JIT)
def _product_adj(m, hi, lo, b0, ghi, glo):
    """dL/dhi = Σ_l conj(lo)·λ and dL/dlo = Σ_h conj(hi)·λ, into the chunk's columns."""
    Bc = m.shape[1] // 2
    nl = lo.shape[0]
    H, L = _planar_cols(hi, b0, Bc), _planar_cols(lo, b0, Bc)
    GL = np.zeros_like(L)
    gh = np.empty(2 * Bc, dtype=m.dtype)
    for h in range(H.shape[0]):
        Hh = H[h]
        gh[:] = 0
        for l in range(nl):
            M, Ll, G = m[h * nl + l], L[l], GL[l]
            for j in range(Bc):
                mr, mi = M[j], M[Bc + j]
                gh[j] += Ll[j] * mr + Ll[Bc + j] * mi
                gh[Bc + j] += Ll[j] * mi - Ll[Bc + j] * mr
                G[j] += Hh[j] * mr + Hh[Bc + j] * mi
                G[Bc + j] += Hh[j] * mi - Hh[Bc + j] * mr
        for j in range(Bc):
            ghi[h, 0, b0 + j] += gh[j]
            ghi[h, 1, b0 + j] += gh[Bc + j]
    for l in range(nl):
        for j in range(Bc):
            glo[l, 0, b0 + j] += GL[l, j]
            glo[l, 1, b0 + j] += GL[l, Bc + j]


@njit(**_JIT)
def _readout(a, signs, out, b0):
    """out[i, b0 + j] = Σ_y signs[i, y]·|ψ[y, j]|²."""
    Bc = a.shape[1] // 2
    k = signs.shape[0]
    acc = np.zeros((k, Bc), dtype=a.dtype)
    pr = np.empty(Bc, dtype=a.dtype)
    for y in range(a.shape[0]):
        A = a[y]
        for j in range(Bc):
            pr[j] = A[j] * A[j] + A[Bc + j] * A[Bc + j]
        for i in range(k):
            s = signs[i, y]
            R = acc[i]
            for j in range(Bc):
                R[j] += s * pr[j]
    for i in range(k):
        for j in range(Bc):
            out[i, b0 + j] = acc[i, j]


@njit(**_JIT)
def _readout_adj(m, a, signs, g, b0):
    """λ = 2ψ·(signsᵀ g) for the chunk (the gradient of `_readout`). signsᵀ g is formed for 64 rows at a
    time, one read-out term after another (long lane loops with a scalar sign): row by row, with the terms
    innermost, it ran ~1.3x slower."""
    Bc = a.shape[1] // 2
    k = signs.shape[0]
    gl = np.empty((k, Bc), dtype=a.dtype)
    for i in range(k):
        for j in range(Bc):
            gl[i, j] = 2 * g[i, b0 + j]
    rows = 64
    gp = np.empty((rows, Bc), dtype=a.dtype)
    for y0 in range(0, a.shape[0], rows):
        ny = min(rows, a.shape[0] - y0)
        gp[:ny] = 0
        for i in range(k):
            G, S = gl[i], signs[i]
            for r in range(ny):
                s, R = S[y0 + r], gp[r]
                for j in range(Bc):
                    R[j] += s * G[j]
        for r in range(ny):
            A, M, R = a[y0 + r], m[y0 + r], gp[r]
            for j in range(Bc):
                M[j] = A[j] * R[j]
                M[Bc + j] = A[Bc + j] * R[j]


# ----------------------------------------------------------------------------------------------
# whole chunk


@njit(**_JIT)
def forward_chunk(hi, lo, b0, b1, perms, diags, cos_h, sin_h, signs, out, save, t):
    """Product state hi ⊗ lo, then per layer l: gather perms[l] with phase diags[l], RY(θ_l) on every
    qubit; writes the I/Z read-out into out[:, b0:b1] and the final state into `save` (N, 2·Bc), with
    `t` (same shape) as the other buffer of the ping-pong. Both come from the caller, reused across calls:
    arrays allocated here are fresh pages that fault on first touch (about 0.5 ms per MiB)."""
    a, t = (save, t) if perms.shape[0] % 2 == 0 else (t, save)
    _product(a, hi, lo, b0)
    for layer in range(perms.shape[0]):
        _gather_phase(t, a, perms[layer], diags[layer])
        _ry_layer(t, cos_h[layer], sin_h[layer])
        a, t = t, a
    _readout(a, signs, out, b0)


@njit(**_JIT)
def backward_chunk(hi, lo, b0, b1, perms, diags, cos_h, sin_h, signs, g, save, gtheta, gdiag, ghi, glo, p, m, p2, m2):
    """Adjoint backward of `forward_chunk` from its saved final state and the output gradient g:
    accumulates dθ (L', n), d(diags) (L', 2, N) and writes dhi, dlo into the chunk's columns. p, m, p2, m2
    are scratch buffers shaped like `save`; `save` is left as it is (autograd may run the backward again,
    e.g. gradcheck)."""
    p[:] = save
    _readout_adj(m, p, signs, g, b0)
    for layer in range(perms.shape[0] - 1, -1, -1):
        c, s = cos_h[layer], sin_h[layer]
        _ry_layer_adj(p, m, c, s, gtheta[layer], 1)
        _ry2_adj_scatter(p2, m2, p, m, c[0], s[0], gtheta[layer], perms[layer], diags[layer], gdiag[layer])
        p, p2 = p2, p
        m, m2 = m2, m
    _product_adj(m, hi, lo, b0, ghi, glo)
