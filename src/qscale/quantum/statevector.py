"""Batched, differentiable statevector simulation of a `Circuit` with PyTorch (CPU or CUDA).

The state is a (B, 2^n) tensor; qubit q is bit q of the basis index (Qiskit's order). A gate
views the state as blocks around its qubits, so no gate ever builds a 2^n x 2^n matrix.
Runs of single-qubit gates on one qubit are fused into one 2x2 matrix first, permutation gates
(X, CX, SWAP) move amplitudes instead of multiplying, diagonal gates (RZ, RZZ, CZ, ...) are one
elementwise product, and all of them write into two ping-pong buffers rather than allocating a
new state per gate. Gradients come from the adjoint method (see `_Adjoint`), plugged into torch
autograd, so a deep circuit does not keep one state per gate for its backward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit, Operation, ParamExpr
from qscale.quantum.device import real_dtype, resolve_device, resolve_dtype
from qscale.quantum.memory import check_memory
from qscale.validation import check_int

_S2 = 1.0 / np.sqrt(2.0)
_W = np.exp(1j * np.pi / 4)
_CONST_DENSE = {
    "h": np.array([[_S2, _S2], [_S2, -_S2]]),
    "x": np.array([[0, 1], [1, 0]]),
    "y": np.array([[0, -1j], [1j, 0]]),
}
_CONST_DIAG = {
    "z": np.array([1, -1]),
    "s": np.array([1, 1j]),
    "sdg": np.array([1, -1j]),
    "t": np.array([1, _W]),
    "tdg": np.array([1, np.conj(_W)]),
    "cz": np.array([1, 1, 1, -1]),
}
# Generators used by the rotations: R(θ) = cos(θ/2)·I + sin(θ/2)·G
_GEN = {
    "rx": np.array([[0, -1j], [-1j, 0]]),
    "ry": np.array([[0, -1], [1, 0]]),
    "rxx": -1j * np.fliplr(np.eye(4)),
    "ryy": -1j * np.array([[0, 0, 0, -1], [0, 0, 1, 0], [0, 1, 0, 0], [-1, 0, 0, 0]]),
}
_PERMUTATIONS = ("x", "cx", "swap")
_DIAG_ROTATIONS = ("rz", "p", "rzz", "crz")
_DENSE = torch.contiguous_format  # every buffer is viewed as blocks, so it must be contiguous


_PROJ = {"p0": np.diag([1, 0]), "p1": np.diag([0, 1]), "eye2": np.eye(2), "eye4": np.eye(4)}
_TABLES = {"dense": _CONST_DENSE, "diag": _CONST_DIAG, "gen": _GEN, "proj": _PROJ}


@lru_cache(maxsize=256)
def _const(key: str, kind: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Constant gate tensors, built once per dtype and device (never modified in place)."""
    return torch.as_tensor(np.asarray(_TABLES[kind][key], dtype=np.complex128), dtype=dtype, device=device)


@dataclass
class _Gate:
    """A gate ready to apply: kind is 'diag' (data (..., K)), 'dense' (data (..., K, K)) or a permutation."""

    kind: str
    qubits: tuple[int, ...]
    data: torch.Tensor | None = None


def _rotation(name: str, theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Matrices (..., K, K) or diagonals (..., K) of a rotation for angles of any shape (...)."""
    dev = theta.device
    half = theta / 2
    c = torch.cos(half).to(dtype)
    s = torch.sin(half).to(dtype)
    if name in ("rz", "rzz", "crz"):
        m, p = c - 1j * s, c + 1j * s  # e^{-iθ/2}, e^{+iθ/2}
        one = torch.ones_like(c)
        cols = {"rz": (m, p), "rzz": (m, p, p, m), "crz": (one, m, one, p)}[name]
        return torch.stack(cols, -1)
    if name == "p":
        return torch.stack((torch.ones_like(c), torch.polar(torch.ones_like(theta), theta).to(dtype)), -1)
    base = "rx" if name == "crx" else "ry" if name == "cry" else name
    eye = _const("eye4" if base in ("rxx", "ryy") else "eye2", "proj", dtype, dev)
    u = c[..., None, None] * eye + s[..., None, None] * _const(base, "gen", dtype, dev)
    if name in ("crx", "cry"):  # qubits (control, target): control is the low bit of the index
        p0, p1 = _const("p0", "proj", dtype, dev), _const("p1", "proj", dtype, dev)
        active = torch.einsum("...ab,cd->...acbd", u, p1).reshape(*u.shape[:-2], 4, 4)
        u = active + torch.kron(_const("eye2", "proj", dtype, dev), p0)
    return u


def _gate_tensors(ops: Sequence[Operation], circuit: Circuit, theta, dtype, device) -> list:
    """Matrix or diagonal of every op (None for permutations).

    Rotations of one kind are built together from one gather of their angles, so a deep circuit
    costs a handful of small tensor operations per gate kind rather than per gate.
    """
    rdtype = real_dtype(dtype)
    out: list[torch.Tensor | None] = [None] * len(ops)
    kinds: dict[tuple[str, bool], list[int]] = {}
    for i, op in enumerate(ops):
        if op.name in _CONST_DENSE and op.name not in _PERMUTATIONS:
            out[i] = _const(op.name, "dense", dtype, device)
        elif op.name in _CONST_DIAG:
            out[i] = _const(op.name, "diag", dtype, device)
        elif op.name == "unitary":
            out[i] = torch.tensor(op.matrix, dtype=dtype, device=device)
        elif op.angles:
            kinds.setdefault((op.name, isinstance(op.angles[0], ParamExpr)), []).append(i)
    for (name, symbolic), idx in kinds.items():
        angles = [ops[i].angles[0] for i in idx]
        if symbolic:
            if theta is None:
                raise QscaleUserError("circuit has symbolic angles but no parameter values were given")
            cols = torch.tensor([circuit.parameter_index(a.parameter) for a in angles], device=device)
            scale = torch.tensor([a.scale for a in angles], dtype=rdtype, device=device)
            offset = torch.tensor([a.offset for a in angles], dtype=rdtype, device=device)
            values = theta[:, cols] * scale + offset
            values = values[0] if values.shape[0] == 1 else values  # (m,) or (Bp, m)
        else:
            values = torch.tensor(angles, dtype=rdtype, device=device)
        mats = _rotation(name, values, dtype)
        axis = -2 if name in _DIAG_ROTATIONS else -3
        for j, i in enumerate(idx):
            out[i] = mats.select(axis, j)
    return out


def _gates(ops: Sequence[Operation], tensors: list, groups: list[list[int]], dtype, device) -> list[_Gate]:
    def one(i: int) -> _Gate:
        name, data = ops[i].name, tensors[i]
        if name in _PERMUTATIONS:
            return _Gate(name, ops[i].qubits)
        kind = "diag" if name in _CONST_DIAG or name in _DIAG_ROTATIONS else "dense"
        return _Gate(kind, ops[i].qubits, data)

    return [_fuse([one(i) for i in grp], dtype, device) for grp in groups]


def _plan(ops: Sequence[Operation]) -> list[list[int]]:
    """Group op indices: runs of 1-qubit gates on one qubit (fusable) and single multi-qubit ops."""
    pending: dict[int, list[int]] = {}
    groups: list[list[int]] = []
    for i, op in enumerate(ops):
        if len(op.qubits) == 1:
            pending.setdefault(op.qubits[0], []).append(i)
            continue
        for q in op.qubits:
            if pending.get(q):
                groups.append(pending.pop(q))
        groups.append([i])
    groups.extend(run for _, run in sorted(pending.items()) if run)
    return groups


def _fuse(gates: list[_Gate], dtype, device) -> _Gate:
    """Product of single-qubit gates on one qubit (later gates on the left)."""
    if len(gates) == 1:
        return gates[0]
    if all(g.kind == "diag" for g in gates):
        d = gates[0].data
        for g in gates[1:]:
            d = g.data * d
        return _Gate("diag", gates[0].qubits, d)
    m = None
    for g in gates:
        if g.kind == "diag":
            gm = torch.diag_embed(g.data)
        elif g.kind == "x":
            gm = _const("x", "dense", dtype, device)
        else:
            gm = g.data
        m = gm if m is None else gm @ m
    return _Gate("dense", gates[0].qubits, m)


def _block_shape(n: int, qubits: Sequence[int]) -> tuple[int, ...]:
    """Shape (after the batch axis) exposing each qubit as a size-2 axis, highest qubit first."""
    shape, top = [], n
    for q in sorted(qubits, reverse=True):
        shape += [2 ** (top - q - 1), 2]
        top = q
    shape.append(2**top)
    return tuple(shape)


def _apply_diag(state: torch.Tensor, spare: torch.Tensor, n: int, g: _Gate):
    k, B = len(g.qubits), state.shape[0]
    d = g.data if g.data.ndim == 2 else g.data[None]
    d = d.reshape(d.shape[0], *([2] * k))  # axis i+1 <-> qubits[k-1-i]
    order = sorted(range(k), key=lambda i: -g.qubits[k - 1 - i])
    d = d.permute(0, *[i + 1 for i in order])
    d = d.reshape(d.shape[0], *[s for _ in range(k) for s in (1, 2)], 1)
    state.view(B, *_block_shape(n, g.qubits)).mul_(d)
    return state, spare


def _apply_dense1(state: torch.Tensor, spare: torch.Tensor, n: int, g: _Gate):
    q, B, u = g.qubits[0], state.shape[0], g.data
    L, R = 2 ** (n - q - 1), 2**q
    v, o = state.view(B, L, 2, R), spare.view(B, L, 2, R)
    if state.is_cuda:  # four elementwise kernels; cuBLAS is slow on the tiny batched products below

        def coef(i: int, j: int) -> torch.Tensor:
            return u[:, i, j, None, None] if u.ndim == 3 else u[i, j]

        for i in (0, 1):
            torch.mul(v[:, :, 0], coef(i, 0), out=o[:, :, i])
            o[:, :, i].addcmul_(v[:, :, 1], coef(i, 1))
    elif R == 1:
        torch.matmul(state.view(B, L, 2), u.mT, out=spare.view(B, L, 2))
    else:
        torch.matmul(u[:, None] if u.ndim == 3 else u, v, out=o)
    return spare, state


def _apply_dense(state: torch.Tensor, spare: torch.Tensor, n: int, g: _Gate):
    """k-qubit matrix: move the gate's axes last (into spare), multiply, move them back."""
    k, B = len(g.qubits), state.shape[0]
    src = [n - q for q in reversed(g.qubits)]  # axis of qubits[k-1], ..., qubits[0]
    dst = list(range(n + 1 - k, n + 1))
    full = (B, *([2] * n))
    spare.view(full).copy_(state.view(full).movedim(src, dst))
    torch.matmul(spare.view(B, -1, 2**k), g.data.mT, out=state.view(B, -1, 2**k))
    spare.view(full).copy_(state.view(full).movedim(dst, src))
    return spare, state


def _apply_permutation(state: torch.Tensor, spare: torch.Tensor, n: int, g: _Gate):
    """X, SWAP and CX as amplitude moves; `spare` is scratch space, never allocated anew."""
    B, shape = state.shape[0], _block_shape(n, g.qubits)
    v, o = state.view(B, *shape), spare.view(B, *shape)
    if g.kind == "x":
        o[:, :, 0].copy_(v[:, :, 1])
        o[:, :, 1].copy_(v[:, :, 0])
        return spare, state
    if g.kind == "swap":
        a, b, t = v[:, :, 0, :, 1], v[:, :, 1, :, 0], o[:, :, 0, :, 1]
    elif g.qubits[0] > g.qubits[1]:  # cx, axes (B, A, control, M, target, R)
        a, b, t = v[:, :, 1, :, 0], v[:, :, 1, :, 1], o[:, :, 1, :, 0]
    else:  # cx, axes (B, A, target, M, control, R)
        a, b, t = v[:, :, 0, :, 1], v[:, :, 1, :, 1], o[:, :, 0, :, 1]
    t.copy_(a)
    a.copy_(b)
    b.copy_(t)
    return state, spare


def _apply(state: torch.Tensor, spare: torch.Tensor, n: int, g: _Gate):
    """Apply one gate outside autograd using two same-size buffers; returns (state, spare).

    The caller must own both buffers: they are overwritten, and may come back swapped.
    """
    if g.kind == "diag":
        return _apply_diag(state, spare, n, g)
    if g.kind == "dense":
        if len(g.qubits) == 1:
            return _apply_dense1(state, spare, n, g)
        return _apply_dense(state, spare, n, g)
    return _apply_permutation(state, spare, n, g)


def _inverse(g: _Gate) -> _Gate:
    if g.kind == "diag":
        return _Gate("diag", g.qubits, g.data.conj())
    if g.kind == "dense":
        return _Gate("dense", g.qubits, g.data.mH)
    return g  # X, CX and SWAP are their own inverses


def _gate_grad(lam: torch.Tensor, psi: torch.Tensor, n: int, g: _Gate) -> torch.Tensor:
    """Torch's gradient of the gate tensor: sum over the other qubits of lam ⊗ conj(psi_before)."""
    B, k = lam.shape[0], len(g.qubits)
    shape = (B, *_block_shape(n, g.qubits))
    letters = list("cdefg"[: 2 * k + 1])
    pos = {q: 2 * i + 1 for i, q in enumerate(sorted(g.qubits, reverse=True))}
    order = list(reversed(g.qubits))  # matrix index: qubits[k-1] most significant
    lam_l, psi_l = letters.copy(), letters.copy()
    for j, q in enumerate(order):
        lam_l[pos[q]] = "wx"[j]
        psi_l[pos[q]] = "wx"[j] if g.kind == "diag" else "yz"[j]
    out = "b" + "".join(lam_l[pos[q]] for q in order)
    if g.kind != "diag":
        out += "".join(psi_l[pos[q]] for q in order)
    spec = f"b{''.join(lam_l)},b{''.join(psi_l)}->{out}"
    r = torch.einsum(spec, lam.view(shape), psi.view(shape).conj())
    r = r.reshape(B, 2**k) if g.kind == "diag" else r.reshape(B, 2**k, 2**k)
    return r if g.data.ndim == r.ndim else r.sum(0)


class _Adjoint(torch.autograd.Function):
    """Run the gates forward and get gradients by the adjoint method.

    Backward walks the circuit in reverse, undoing each (unitary) gate on the saved final state
    and on the incoming gradient, so memory stays at a few state vectors however deep the circuit,
    where plain autograd would keep one state per gate.
    """

    @staticmethod
    def forward(ctx, n: int, gates: list[_Gate], state0: torch.Tensor, *datas: torch.Tensor):
        state, spare = state0.clone(memory_format=_DENSE), torch.empty_like(state0, memory_format=_DENSE)
        for g in gates:
            state, spare = _apply(state, spare, n, g)
        del spare
        ctx.n, ctx.gates = n, gates
        ctx.save_for_backward(state)
        return state

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        (final,) = ctx.saved_tensors
        n, gates = ctx.n, ctx.gates
        want_state, want = ctx.needs_input_grad[2], ctx.needs_input_grad[3:]
        slots, k = [], 0  # gate index -> position among the tensor inputs (-1: permutation)
        for g in gates:
            slots.append(k if g.data is not None else -1)
            k += g.data is not None
        needed = [i for i, s in enumerate(slots) if s >= 0 and want[s]]
        stop = 0 if want_state else min(needed, default=len(gates))
        grads: list[torch.Tensor | None] = [None] * k
        psi, lam, spare = final.clone(), grad.clone(memory_format=_DENSE), torch.empty_like(final)
        for i in range(len(gates) - 1, stop - 1, -1):
            g, inv = gates[i], _inverse(gates[i])
            psi, spare = _apply(psi, spare, n, inv)  # state before gate i
            if slots[i] >= 0 and want[slots[i]]:
                grads[slots[i]] = _gate_grad(lam, psi, n, g)
            if i > stop or want_state:
                lam, spare = _apply(lam, spare, n, inv)
        return None, None, (lam if want_state else None), *grads


def _as_params(circuit: Circuit, params: object, rdtype: torch.dtype, device: torch.device):
    P = circuit.n_parameters
    if params is None:
        if P:
            raise QscaleUserError(f"circuit has {P} parameters but no parameter values were given")
        return None
    if isinstance(params, torch.Tensor):
        t = params
    else:
        try:
            t = torch.as_tensor(np.asarray(params, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise QscaleUserError(f"parameter values must be real numbers: {exc}") from None
    if t.is_complex():
        raise QscaleUserError("parameter values must be real, got a complex tensor")
    if t.ndim == 1:
        t = t[None]
    if t.ndim != 2 or t.shape[0] == 0:
        raise QscaleUserError(f"parameters must have shape (P,) or (B, P), got {tuple(t.shape)}")
    if t.shape[1] != P:
        raise QscaleUserError(f"circuit has {P} parameters but {t.shape[1]} values were given per set")
    return t.to(device=device, dtype=rdtype)


def _state_batch(initial_state: object, n: int) -> int:
    """Batch size of an initial state, checked by shape alone (nothing is copied yet)."""
    if initial_state is None:
        return 1
    shape = tuple(initial_state.shape) if hasattr(initial_state, "shape") else np.shape(initial_state)
    if len(shape) not in (1, 2) or shape[-1] != 2**n or (len(shape) == 2 and shape[0] == 0):
        raise QscaleUserError(f"initial_state must have shape (2^n,) or (B, 2^n) with 2^n = {2**n}, got {tuple(shape)}")
    return shape[0] if len(shape) == 2 else 1


def _as_state(initial_state: object, B: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A fresh (B, 2^n) copy that simulate() may modify in place."""
    t = initial_state if isinstance(initial_state, torch.Tensor) else torch.as_tensor(np.asarray(initial_state))
    if t.ndim == 1:
        t = t[None]
    return t.to(device=device, dtype=dtype).expand(B, -1).clone(memory_format=_DENSE)


def simulate(
    circuit: Circuit,
    params: object = None,
    initial_state: object = None,
    *,
    dtype: str | torch.dtype = torch.complex128,
    device: str | torch.device | None = "cpu",
) -> torch.Tensor:
    """Final state(s) of `circuit`, shape (B, 2^n); B = 1 for an unbatched call.

    `params` is (P,) or (B, P) in the circuit's parameter order; `initial_state` is (2^n,) or
    (B, 2^n) and defaults to |0...0>. A batch of one on either side broadcasts to the other.
    Gradients flow to `params` and `initial_state` when they require grad.
    """
    if not isinstance(circuit, Circuit):
        raise QscaleUserError(f"simulate expects a Circuit, got {type(circuit).__name__}")
    dtype, device = resolve_dtype(dtype), resolve_device(device)
    n = circuit.n_qubits
    theta = _as_params(circuit, params, real_dtype(dtype), device)
    bs = _state_batch(initial_state, n)
    bp = 1 if theta is None else theta.shape[0]
    if bp > 1 and bs > 1 and bp != bs:
        raise QscaleUserError(f"parameter batch ({bp}) and initial_state batch ({bs}) differ")
    B = max(bp, bs)

    tracked = torch.is_grad_enabled() and (
        (theta is not None and theta.requires_grad)
        or (isinstance(initial_state, torch.Tensor) and initial_state.requires_grad)
    )
    # untracked: the state and one scratch buffer. Tracked (adjoint): the saved final state, the
    # incoming gradient, working copies of both, one scratch buffer and two einsum temporaries.
    check_memory(n, B, dtype, device, copies=7 if tracked else 2, what="state vector")

    ops = circuit.operations
    gates = _gates(ops, _gate_tensors(ops, circuit, theta, dtype, device), _plan(ops), dtype, device)
    if initial_state is None:
        state = torch.zeros(B, 2**n, dtype=dtype, device=device)
        state[:, 0] = 1
    else:
        state = _as_state(initial_state, B, dtype, device)
    if not tracked:
        with torch.no_grad():
            spare = torch.empty_like(state)
            for g in gates:
                state, spare = _apply(state, spare, n, g)
        return state
    datas = [g.data for g in gates if g.data is not None]
    return _Adjoint.apply(n, gates, state, *datas)


def probabilities(psi: torch.Tensor) -> torch.Tensor:
    """|amplitude|^2 with psi's shape, in the matching real dtype (differentiable)."""
    return psi.real.square() + psi.imag.square()


def sample(psi: torch.Tensor, shots: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """Basis-state indices drawn from |psi|^2: shape (B, shots), or (shots,) for a 1-D psi.

    Reproducible for a given seed on any device: probabilities go to float64 numpy and a
    numpy Generator draws uniforms looked up in the cumulative sum (fine for 2^24 outcomes).
    """
    check_int(shots, "shots", min=1)
    p = probabilities(psi.detach()).to(torch.float64).cpu().numpy()
    single = p.ndim == 1
    p = np.atleast_2d(p)
    rng = np.random.default_rng(seed)
    out = np.empty((p.shape[0], int(shots)), dtype=np.int64)
    for b, row in enumerate(p):
        cdf = np.cumsum(row)
        total = cdf[-1]
        if not np.isfinite(total) or total <= 0:
            raise QscaleUserError("cannot sample from a state with zero or non-finite norm")
        u = rng.random(int(shots)) * total
        out[b] = np.minimum(np.searchsorted(cdf, u, side="right"), row.size - 1)
    return out[0] if single else out


def counts(indices: np.ndarray, n_qubits: int) -> dict[str, int]:
    """Qiskit-style counts {bitstring: count} (qubit 0 rightmost) from 1-D sampled indices."""
    values, freq = np.unique(np.asarray(indices).ravel(), return_counts=True)
    return {format(int(v), f"0{n_qubits}b"): int(f) for v, f in zip(values, freq, strict=True)}
