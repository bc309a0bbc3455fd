"""Pauli-string read-out of `QuantumLayer`: parsing and the tables that turn a state into expectations.

A Pauli string P (Qiskit order: the rightmost letter acts on qubit 0) maps a basis state to another with
a phase: P|x> = i^{#Y} (-1)^{popcount(x & zy)} |x ^ m>, where m marks the X/Y letters and zy the Z/Y
ones. So <ψ|P|ψ> = i^{#Y} Σ_x (-1)^{popcount(x & zy)} conj(ψ[x ^ m]) ψ[x]: a sign-weighted sum of
|ψ|² for strings of I and Z (one matrix product for all of them), and of one gathered product per
distinct flip mask m otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qscale.errors import QscaleUserError


def default_readout(n: int) -> list[str]:
    """<Z_i> for every qubit i, in qubit order (output i = qubit i)."""
    return ["I" * (n - 1 - i) + "Z" + "I" * i for i in range(n)]


def parse_readout(readout: object, n: int) -> list[str]:
    if readout is None:
        return default_readout(n)
    if isinstance(readout, str) or not isinstance(readout, list | tuple) or not readout:
        raise QscaleUserError("readout must be a non-empty list of Pauli strings such as ['ZI', 'XX']")
    out = []
    for p in readout:
        if not isinstance(p, str) or len(p) != n or set(p.upper()) - set("IXYZ"):
            raise QscaleUserError(
                f"readout term {p!r} must be a string of {n} letters from I, X, Y, Z (rightmost = qubit 0)"
            )
        out.append(p.upper())
    return out


@dataclass(frozen=True)
class PauliTerm:
    flip: int  # m: bits of X and Y letters
    zy: int  # bits of Z and Y letters
    n_y: int


def pauli_term(p: str) -> PauliTerm:
    flip = zy = n_y = 0
    for q, ch in enumerate(reversed(p)):
        if ch in "XY":
            flip |= 1 << q
        if ch in "ZY":
            zy |= 1 << q
        n_y += ch == "Y"
    return PauliTerm(flip, zy, n_y)


def parity_signs(masks: list[int], n: int) -> np.ndarray:
    """(2^n, len(masks)) of (-1)^{popcount(x & mask)}, float64."""
    x = np.arange(2**n, dtype=np.int64)
    out = np.empty((2**n, len(masks)), dtype=np.float64)
    for j, m in enumerate(masks):
        v = x & m
        par = np.zeros_like(v)
        while m:
            par ^= v & 1
            v >>= 1
            m >>= 1
        out[:, j] = 1.0 - 2.0 * par
    return out


@dataclass
class ReadoutGroup:
    """Terms sharing one flip mask: out[:, cols] = Re(phase · Σ_x conj(ψ[x^flip]) ψ[x] · signs[x])."""

    flip: int
    cols: list[int]
    zy: list[int]
    phases: list[complex]  # i^{#Y}


def group_terms(terms: list[str]) -> list[ReadoutGroup]:
    groups: dict[int, ReadoutGroup] = {}
    for j, p in enumerate(terms):
        t = pauli_term(p)
        g = groups.setdefault(t.flip, ReadoutGroup(t.flip, [], [], []))
        g.cols.append(j)
        g.zy.append(t.zy)
        g.phases.append(1j**t.n_y)
    return list(groups.values())
