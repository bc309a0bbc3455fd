"""Parameterised circuits for VQE and Born machines, built on `qscale.quantum.circuit.Circuit`.

- hardware-efficient: RY·RZ on every qubit, then `depth` times (CX chain, RY·RZ) — Kandala et al., Nature
  549, 242 (2017) style; 2n(depth+1) parameters.
- QAOA-style (Hamiltonian variational): |+>^n, then `depth` times exp(-iγ H_Z)·exp(-iβ Σ X), with H_Z the
  Z-only part of the Hamiltonian; 2·depth parameters.
- chemistry-inspired H2: the Hartree-Fock reference |01> and one particle-conserving excitation
  cos(θ/2)|01> + sin(θ/2)|10>, the only rotation the reduced 2-qubit H2 ground state needs; 1 parameter.
- strongly-entangling layers (Schuld et al., PRA 101, 032308, 2020; PennyLane's StronglyEntanglingLayers):
  RZ·RY·RZ on every qubit and CX(q, q+r) with range r = l mod (n-1) + 1; 3n·depth parameters (Born machine).
"""

from __future__ import annotations

from itertools import pairwise

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit
from qscale.quantum.pauli import PauliSum
from qscale.validation import check_int

ANSATZE = ("hea", "qaoa", "chemistry")
MAX_DEPTH = 200


def _check(n: int, depth: int, least_depth: int = 0) -> None:
    check_int(n, "number of qubits", min=1)
    check_int(depth, "--depth", min=least_depth, max=MAX_DEPTH)


def hardware_efficient(n: int, depth: int) -> Circuit:
    """RY·RZ rotation layer, then `depth` × (CX chain 0→1→…→n-1, RY·RZ layer)."""
    _check(n, depth)
    c = Circuit(n)

    def rotations(layer: int) -> None:
        for q in range(n):
            c.ry(q, c.parameter(f"ry{layer}_{q}"))
            c.rz(q, c.parameter(f"rz{layer}_{q}"))

    rotations(0)
    for layer in range(1, depth + 1):
        for q in range(n - 1):
            c.cx(q, q + 1)
        rotations(layer)
    return c


def _z_exponential(c: Circuit, qubits: list[int], angle) -> None:
    """exp(-i·angle/2·Z⊗…⊗Z) on `qubits`: RZ / RZZ directly, longer strings with a CX parity ladder."""
    if len(qubits) == 1:
        c.rz(qubits[0], angle)
    elif len(qubits) == 2:
        c.rzz(qubits[0], qubits[1], angle)
    else:
        ladder = list(pairwise(qubits))
        for a, b in ladder:
            c.cx(a, b)
        c.rz(qubits[-1], angle)
        for a, b in reversed(ladder):
            c.cx(a, b)


def qaoa_style(op: PauliSum, depth: int) -> Circuit:
    """|+>^n then `depth` × (exp(-iγ_l H_Z), exp(-iβ_l Σ X)); H_Z = the Z-only, non-identity terms of `op`."""
    n = op.n_qubits
    _check(n, depth, least_depth=1)
    z_terms = [
        ([q for q, ch in enumerate(reversed(lab)) if ch == "Z"], float(coef))
        for lab, coef in op.terms
        if set(lab) <= {"I", "Z"} and set(lab) != {"I"} and coef != 0.0
    ]
    if not z_terms:
        raise QscaleUserError("the QAOA-style ansatz needs Z-only terms in the Hamiltonian (none found)")
    c = Circuit(n)
    for q in range(n):
        c.h(q)
    for layer in range(depth):
        gamma, beta = c.parameter(f"gamma{layer}"), c.parameter(f"beta{layer}")
        for qubits, coef in z_terms:  # exp(-iγ c Z_S) = exp(-i (2cγ)/2 Z_S)
            _z_exponential(c, qubits, gamma * (2.0 * coef))
        for q in range(n):
            c.rx(q, beta * 2.0)
    return c


def h2_chemistry() -> Circuit:
    """HF state |01> (qubit 0 occupied) and the excitation |01> → cos(θ/2)|01> + sin(θ/2)|10>."""
    c = Circuit(2)
    c.x(0)
    c.ry(1, c.parameter("theta"))
    c.cx(1, 0)
    return c


def strongly_entangling(n: int, depth: int) -> Circuit:
    """`depth` × (RZ·RY·RZ on every qubit, CX(q, (q+r) mod n) with r = l mod (n-1) + 1)."""
    _check(n, depth, least_depth=1)
    c = Circuit(n)
    for layer in range(depth):
        for q in range(n):
            c.rz(q, c.parameter(f"a{layer}_{q}"))
            c.ry(q, c.parameter(f"b{layer}_{q}"))
            c.rz(q, c.parameter(f"c{layer}_{q}"))
        if n > 1:
            r = layer % (n - 1) + 1
            for q in range(n):
                c.cx(q, (q + r) % n)
    return c


def build_ansatz(name: str, op: PauliSum, depth: int) -> Circuit:
    """The VQE ansatz by name: hea, qaoa or chemistry (H2 only)."""
    if name == "hea":
        return hardware_efficient(op.n_qubits, depth)
    if name == "qaoa":
        return qaoa_style(op, depth)
    if name == "chemistry":
        if op.n_qubits != 2:
            raise QscaleUserError("the chemistry ansatz is the 2-qubit H2 excitation; use hea or qaoa here")
        return h2_chemistry()
    raise QscaleUserError(f"unknown ansatz {name!r}: use {', '.join(ANSATZE)}")
