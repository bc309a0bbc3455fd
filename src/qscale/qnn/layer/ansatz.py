"""Encodings and ansätze of `QuantumLayer`: their gates, as numbers for the simulator and as a `Circuit`.

Every ansatz layer is "one rotation sequence on every qubit, then a fixed entangler of CNOT/CZ gates".
That shape is what makes the layer fast: the rotations of one layer form a Kronecker product that
depends on the weights only (shared by the whole batch), and the entangler is a signed permutation of
basis states (`entangler_table`), so it never needs a matrix.

Conventions follow Qiskit (qubit 0 = least significant bit of a basis index; RX(θ) = exp(-iθX/2), ...),
which for these gates are also PennyLane's, so a PennyLane model's wire i is qubit i here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit

ENCODINGS = ("angle_x", "angle_y", "angle_z", "amplitude")


@dataclass(frozen=True)
class Ansatz:
    """One family of layers: `rotations` applied on each qubit (first listed = applied first), then
    the entangler's two-qubit gates in order.

    `weight_shape` follows PennyLane's templates: (L, n, 3) for StronglyEntanglingLayers and (L, n) for
    BasicEntanglerLayers (one angle per qubit).
    """

    name: str
    rotations: tuple[str, ...]
    squeeze: bool  # weights stored as (L, n) rather than (L, n, 1)
    description: str

    def weight_shape(self, n_layers: int, n_qubits: int) -> tuple[int, ...]:
        if self.squeeze:
            return (n_layers, n_qubits)
        return (n_layers, n_qubits, len(self.rotations))

    def entangler(self, layer: int, n: int) -> list[tuple[str, int, int]]:
        """The two-qubit gates ("cx", control, target) or ("cz", a, b) of ansatz layer `layer`."""
        if n == 1:
            return []
        if self.name == "strongly_entangling":
            r = (layer % (n - 1)) + 1  # PennyLane's default ranges
            return [("cx", i, (i + r) % n) for i in range(n)]
        if self.name == "basic":
            if n == 2:  # PennyLane's "ring" pattern on two wires is a single CNOT
                return [("cx", 0, 1)]
            return [("cx", i, (i + 1) % n) for i in range(n)]
        return [("cz", i, i + 1) for i in range(n - 1)]


ANSATZE = {
    "strongly_entangling": Ansatz(
        "strongly_entangling",
        ("rz", "ry", "rz"),
        False,
        "PennyLane StronglyEntanglingLayers: Rot(φ,θ,ω)=RZ(ω)RY(θ)RZ(φ) on every qubit, then CNOT i -> (i+r) mod n "
        "with r = (l mod (n-1)) + 1",
    ),
    "basic": Ansatz(
        "basic",
        ("ry",),
        True,
        "RY(θ) on every qubit, then a CNOT ring i -> (i+1) mod n (one CNOT for n = 2), as PennyLane's "
        "BasicEntanglerLayers(rotation=RY)",
    ),
    "hardware_efficient": Ansatz(
        "hardware_efficient",
        ("ry", "rz"),
        False,
        "RY(θ) then RZ(φ) on every qubit, then a linear chain of CZ(i, i+1): the Euler-rotation plus native "
        "entangler layout of Kandala et al., Nature 549, 242 (2017), with CZ as on current superconducting QPUs",
    ),
}


class HalfAngle(torch.autograd.Function):
    """(cos(a/2), sin(a/2)), on CPU by numpy: torch's CPU cos/sin go to MKL's vector math, which starts an
    OpenMP team even for a few numbers; on a busy machine the caller then spins at its barrier for a
    descheduled thread, milliseconds per call and several calls per training step."""

    @staticmethod
    def forward(ctx, a: torch.Tensor):
        if a.device.type == "cpu":
            h = a.detach().numpy() / 2
            c, s = torch.from_numpy(np.cos(h)), torch.from_numpy(np.sin(h))
        else:
            c, s = torch.cos(a / 2), torch.sin(a / 2)
        ctx.save_for_backward(c, s)
        return c, s

    @staticmethod
    def backward(ctx, gc: torch.Tensor | None, gs: torch.Tensor | None):
        c, s = ctx.saved_tensors
        g = torch.zeros_like(c)
        if gc is not None:
            g = g - gc * s
        if gs is not None:
            g = g + gs * c
        return g / 2


def rotation_matrices(name: str, angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(..., 2, 2) complex matrices of RX/RY/RZ for angles of any shape (differentiable)."""
    c, s = HalfAngle.apply(angles)
    z = torch.zeros_like(c)
    if name == "rx":
        re = torch.stack((c, z, z, c), -1)
        im = torch.stack((z, -s, -s, z), -1)
    elif name == "ry":
        re = torch.stack((c, -s, s, c), -1)
        im = torch.stack((z, z, z, z), -1)
    elif name == "rz":
        re = torch.stack((c, z, z, c), -1)
        im = torch.stack((-s, z, z, s), -1)
    else:
        raise ValueError(name)
    return torch.complex(re, im).to(dtype).reshape(*angles.shape, 2, 2)


def mm2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b for batches of 2x2 matrices, elementwise: tiny batched matmuls would go to a threaded BLAS call
    whose thread start-up costs far more than the 8 multiplications."""
    a0, a1 = a[..., :, 0:1], a[..., :, 1:2]  # columns of a
    return a0 * b[..., 0:1, :] + a1 * b[..., 1:2, :]


def layer_rotations(ansatz: Ansatz, weights: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(L, n, 2, 2): the single-qubit unitary of every layer and qubit (product of its rotations)."""
    w = weights.unsqueeze(-1) if ansatz.squeeze else weights
    u = None
    for k, name in enumerate(ansatz.rotations):
        r = rotation_matrices(name, w[..., k], dtype)
        u = r if u is None else mm2(r, u)
    return u


_H = np.array([[1, 1], [1, -1]]) / math.sqrt(2)


def encoding_matrices(encoding: str, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(..., 2, 2): the encoding gate of each feature (angle_z is RZ(x)·H, so the angle is not a mere phase)."""
    if encoding == "angle_x":
        return rotation_matrices("rx", x, dtype)
    if encoding == "angle_y":
        return rotation_matrices("ry", x, dtype)
    if encoding == "angle_z":
        h = torch.as_tensor(_H, dtype=dtype, device=x.device)
        return mm2(rotation_matrices("rz", x, dtype), h.expand(*x.shape, 2, 2))
    raise ValueError(encoding)


def entangler_table(gates: list[tuple[str, int, int]], n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The entangler E as a signed permutation: (E ψ)[y] = sign[y] · ψ[perm[y]].

    Built by pushing every basis index through the gates (CNOT flips a bit, CZ flips a sign), so the
    cost is O(2^n · gates) integer work once per layer shape, never a 2^n x 2^n matrix.
    """
    x = np.arange(2**n, dtype=np.int64)
    sign = np.ones(2**n, dtype=np.int8)
    for name, a, b in gates:
        if name == "cx":
            x ^= ((x >> a) & 1) << b
        else:
            sign *= np.where(((x >> a) & (x >> b) & 1) == 1, -1, 1).astype(np.int8)
    # basis state |i> goes to sign[i] |x[i]>; gather form needs the inverse map
    perm = np.empty_like(x)
    perm[x] = np.arange(2**n, dtype=np.int64)
    has_sign = bool((sign < 0).any())
    return perm, (sign[perm].astype(np.float64) if has_sign else None)


def build_circuit(
    n: int,
    encoding: str,
    ansatz: Ansatz,
    weights: np.ndarray,
    slots: np.ndarray | None,
    reupload: bool,
) -> Circuit:
    """The qscale `Circuit` of one input row (angle encodings; amplitude preparation is added by the caller).

    slots (S, n_in): the encoding angles used before ansatz layer l are slots[l] with re-uploading
    (S = L), slots[0] before layer 0 otherwise.
    """
    circ = Circuit(n)
    w = weights[..., None] if ansatz.squeeze else weights

    def encode(layer: int) -> None:
        if slots is None or encoding == "amplitude":
            return
        for q, v in enumerate(slots[layer if reupload else 0]):
            if encoding == "angle_x":
                circ.rx(q, float(v))
            elif encoding == "angle_y":
                circ.ry(q, float(v))
            else:
                circ.h(q).rz(q, float(v))

    for layer in range(w.shape[0]):
        if layer == 0 or reupload:
            encode(layer)
        for q in range(n):
            for k, name in enumerate(ansatz.rotations):
                getattr(circ, name)(q, float(w[layer, q, k]))
        for name, a, b in ansatz.entangler(layer, n):
            getattr(circ, name)(a, b)
    return circ


def check_choice(value: str, options, what: str) -> str:
    if value not in options:
        raise QscaleUserError(f"unknown {what} {value!r}: use one of {', '.join(options)}")
    return value
