"""Numba kernels of the CPU QAOA engine: phase layer and uniform X mixer, cache-blocked, in place.

Why this shape: a QAOA layer is memory-bound, so each pass over the state should do as much work as
possible while the data sits in cache. The state is stored planar (real and imaginary parts in two
float arrays, `sv[b, 0]` and `sv[b, 1]`) so every inner loop is plain vectorizable float arithmetic.

* The *low pass* takes contiguous tiles of 2^G amplitudes (qubits 0..G-1), multiplies them by the
  phase exp(-i·γ·C) and rotates all G qubits while the tile is in L2.
* Each *high pass* gathers, for a group of k qubits q0..q0+k-1, the 2^k strided rows
  `hi | j << q0 | lo` with a contiguous chunk of L `lo` values as the SIMD lane into a padded buffer,
  rotates the k qubits there and scatters the rows back.

Rotations are applied three qubits at a time in registers (radix 8), in a scaled form that costs one
fused multiply-add per real output: RX(2β) = cos β·[[1, -i·t], [-i·t, 1]] with t = tan β when
|tan β| <= 1, otherwise (-i·sin β)·(the same with t = -cot β, outputs swapped). The scalar factor of a
whole layer (cos β)^n or (-i·sin β)^n is folded into that layer's phase multiply, so the state is exact
again after every complete layer. The adjoint (gradient) kernels use the plain unscaled rotation.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic

_FM = {"contract"}  # allow FMA contraction only; no reassociation

# fdlibm constants: Cody-Waite split of pi/2 and the sin/cos kernel polynomials on [-pi/4, pi/4].
_INV_PIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_2T = 2.02226624879595063154e-21
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11

#: |angle| above which the branch-free sincos loses accuracy; larger angles use libm.
SINCOS_MAX_ARG = 2.0**19


@njit(cache=True, inline="always")
def _sincos(x: float) -> tuple[float, float]:
    """sin and cos of x (|x| < 2^19) without branches, so loops calling it vectorize (no SVML here)."""
    kf = math.floor(x * _INV_PIO2 + 0.5)
    r = ((x - kf * _PIO2_1) - kf * _PIO2_2) - kf * _PIO2_2T
    z = r * r
    sr = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    cr = w + (((1.0 - w) - hz) + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
    q = np.int64(kf) & 3
    sn = cr if (q & 1) == 1 else sr
    cs = sr if (q & 1) == 1 else cr
    sn = -sn if (q & 2) == 2 else sn
    cs = -cs if ((q + 1) & 2) == 2 else cs
    return sn, cs


@njit(cache=True)
def sincos_array(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vector form of `_sincos`, exposed for tests."""
    s = np.empty_like(x)
    c = np.empty_like(x)
    for j in range(x.shape[0]):
        s[j], c[j] = _sincos(x[j])
    return s, c


# ----------------------------------------------------------------------------------------------
# scaled rotations (forward)


@njit(cache=True, inline="always")
def _rx(ar, ai, br, bi, k, swap):
    """(a - i·k·b, b - i·k·a), outputs swapped when `swap` (the cot form)."""
    nar = ar + k * bi
    nai = ai - k * br
    nbr = br + k * ai
    nbi = bi - k * ar
    if swap:
        return nbr, nbi, nar, nai
    return nar, nai, nbr, nbi


@njit(cache=True, fastmath=_FM)
def _rad8(r, i, base, n_outer, outer_stride, n_rows, row_stride, es, L, k, swap):
    """Rotate three qubits at once: 8 streams at base + e·es (e = 0..7), each L contiguous lanes."""
    for o in range(n_outer):
        for jr in range(n_rows):
            b0 = base + o * outer_stride + jr * row_stride
            R0 = r[b0 : b0 + L]
            R1 = r[b0 + es : b0 + es + L]
            R2 = r[b0 + 2 * es : b0 + 2 * es + L]
            R3 = r[b0 + 3 * es : b0 + 3 * es + L]
            R4 = r[b0 + 4 * es : b0 + 4 * es + L]
            R5 = r[b0 + 5 * es : b0 + 5 * es + L]
            R6 = r[b0 + 6 * es : b0 + 6 * es + L]
            R7 = r[b0 + 7 * es : b0 + 7 * es + L]
            I0 = i[b0 : b0 + L]
            I1 = i[b0 + es : b0 + es + L]
            I2 = i[b0 + 2 * es : b0 + 2 * es + L]
            I3 = i[b0 + 3 * es : b0 + 3 * es + L]
            I4 = i[b0 + 4 * es : b0 + 4 * es + L]
            I5 = i[b0 + 5 * es : b0 + 5 * es + L]
            I6 = i[b0 + 6 * es : b0 + 6 * es + L]
            I7 = i[b0 + 7 * es : b0 + 7 * es + L]
            for j in range(L):
                r0, i0, r1, i1 = _rx(R0[j], I0[j], R1[j], I1[j], k, swap)
                r2, i2, r3, i3 = _rx(R2[j], I2[j], R3[j], I3[j], k, swap)
                r4, i4, r5, i5 = _rx(R4[j], I4[j], R5[j], I5[j], k, swap)
                r6, i6, r7, i7 = _rx(R6[j], I6[j], R7[j], I7[j], k, swap)
                r0, i0, r2, i2 = _rx(r0, i0, r2, i2, k, swap)
                r1, i1, r3, i3 = _rx(r1, i1, r3, i3, k, swap)
                r4, i4, r6, i6 = _rx(r4, i4, r6, i6, k, swap)
                r5, i5, r7, i7 = _rx(r5, i5, r7, i7, k, swap)
                r0, i0, r4, i4 = _rx(r0, i0, r4, i4, k, swap)
                r1, i1, r5, i5 = _rx(r1, i1, r5, i5, k, swap)
                r2, i2, r6, i6 = _rx(r2, i2, r6, i6, k, swap)
                r3, i3, r7, i7 = _rx(r3, i3, r7, i7, k, swap)
                R0[j] = r0
                R1[j] = r1
                R2[j] = r2
                R3[j] = r3
                R4[j] = r4
                R5[j] = r5
                R6[j] = r6
                R7[j] = r7
                I0[j] = i0
                I1[j] = i1
                I2[j] = i2
                I3[j] = i3
                I4[j] = i4
                I5[j] = i5
                I6[j] = i6
                I7[j] = i7


@njit(cache=True, fastmath=_FM)
def _rad4(r, i, base, n_outer, outer_stride, n_rows, row_stride, es, L, k, swap):
    """Rotate two qubits at once: 4 streams at base + e·es."""
    for o in range(n_outer):
        for jr in range(n_rows):
            b0 = base + o * outer_stride + jr * row_stride
            R0 = r[b0 : b0 + L]
            R1 = r[b0 + es : b0 + es + L]
            R2 = r[b0 + 2 * es : b0 + 2 * es + L]
            R3 = r[b0 + 3 * es : b0 + 3 * es + L]
            I0 = i[b0 : b0 + L]
            I1 = i[b0 + es : b0 + es + L]
            I2 = i[b0 + 2 * es : b0 + 2 * es + L]
            I3 = i[b0 + 3 * es : b0 + 3 * es + L]
            for j in range(L):
                r0, i0, r1, i1 = _rx(R0[j], I0[j], R1[j], I1[j], k, swap)
                r2, i2, r3, i3 = _rx(R2[j], I2[j], R3[j], I3[j], k, swap)
                r0, i0, r2, i2 = _rx(r0, i0, r2, i2, k, swap)
                r1, i1, r3, i3 = _rx(r1, i1, r3, i3, k, swap)
                R0[j] = r0
                R1[j] = r1
                R2[j] = r2
                R3[j] = r3
                I0[j] = i0
                I1[j] = i1
                I2[j] = i2
                I3[j] = i3


@njit(cache=True, fastmath=_FM)
def _rad2(r, i, base, n_outer, outer_stride, n_rows, row_stride, es, L, k, swap):
    """Rotate one qubit: 2 streams at base and base + es."""
    for o in range(n_outer):
        for jr in range(n_rows):
            b0 = base + o * outer_stride + jr * row_stride
            R0 = r[b0 : b0 + L]
            R1 = r[b0 + es : b0 + es + L]
            I0 = i[b0 : b0 + L]
            I1 = i[b0 + es : b0 + es + L]
            for j in range(L):
                r0, i0, r1, i1 = _rx(R0[j], I0[j], R1[j], I1[j], k, swap)
                R0[j] = r0
                R1[j] = r1
                I0[j] = i0
                I1[j] = i1


@njit(cache=True, fastmath=_FM)
def _low3(r, i, base, T, k, swap):
    """Rotate qubits 0, 1, 2 of a contiguous tile: 8-amplitude blocks held in registers."""
    for b in range(base, base + T, 8):
        r0, i0, r1, i1 = _rx(r[b], i[b], r[b + 1], i[b + 1], k, swap)
        r2, i2, r3, i3 = _rx(r[b + 2], i[b + 2], r[b + 3], i[b + 3], k, swap)
        r4, i4, r5, i5 = _rx(r[b + 4], i[b + 4], r[b + 5], i[b + 5], k, swap)
        r6, i6, r7, i7 = _rx(r[b + 6], i[b + 6], r[b + 7], i[b + 7], k, swap)
        r0, i0, r2, i2 = _rx(r0, i0, r2, i2, k, swap)
        r1, i1, r3, i3 = _rx(r1, i1, r3, i3, k, swap)
        r4, i4, r6, i6 = _rx(r4, i4, r6, i6, k, swap)
        r5, i5, r7, i7 = _rx(r5, i5, r7, i7, k, swap)
        r0, i0, r4, i4 = _rx(r0, i0, r4, i4, k, swap)
        r1, i1, r5, i5 = _rx(r1, i1, r5, i5, k, swap)
        r2, i2, r6, i6 = _rx(r2, i2, r6, i6, k, swap)
        r3, i3, r7, i7 = _rx(r3, i3, r7, i7, k, swap)
        r[b] = r0
        r[b + 1] = r1
        r[b + 2] = r2
        r[b + 3] = r3
        r[b + 4] = r4
        r[b + 5] = r5
        r[b + 6] = r6
        r[b + 7] = r7
        i[b] = i0
        i[b + 1] = i1
        i[b + 2] = i2
        i[b + 3] = i3
        i[b + 4] = i4
        i[b + 5] = i5
        i[b + 6] = i6
        i[b + 7] = i7


_PERMS = ([1, 0, 3, 2, 5, 4, 7, 6], [2, 3, 0, 1, 6, 7, 4, 5], [4, 5, 6, 7, 0, 1, 2, 3])


def _emit_row64(builder, re, im, ks, nks, swapped):
    """LLVM IR for the six rotations of a 64-amplitude block held as 8 vectors of 8 lanes."""
    vt = re[0].type
    suffix = f"v8f{64 if isinstance(vt.element, ir.DoubleType) else 32}"
    fma_fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt, vt, vt]), f"llvm.fma.{suffix}")

    class _B:  # fma on vectors through the intrinsic (IRBuilder.fma takes scalars only)
        @staticmethod
        def fma(a, b, c):
            return builder.call(fma_fn, [a, b, c])

    i32 = ir.IntType(32)
    undef = ir.Constant(re[0].type, ir.Undefined)
    re, im = list(re), list(im)
    for perm in _PERMS:  # qubits 0, 1, 2: partner is a lane of the same vector
        mask = ir.Constant(ir.VectorType(i32, 8), perm)
        for j in range(8):
            pr = builder.shuffle_vector(re[j], undef, mask)
            pi = builder.shuffle_vector(im[j], undef, mask)
            if swapped:
                re[j], im[j] = _B.fma(ks, im[j], pr), _B.fma(nks, re[j], pi)
            else:
                re[j], im[j] = _B.fma(ks, pi, re[j]), _B.fma(nks, pr, im[j])
    for dj in (1, 2, 4):  # qubits 3, 4, 5: partner is another vector
        for a in range(8):
            if a & dj:
                continue
            b = a + dj
            nar = _B.fma(ks, im[b], re[a])
            nai = _B.fma(nks, re[b], im[a])
            nbr = _B.fma(ks, im[a], re[b])
            nbi = _B.fma(nks, re[a], im[b])
            if swapped:
                re[a], im[a], re[b], im[b] = nbr, nbi, nar, nai
            else:
                re[a], im[a], re[b], im[b] = nar, nai, nbr, nbi
    return re, im


@intrinsic
def _row64(typingctx, r, i, base, k, swap):
    """Rotate qubits 0..5 of the 64 amplitudes at r[base:], i[base:] entirely in SIMD registers.

    Numba cannot express lane shuffles, and without them the three lowest qubits (partners inside
    one vector) run scalar; this emits the shuffles directly.
    """
    if not (isinstance(r, types.Array) and r.ndim == 1 and r.dtype in (types.float32, types.float64)):
        return None
    sig = types.void(r, i, base, k, swap)

    def codegen(context, builder, signature, args):
        rty, ity, bty, kty, sty = signature.args
        ra = context.make_array(rty)(context, builder, args[0])
        ia = context.make_array(ity)(context, builder, args[1])
        base_v = context.cast(builder, args[2], bty, types.intp)
        kv = context.cast(builder, args[3], kty, rty.dtype)
        sw = context.cast(builder, args[4], sty, types.intp)
        elt = context.get_value_type(rty.dtype)
        vt = ir.VectorType(elt, 8)
        i32 = ir.IntType(32)
        align = rty.dtype.bitwidth // 8
        undef = ir.Constant(vt, ir.Undefined)
        zeros = ir.Constant(ir.VectorType(i32, 8), [0] * 8)
        ks = builder.shuffle_vector(builder.insert_element(undef, kv, ir.Constant(i32, 0)), undef, zeros)
        nk = builder.fneg(kv)
        nks = builder.shuffle_vector(builder.insert_element(undef, nk, ir.Constant(i32, 0)), undef, zeros)
        rp = builder.bitcast(builder.gep(ra.data, [base_v]), vt.as_pointer())
        ip = builder.bitcast(builder.gep(ia.data, [base_v]), vt.as_pointer())
        idx = [ir.Constant(ir.IntType(64), j) for j in range(8)]
        re = [builder.load(builder.gep(rp, [idx[j]]), align=align) for j in range(8)]
        im = [builder.load(builder.gep(ip, [idx[j]]), align=align) for j in range(8)]
        is_swap = builder.icmp_signed("!=", sw, ir.Constant(sw.type, 0))
        with builder.if_else(is_swap) as (then, otherwise):
            for block, swapped in ((then, True), (otherwise, False)):
                with block:
                    nre, nim = _emit_row64(builder, re, im, ks, nks, swapped)
                    for j in range(8):
                        builder.store(nre[j], builder.gep(rp, [idx[j]]), align=align)
                        builder.store(nim[j], builder.gep(ip, [idx[j]]), align=align)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, fastmath=_FM)
def _rot1(r, i, base, T, t, k, swap):
    """Rotate one qubit t of a contiguous tile, scalar (tiles of fewer than 8 amplitudes)."""
    h = 1 << t
    for blk in range(base, base + T, 2 * h):
        for j in range(blk, blk + h):
            r0, i0, r1, i1 = _rx(r[j], i[j], r[j + h], i[j + h], k, swap)
            r[j] = r0
            i[j] = i0
            r[j + h] = r1
            i[j + h] = i1


@njit(cache=True)
def _rotate_tile(r, i, base, G, k, swap):
    """Rotate qubits 0..G-1 of the contiguous tile r[base:base + 2^G]."""
    T = 1 << G
    if G < 6:
        if G < 3:
            for t in range(G):
                _rot1(r, i, base, T, t, k, swap)
            return
        _low3(r, i, base, T, k, swap)
        h = 8
        if G == 5:
            _rad4(r, i, base, T // (4 * h), 4 * h, 1, 0, h, h, k, swap)
        elif G == 4:
            _rad2(r, i, base, T // (2 * h), 2 * h, 1, 0, h, h, k, swap)
        return
    for b in range(base, base + T, 64):
        _row64(r, i, b, k, swap)
    _rotate_rows(r, i, base, G - 6, 64, 64, k, swap)


@njit(cache=True)
def _rotate_rows(r, i, base, nbits, S, L, k, swap):
    """Rotate the row qubits of 2^nbits rows (row stride S) of L lanes starting at r[base]."""
    nrows = 1 << nbits
    t = 0
    while t + 3 <= nbits:
        h = 1 << t
        _rad8(r, i, base, nrows // (8 * h), 8 * h * S, h, S, h * S, L, k, swap)
        t += 3
    h = 1 << t
    if nbits - t == 2:
        _rad4(r, i, base, nrows // (4 * h), 4 * h * S, h, S, h * S, L, k, swap)
    elif nbits - t == 1:
        _rad2(r, i, base, nrows // (2 * h), 2 * h * S, h, S, h * S, L, k, swap)


# ----------------------------------------------------------------------------------------------
# phase and energy on a contiguous segment


@njit(cache=True, fastmath=_FM)
def _phase_float(r, i, base, T, d, gamma, sr, si, init, amp0):
    """Multiply by sigma·exp(-i·gamma·d) (sigma = sr + i·si); `init` writes amp0·factor instead."""
    for x in range(base, base + T):
        sn, cs = _sincos(gamma * d[x])
        fr = sr * cs + si * sn
        fi = si * cs - sr * sn
        if init:
            r[x] = amp0 * fr
            i[x] = amp0 * fi
        else:
            a = r[x]
            c = i[x]
            r[x] = a * fr - c * fi
            i[x] = a * fi + c * fr


@njit(cache=True)
def _phase_float_libm(r, i, base, T, d, gamma, sr, si, init, amp0):
    """As `_phase_float` with libm sin/cos, for angles beyond SINCOS_MAX_ARG."""
    for x in range(base, base + T):
        a = gamma * d[x]
        sn = math.sin(a)
        cs = math.cos(a)
        fr = sr * cs + si * sn
        fi = si * cs - sr * sn
        if init:
            r[x] = amp0 * fr
            i[x] = amp0 * fi
        else:
            u = r[x]
            v = i[x]
            r[x] = u * fr - v * fi
            i[x] = u * fi + v * fr


@njit(cache=True, fastmath=_FM)
def _phase_table(r, i, base, T, idx, tr, ti, init, amp0):
    """Multiply by a phase looked up in a per-layer table (the diagonal stored as small integers)."""
    for x in range(base, base + T):
        v = idx[x]
        fr = tr[v]
        fi = ti[v]
        if init:
            r[x] = amp0 * fr
            i[x] = amp0 * fi
        else:
            a = r[x]
            c = i[x]
            r[x] = a * fr - c * fi
            i[x] = a * fi + c * fr


@njit(cache=True)
def _energy_seg(r, i, base, T, mode, d, idx, vals):
    """Sum over a contiguous segment of |amp|²·C."""
    acc = 0.0
    if mode == 2:
        for x in range(base, base + T):
            a = np.float64(r[x])
            c = np.float64(i[x])
            acc += (a * a + c * c) * vals[idx[x]]
    else:
        for x in range(base, base + T):
            a = np.float64(r[x])
            c = np.float64(i[x])
            acc += (a * a + c * c) * d[x]
    return acc


@njit(cache=True)
def _phase_seg(r, i, base, T, mode, d, idx, gamma, sr, si, tr, ti, init, amp0, libm):
    if mode == 2:
        _phase_table(r, i, base, T, idx, tr, ti, init, amp0)
    elif libm:
        _phase_float_libm(r, i, base, T, d, gamma, sr, si, init, amp0)
    else:
        _phase_float(r, i, base, T, d, gamma, sr, si, init, amp0)


# ----------------------------------------------------------------------------------------------
# passes (parallel)


@njit(cache=True, parallel=True)
def low_pass(sv, G, ks, swaps, mode, d, idx, gammas, sr, si, tr, ti, init, amp0, libm, energy, vals, out):
    """Phase (mode 1 float / 2 table, 0 none) then rotate qubits 0..G-1 of every 2^G tile.

    sv: (B, 2, N + pad) planar state. ks, swaps: per-batch rotation constant and form. With
    `energy`, out[thread, b] receives partial sums of |amp|²·C after the rotation.
    """
    B = sv.shape[0]
    N = d.shape[0] if mode != 2 else idx.shape[0]
    T = 1 << G
    tiles = N // T
    units = B * tiles
    nth = out.shape[0]
    for th in prange(nth):
        u0 = th * units // nth
        u1 = (th + 1) * units // nth
        for u in range(u0, u1):
            b = u // tiles
            base = (u % tiles) * T
            r = sv[b, 0]
            i = sv[b, 1]
            if mode != 0:
                _phase_seg(r, i, base, T, mode, d, idx, gammas[b], sr[b], si[b], tr[b], ti[b], init, amp0, libm)
            _rotate_tile(r, i, base, G, ks[b], swaps[b])
            if energy:
                out[th, b] += _energy_seg(r, i, base, T, mode, d, idx, vals)


@njit(cache=True, parallel=True)
def high_pass(sv, N, q0, kq, L, pad, ks, swaps, mode, d, idx, energy, vals, out):
    """Rotate qubits q0..q0+kq-1: gather 2^kq strided rows of L lanes, rotate in cache, scatter back."""
    B = sv.shape[0]
    R = 1 << kq
    S = L + pad
    chunks = (1 << q0) // L
    his = N >> (q0 + kq)
    per_b = his * chunks
    units = B * per_b
    nth = out.shape[0]
    for th in prange(nth):
        br = np.empty(R * S, dtype=sv.dtype)
        bi = np.empty(R * S, dtype=sv.dtype)
        u0 = th * units // nth
        u1 = (th + 1) * units // nth
        for u in range(u0, u1):
            b = u // per_b
            rem = u % per_b
            hi = rem // chunks
            off = (hi << (q0 + kq)) + (rem % chunks) * L
            r = sv[b, 0]
            i = sv[b, 1]
            for j in range(R):
                src = off + (j << q0)
                dst = j * S
                br[dst : dst + L] = r[src : src + L]
                bi[dst : dst + L] = i[src : src + L]
            _rotate_rows(br, bi, 0, kq, S, L, ks[b], swaps[b])
            acc = 0.0
            for j in range(R):
                src = off + (j << q0)
                dst = j * S
                r[src : src + L] = br[dst : dst + L]
                i[src : src + L] = bi[dst : dst + L]
                if energy:
                    acc += _energy_seg(r, i, src, L, mode, d, idx, vals)
            if energy:
                out[th, b] += acc


@njit(cache=True, parallel=True)
def energy_pass(sv, N, mode, d, idx, vals, out):
    """out[thread, b] = partial sums of |amp|²·C (used when the energy was not fused)."""
    B = sv.shape[0]
    T = 1 << 14 if N > (1 << 14) else N
    tiles = N // T
    units = B * tiles
    nth = out.shape[0]
    for th in prange(nth):
        u0 = th * units // nth
        u1 = (th + 1) * units // nth
        for u in range(u0, u1):
            b = u // tiles
            base = (u % tiles) * T
            out[th, b] += _energy_seg(sv[b, 0], sv[b, 1], base, T, mode, d, idx, vals)


# ----------------------------------------------------------------------------------------------
# adjoint (gradient) kernels: two states psi and lam, exact inverse rotations, fused inner products


@njit(cache=True, inline="always")
def _rx2(ar, ai, br, bi, c, s):
    """Exact RX: (c·a - i·s·b, c·b - i·s·a)."""
    return c * ar + s * bi, c * ai - s * br, c * br + s * ai, c * bi - s * ar


@njit(cache=True, inline="always")
def _imx(lar, lai, lbr, lbi, par, pai, pbr, pbi):
    """Im(conj(l_a)·p_b + conj(l_b)·p_a): the pair's share of Im<lam|X_q|psi>."""
    return lar * pbi - lai * pbr + lbr * pai - lbi * par


@njit(cache=True, fastmath=_FM)
def _dual_rad2(pr, pi, lr, li, base, n_outer, outer_stride, n_rows, row_stride, es, L, c, s, acc):
    """Rotate one qubit of psi and lam by RX(c, s); acc[j % len(acc)] += Im<lam|X|psi> share."""
    for o in range(n_outer):
        for jr in range(n_rows):
            b0 = base + o * outer_stride + jr * row_stride
            P0 = pr[b0 : b0 + L]
            P1 = pr[b0 + es : b0 + es + L]
            Q0 = pi[b0 : b0 + L]
            Q1 = pi[b0 + es : b0 + es + L]
            L0 = lr[b0 : b0 + L]
            L1 = lr[b0 + es : b0 + es + L]
            M0 = li[b0 : b0 + L]
            M1 = li[b0 + es : b0 + es + L]
            A = acc[:L]
            for j in range(L):
                a0 = P0[j]
                a1 = Q0[j]
                b0r = P1[j]
                b1 = Q1[j]
                x0 = L0[j]
                x1 = M0[j]
                y0 = L1[j]
                y1 = M1[j]
                A[j] += _imx(x0, x1, y0, y1, a0, a1, b0r, b1)
                u0, u1, v0, v1 = _rx2(a0, a1, b0r, b1, c, s)
                P0[j] = u0
                Q0[j] = u1
                P1[j] = v0
                Q1[j] = v1
                u0, u1, v0, v1 = _rx2(x0, x1, y0, y1, c, s)
                L0[j] = u0
                M0[j] = u1
                L1[j] = v0
                M1[j] = v1


@njit(cache=True, fastmath=_FM)
def _dual_rot1(pr, pi, lr, li, base, T, t, c, s):
    """Scalar one-qubit rotation of psi and lam on a contiguous tile; returns the Im<lam|X|psi> share."""
    h = 1 << t
    acc = 0.0
    for blk in range(base, base + T, 2 * h):
        for j in range(blk, blk + h):
            a0 = pr[j]
            a1 = pi[j]
            b0 = pr[j + h]
            b1 = pi[j + h]
            x0 = lr[j]
            x1 = li[j]
            y0 = lr[j + h]
            y1 = li[j + h]
            acc += _imx(x0, x1, y0, y1, a0, a1, b0, b1)
            u0, u1, v0, v1 = _rx2(a0, a1, b0, b1, c, s)
            pr[j] = u0
            pi[j] = u1
            pr[j + h] = v0
            pi[j + h] = v1
            u0, u1, v0, v1 = _rx2(x0, x1, y0, y1, c, s)
            lr[j] = u0
            li[j] = u1
            lr[j + h] = v0
            li[j + h] = v1
    return acc


def _emit_dual_row64(builder, P, Q, c, s, acc):
    """IR: exact RX(c, s) on qubits 0..5 of psi (P = [re, im] vector lists) and lam (Q), adding
    the pre-rotation Im<lam|X_q|psi> pair terms into the vector `acc`; returns (P, Q, acc)."""
    vt = P[0][0].type
    suffix = f"v8f{64 if isinstance(vt.element, ir.DoubleType) else 32}"
    fma_fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt, vt, vt]), f"llvm.fma.{suffix}")

    def fma(a, b, c_):
        return builder.call(fma_fn, [a, b, c_])

    def rot(ar, ai, br, bi):  # (c·a - i·s·b) for the a slot
        return fma(s, bi, builder.fmul(c, ar)), builder.fsub(builder.fmul(c, ai), builder.fmul(s, br))

    i32 = ir.IntType(32)
    undef = ir.Constant(vt, ir.Undefined)
    pr, pi = list(P[0]), list(P[1])
    qr, qi = list(Q[0]), list(Q[1])
    for perm in _PERMS:
        mask = ir.Constant(ir.VectorType(i32, 8), perm)
        for j in range(8):
            spr = builder.shuffle_vector(pr[j], undef, mask)
            spi = builder.shuffle_vector(pi[j], undef, mask)
            sqr = builder.shuffle_vector(qr[j], undef, mask)
            sqi = builder.shuffle_vector(qi[j], undef, mask)
            acc = fma(qr[j], spi, acc)
            acc = builder.fsub(acc, builder.fmul(qi[j], spr))
            pr[j], pi[j] = rot(pr[j], pi[j], spr, spi)
            qr[j], qi[j] = rot(qr[j], qi[j], sqr, sqi)
    for dj in (1, 2, 4):
        for a in range(8):
            if a & dj:
                continue
            b = a + dj
            acc = fma(qr[a], pi[b], acc)
            acc = builder.fsub(acc, builder.fmul(qi[a], pr[b]))
            acc = fma(qr[b], pi[a], acc)
            acc = builder.fsub(acc, builder.fmul(qi[b], pr[a]))
            npa = rot(pr[a], pi[a], pr[b], pi[b])
            npb = rot(pr[b], pi[b], pr[a], pi[a])
            nqa = rot(qr[a], qi[a], qr[b], qi[b])
            nqb = rot(qr[b], qi[b], qr[a], qi[a])
            (pr[a], pi[a]), (pr[b], pi[b]), (qr[a], qi[a]), (qr[b], qi[b]) = npa, npb, nqa, nqb
    return (pr, pi), (qr, qi), acc


@intrinsic
def _dual_row64(typingctx, pr, pi, lr, li, base, c, s, acc):
    """Adjoint step on 64 amplitudes of psi and lam in SIMD registers: inverse-rotate qubits 0..5 of
    both and add their Im<lam|X_q|psi> terms into acc[0:8] (8 lane partial sums)."""
    if not (isinstance(pr, types.Array) and pr.ndim == 1 and pr.dtype in (types.float32, types.float64)):
        return None
    sig = types.void(pr, pi, lr, li, base, c, s, acc)

    def codegen(context, builder, signature, args):
        aty = signature.args[0]
        elt = context.get_value_type(aty.dtype)
        vt = ir.VectorType(elt, 8)
        i32 = ir.IntType(32)
        align = aty.dtype.bitwidth // 8
        undef = ir.Constant(vt, ir.Undefined)
        zeros = ir.Constant(ir.VectorType(i32, 8), [0] * 8)
        base_v = context.cast(builder, args[4], signature.args[4], types.intp)

        def splat(val, ty):
            v = context.cast(builder, val, ty, aty.dtype)
            return builder.shuffle_vector(builder.insert_element(undef, v, ir.Constant(i32, 0)), undef, zeros)

        cv = splat(args[5], signature.args[5])
        sv_ = splat(args[6], signature.args[6])
        ptrs = []
        for j in range(4):
            arr = context.make_array(signature.args[j])(context, builder, args[j])
            ptrs.append(builder.bitcast(builder.gep(arr.data, [base_v]), vt.as_pointer()))
        idx = [ir.Constant(ir.IntType(64), j) for j in range(8)]
        planes = [[builder.load(builder.gep(p, [idx[j]]), align=align) for j in range(8)] for p in ptrs]
        (npr, npi), (nqr, nqi), accv = _emit_dual_row64(
            builder, (planes[0], planes[1]), (planes[2], planes[3]), cv, sv_, ir.Constant(vt, [0.0] * 8)
        )
        for p, vecs in zip(ptrs, (npr, npi, nqr, nqi), strict=True):
            for j in range(8):
                builder.store(vecs[j], builder.gep(p, [idx[j]]), align=align)
        acc_arr = context.make_array(signature.args[7])(context, builder, args[7])
        acc_elt = context.get_value_type(signature.args[7].dtype)
        avt = ir.VectorType(acc_elt, 8)
        aptr = builder.bitcast(acc_arr.data, avt.as_pointer())
        if acc_elt != elt:
            accv = builder.fpext(accv, avt)
        builder.store(builder.fadd(builder.load(aptr, align=8), accv), aptr, align=8)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True)
def _dual_rotate_tile(pr, pi, lr, li, base, G, c, s, acc):
    """Rotate qubits 0..G-1 of a contiguous tile of psi and lam; returns Im sum of <lam|X_q|psi>."""
    T = 1 << G
    total = 0.0
    if G < 6:
        for t in range(min(G, 3)):
            total += _dual_rot1(pr, pi, lr, li, base, T, t, c, s)
        for t in range(3, G):
            h = 1 << t
            acc[:] = 0.0
            _dual_rad2(pr, pi, lr, li, base, T // (2 * h), 2 * h, 1, 0, h, h, c, s, acc)
            total += acc[:h].sum()
        return total
    acc[:] = 0.0
    for b in range(base, base + T, 64):
        _dual_row64(pr, pi, lr, li, b, c, s, acc)
    total += acc[:8].sum()
    return total + _dual_rotate_rows(pr, pi, lr, li, base, G - 6, 64, 64, c, s, acc)


@njit(cache=True)
def _dual_rotate_rows(pr, pi, lr, li, base, nbits, S, L, c, s, acc):
    """Rotate the row qubits of 2^nbits rows of psi and lam; returns Im sum of <lam|X_q|psi>."""
    nrows = 1 << nbits
    acc[:] = 0.0
    for t in range(nbits):
        h = 1 << t
        _dual_rad2(pr, pi, lr, li, base, nrows // (2 * h), 2 * h * S, h, S, h * S, L, c, s, acc)
    return acc[:L].sum()


@njit(cache=True)
def _dual_phase(pr, pi, lr, li, base, T, mode, d, idx, vals, gamma, tr, ti, libm):
    """Return Im<lam|C|psi> on the segment, then multiply both by exp(+i·gamma·C) (the inverse phase)."""
    acc = 0.0
    for x in range(base, base + T):
        if mode == 2:
            v = idx[x]
            dx = vals[v]
            fr = tr[v]
            fi = ti[v]
        else:
            dx = d[x]
            if libm:
                fi = math.sin(gamma * dx)
                fr = math.cos(gamma * dx)
            else:
                fi, fr = _sincos(gamma * dx)
        a0 = pr[x]
        a1 = pi[x]
        x0 = lr[x]
        x1 = li[x]
        acc += dx * (np.float64(x0) * a1 - np.float64(x1) * a0)
        pr[x] = a0 * fr - a1 * fi
        pi[x] = a0 * fi + a1 * fr
        lr[x] = x0 * fr - x1 * fi
        li[x] = x0 * fi + x1 * fr
    return acc


@njit(cache=True, parallel=True)
def dual_low_pass(psi, lam, G, c, s, mode, d, idx, vals, gammas, tr, ti, libm, outx, outc):
    """Backward step, low part: inverse-rotate qubits 0..G-1 of psi and lam, then the inverse phase.

    c, s: per-batch cos/sin of the inverse rotation (s = -sin β). tr, ti: table of exp(+i·γ·C).
    outx/outc[thread, b] receive Im<lam|X|psi> (low qubits) and Im<lam|C|psi>.
    """
    B = psi.shape[0]
    N = d.shape[0] if mode != 2 else idx.shape[0]
    T = 1 << G
    tiles = N // T
    units = B * tiles
    nth = outx.shape[0]
    for th in prange(nth):
        acc = np.zeros(max(T // 2, 64), dtype=np.float64)
        u0 = th * units // nth
        u1 = (th + 1) * units // nth
        for u in range(u0, u1):
            b = u // tiles
            base = (u % tiles) * T
            pr = psi[b, 0]
            pi = psi[b, 1]
            lr = lam[b, 0]
            li = lam[b, 1]
            outx[th, b] += _dual_rotate_tile(pr, pi, lr, li, base, G, c[b], s[b], acc)
            outc[th, b] += _dual_phase(pr, pi, lr, li, base, T, mode, d, idx, vals, gammas[b], tr[b], ti[b], libm)


@njit(cache=True, parallel=True)
def dual_high_pass(psi, lam, N, q0, kq, L, pad, c, s, outx):
    """Backward step, high part: inverse-rotate qubits q0..q0+kq-1 of psi and lam via gathered rows."""
    B = psi.shape[0]
    R = 1 << kq
    S = L + pad
    chunks = (1 << q0) // L
    his = N >> (q0 + kq)
    per_b = his * chunks
    units = B * per_b
    nth = outx.shape[0]
    for th in prange(nth):
        bp = np.empty((4, R * S), dtype=psi.dtype)
        acc = np.zeros(L, dtype=np.float64)
        u0 = th * units // nth
        u1 = (th + 1) * units // nth
        for u in range(u0, u1):
            b = u // per_b
            rem = u % per_b
            hi = rem // chunks
            off = (hi << (q0 + kq)) + (rem % chunks) * L
            for j in range(R):
                src = off + (j << q0)
                dst = j * S
                bp[0, dst : dst + L] = psi[b, 0, src : src + L]
                bp[1, dst : dst + L] = psi[b, 1, src : src + L]
                bp[2, dst : dst + L] = lam[b, 0, src : src + L]
                bp[3, dst : dst + L] = lam[b, 1, src : src + L]
            outx[th, b] += _dual_rotate_rows(bp[0], bp[1], bp[2], bp[3], 0, kq, S, L, c[b], s[b], acc)
            for j in range(R):
                src = off + (j << q0)
                dst = j * S
                psi[b, 0, src : src + L] = bp[0, dst : dst + L]
                psi[b, 1, src : src + L] = bp[1, dst : dst + L]
                lam[b, 0, src : src + L] = bp[2, dst : dst + L]
                lam[b, 1, src : src + L] = bp[3, dst : dst + L]


@njit(cache=True, parallel=True)
def apply_cost(psi, lam, N, mode, d, idx, vals, out):
    """lam = C·psi; out[thread, b] receives partial sums of <psi|C|psi>."""
    B = psi.shape[0]
    T = 1 << 14 if N > (1 << 14) else N
    tiles = N // T
    units = B * tiles
    nth = out.shape[0]
    for th in prange(nth):
        u0 = th * units // nth
        u1 = (th + 1) * units // nth
        for u in range(u0, u1):
            b = u // tiles
            base = (u % tiles) * T
            acc = 0.0
            for x in range(base, base + T):
                dx = vals[idx[x]] if mode == 2 else d[x]
                a = psi[b, 0, x]
                c = psi[b, 1, x]
                lam[b, 0, x] = a * dx
                lam[b, 1, x] = c * dx
                acc += dx * (np.float64(a) * a + np.float64(c) * c)
            out[th, b] += acc


# ----------------------------------------------------------------------------------------------
# cost diagonal and its integer encoding


@njit(cache=True, parallel=True)
def diag_extend(out, q, g_lo, g_hi, m):
    """out[2^q + y] = out[y] + g_lo[y mod 2^m] + g_hi[y >> m] for y < 2^q (one step of the doubling)."""
    h = 1 << q
    bl = 1 << m
    for blk in prange(h >> m):
        ghi = g_hi[blk]
        src = out[blk * bl : (blk + 1) * bl]
        dst = out[h + blk * bl : h + (blk + 1) * bl]
        for lo in range(bl):
            dst[lo] = src[lo] + (g_lo[lo] + ghi)


@njit(cache=True, parallel=True)
def encode_levels(diag, lo, scale, idx, worst):
    """idx[x] = round((diag[x] - lo) / scale); worst[thread] = largest |diag - (lo + scale·idx)|."""
    N = diag.shape[0]
    nth = worst.shape[0]
    for th in prange(nth):
        a = th * N // nth
        b = (th + 1) * N // nth
        w = 0.0
        for x in range(a, b):
            v = math.floor((diag[x] - lo) / scale + 0.5)
            idx[x] = v
            e = abs(diag[x] - (lo + scale * v))
            w = max(w, e)
        worst[th] = w


# ----------------------------------------------------------------------------------------------
# integer costs streamed from the QUBO (no float diagonal), and streaming reductions over a state


@njit(cache=True)
def _chunk_tables(h, m, m1, a, Bm, ta, tb):
    """For the high bits h of a chunk: fill ta/tb with the low-variable linear terms the set high bits
    induce (split over the low m1 bits and the rest) and return the energy of the high bits alone."""
    n = a.shape[0]
    khigh = 0
    ta[0] = 0
    tb[0] = 0
    m2 = m - m1
    # linear terms of low variable j given h: sum over set high bits i of B[i, j]
    for j in range(m1):
        w = 0
        for i in range(m, n):
            if (h >> (i - m)) & 1:
                w += Bm[i, j]
        s = 1 << j
        for y in range(s):
            ta[s + y] = ta[y] + w
    for j in range(m2):
        w = 0
        for i in range(m, n):
            if (h >> (i - m)) & 1:
                w += Bm[i, m1 + j]
        s = 1 << j
        for y in range(s):
            tb[s + y] = tb[y] + w
    for i in range(m, n):
        if (h >> (i - m)) & 1:
            khigh += a[i]
            for k in range(m, i):
                if (h >> (k - m)) & 1:
                    khigh += Bm[i, k]
    return khigh


@njit(cache=True, parallel=True)
def int_cost_scan(n, m, m1, a, Bm, klow, k0, idx, write, kmin, kmax, kargmin):
    """Enumerate the integer energy K(x) = sum_i a_i x_i + sum_(i<j) B_ij x_i x_j of all 2^n states.

    Chunk by chunk (2^m low bits each): K = klow[low] + (linear terms the set high bits induce on the
    low bits, from two small tables) + (energy of the high bits). Per thread: min, max and first argmin;
    with `write`, also idx[x] = K(x) - k0 (the level index).
    """
    chunks = 1 << (n - m)
    nth = kmin.shape[0]
    mask = (1 << m1) - 1
    for th in prange(nth):
        c0 = th * chunks // nth
        c1 = (th + 1) * chunks // nth
        ta = np.empty(1 << m1, dtype=np.int64)
        tb = np.empty(1 << (m - m1), dtype=np.int64)
        lo = np.iinfo(np.int64).max
        hi = np.iinfo(np.int64).min
        arg = -1
        for h in range(c0, c1):
            kh = _chunk_tables(h, m, m1, a, Bm, ta, tb)
            base = h << m
            clo = np.iinfo(np.int64).max
            chi = np.iinfo(np.int64).min
            for hb in range(1 << (m - m1)):  # rows of 2^m1 contiguous states: plain vectorizable loops
                t = tb[hb] + kh
                row = hb << m1
                for lb in range(1 << m1):
                    k = klow[row + lb] + ta[lb] + t
                    clo = min(clo, k)
                    chi = max(chi, k)
                if write:
                    dst = idx[base + row : base + row + (1 << m1)]
                    for lb in range(1 << m1):
                        dst[lb] = klow[row + lb] + ta[lb] + (t - k0)
            if clo < lo:  # first argmin: only in the (rare) chunks that lower the minimum
                lo = clo
                for low in range(1 << m):
                    if klow[low] + ta[low & mask] + tb[low >> m1] + kh == clo:
                        arg = base + low
                        break
            hi = max(hi, chi)
        kmin[th] = lo
        kmax[th] = hi
        kargmin[th] = arg


@njit(cache=True, parallel=True)
def block_masses(r, i, N, T, out):
    """out[j] = sum of |amp|² over the block [j·T, (j+1)·T) of one planar state (float64 sums)."""
    for j in prange(N // T):
        acc = 0.0
        for x in range(j * T, (j + 1) * T):
            a = np.float64(r[x])
            c = np.float64(i[x])
            acc += a * a + c * c
        out[j] = acc


@njit(cache=True, parallel=True)
def level_mass(r, i, N, mode, d, idx, target, fval, out):
    """out[thread] = sum of |amp|² over the states whose level index is `target` (mode 2) or whose
    cost equals `fval` (float diagonal)."""
    nth = out.shape[0]
    for th in prange(nth):
        x0 = th * N // nth
        x1 = (th + 1) * N // nth
        acc = 0.0
        for x in range(x0, x1):
            hit = idx[x] == target if mode == 2 else d[x] == fval
            if hit:
                a = np.float64(r[x])
                c = np.float64(i[x])
                acc += a * a + c * c
        out[th] = acc


@njit(cache=True)
def first_index(idx, target):
    """The first x with idx[x] == target, or -1."""
    for x in range(idx.shape[0]):
        if idx[x] == target:
            return x
    return -1


@njit(cache=True, parallel=True)
def top_k_scan(r, i, N, k, out_idx, out_p):
    """Per thread, the k most probable states of its contiguous share (ties: lower index first).

    Each thread keeps its k best in a small array and replaces the current worst when a state beats
    it; scanning in index order, an equal probability never displaces an earlier index.
    """
    nth = out_idx.shape[0]
    for th in prange(nth):
        x0 = th * N // nth
        x1 = (th + 1) * N // nth
        cnt = 0
        worst = 0
        for x in range(x0, x1):
            a = np.float64(r[x])
            c = np.float64(i[x])
            pr = a * a + c * c
            if cnt < k:
                out_idx[th, cnt] = x
                out_p[th, cnt] = pr
                cnt += 1
                if cnt == k:
                    worst = 0
                    for j in range(1, k):
                        if out_p[th, j] < out_p[th, worst] or (
                            out_p[th, j] == out_p[th, worst] and out_idx[th, j] > out_idx[th, worst]
                        ):
                            worst = j
            elif pr > out_p[th, worst]:
                out_idx[th, worst] = x
                out_p[th, worst] = pr
                worst = 0
                for j in range(1, k):
                    if out_p[th, j] < out_p[th, worst] or (
                        out_p[th, j] == out_p[th, worst] and out_idx[th, j] > out_idx[th, worst]
                    ):
                        worst = j
        for j in range(cnt, k):
            out_idx[th, j] = -1
            out_p[th, j] = -1.0
