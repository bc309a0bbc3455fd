"""Circuit-level qPCA: phase estimation of exp(-i rho t) by density-matrix exponentiation, on density matrices.

What is simulated (nothing here looks at rho's eigenvectors):
* One DME step is the gate circuit `controlled_partial_swap` on (system, fresh copy of rho, parity ancilla,
  control), after which the copy is discarded. Its effect on (control, system) is the closed-form channel of
  `qscale.quantum.density.controlled_dme_step`; tests check that channel against the gate circuit (through
  the state-vector simulator) and against brute-force tensor-product simulation.
* Phase estimation is run in its semiclassical form (Griffiths & Niu, PRL 76, 3228, 1996): one control qubit
  per bit, largest power first, measured at once, with the earlier outcomes feeding a phase correction. By
  the deferred-measurement principle its outcome distribution and post-measurement states equal those of the
  textbook circuit (b control qubits, inverse QFT) with the powers applied in that order. Every branch of
  the measurement tree is kept, so the result is the exact outcome distribution and, for each outcome x, the
  system state left behind (what tomography then measures).
* n identical DME steps are composed exactly by repeated squaring of the step's superoperator (d^2 x d^2);
  `stepwise=True` applies them one by one instead (tests check both agree).
Memory: the superoperator powers take b * d^4 complex numbers and the tree 2^b * d^2, checked before
allocating; the circuit level is capped at `MAX_SYSTEM_QUBITS` (d <= 32), above which the resource model runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from qscale.algorithms.qpca.schedule import Schedule
from qscale.errors import QscaleUserError
from qscale.quantum.circuit import Circuit
from qscale.quantum.density import as_tensor, controlled_dme_powers, controlled_dme_step, n_qubits_of
from qscale.quantum.device import resolve_device
from qscale.quantum.memory import check_memory

MAX_SYSTEM_QUBITS = 5
MAX_CIRCUIT_BITS = 12


def toffoli(qc: Circuit, a: int, b: int, target: int) -> Circuit:
    """CCX from 6 CNOTs, H, T and T^dagger (Nielsen & Chuang, Fig. 4.9)."""
    qc.h(target).cx(b, target).tdg(target).cx(a, target).t(target).cx(b, target).tdg(target).cx(a, target)
    return qc.t(b).t(target).h(target).cx(a, b).t(a).tdg(b).cx(a, b)


def controlled_partial_swap(m: int, dt: float) -> Circuit:
    """Controlled exp(-i S dt) on 2m + 2 qubits: system 0..m-1, copy m..2m-1, parity ancilla 2m, control 2m+1.

    CX(s_q, c_q) then H(s_q) maps the singlet of each pair to |11> and the triplets to the other three basis
    states, so S = (-1)^(parity of s_q AND c_q). The parity goes into the ancilla (m Toffolis), a controlled
    RZ(2 dt) on it gives exp(-i dt S) when the control is 1, and the rest is uncomputed. The ancilla starts
    and ends in |0>.
    """
    if m < 1:
        raise QscaleUserError(f"the partial swap needs at least one system qubit, got {m}")
    qc = Circuit(2 * m + 2)
    anc, ctrl = 2 * m, 2 * m + 1
    for q in range(m):
        qc.cx(q, m + q).h(q)
    for q in range(m):
        toffoli(qc, q, m + q, anc)
    qc.crz(ctrl, anc, 2 * dt)
    for q in reversed(range(m)):
        toffoli(qc, q, m + q, anc)
    for q in reversed(range(m)):
        qc.h(q).cx(q, m + q)
    return qc


@dataclass
class CircuitQPE:
    probabilities: np.ndarray  # (2^b,) outcome distribution (exact, from the branch tree)
    states: torch.Tensor  # (2^b, d, d) post-measurement system states, unnormalised (trace = probability)


def _check_size(m: int, bits: int, device: torch.device) -> None:
    if m > MAX_SYSTEM_QUBITS or bits > MAX_CIRCUIT_BITS:
        # name the memory first: the superoperator of a DME step is d^2 x d^2 (2^(4m) entries)
        check_memory(4 * m, bits, torch.complex128, device, copies=3, what="DME superoperators (circuit-level qPCA)")
        check_memory(bits + 2 * m, 1, torch.complex128, device, copies=4, what="QPE branch states (circuit-level qPCA)")
        raise QscaleUserError(
            f"circuit-level qPCA simulates at most {MAX_SYSTEM_QUBITS} system qubits and {MAX_CIRCUIT_BITS} bits "
            f"(asked {m} qubits, {bits} bits; its cost grows as bits * 2^(12 m)): use --method model"
        )
    check_memory(4 * m, bits + 2, torch.complex128, device, copies=1, what="DME superoperators (circuit-level qPCA)")
    check_memory(bits + 2 * m, 1, torch.complex128, device, copies=4, what="QPE branch states (circuit-level qPCA)")


def simulate_qpe(rho: object, schedule: Schedule, device: str = "cpu", stepwise: bool = False) -> CircuitQPE:
    """Run semiclassical QPE of exp(-i rho t) by DME on the input state rho; keep every measurement branch."""
    dev = resolve_device(device)
    r = as_tensor(rho, torch.complex128, dev)
    m, b, d = n_qubits_of(r), schedule.bits, r.shape[-1]
    _check_size(m, b, dev)
    if stepwise and schedule.copies > 200_000:
        raise QscaleUserError(f"stepwise DME with {schedule.copies} copies is too slow; use the default powering")
    powers: list[tuple[torch.Tensor, torch.Tensor]] = []
    if not stepwise:
        a, phi = controlled_dme_powers(r, schedule.dt, schedule.n0)
        for _k in range(b):
            powers.append((a, phi))
            a, phi = a @ a, phi @ phi
    nodes = r[None].clone()  # level 0: one node, the input copy of rho
    for level in range(b):
        k = b - 1 - level  # control k applies U^(2^k): largest power first
        half = nodes / 2  # control prepared in |+>: every block is sigma / 2
        if stepwise:
            blocks = half[:, None, None].expand(-1, 2, 2, -1, -1).clone()
            for _ in range(schedule.steps(k)):
                blocks = controlled_dme_step(blocks, r, schedule.dt)
            b10, b01, b11 = blocks[:, 1, 0], blocks[:, 0, 1], blocks[:, 1, 1]
        else:
            a, phi = powers[k]
            b10 = a @ half
            b01 = half @ a.mH
            b11 = (half.reshape(-1, d * d) @ phi.mT).reshape(-1, d, d)
        # phase correction from the bits already measured (node index r = those bits), then H and measure
        omega = 2 * math.pi * torch.arange(nodes.shape[0], device=dev, dtype=torch.float64) / 2 ** (level + 1)
        phase = torch.polar(torch.ones_like(omega), -omega).to(torch.complex128)[:, None, None]
        coherent = phase * b10 + phase.conj() * b01
        diag = half + b11
        nodes = torch.cat([(diag + coherent) / 2, (diag - coherent) / 2])  # outcome bit `level` = 0, then 1
    probs = torch.diagonal(nodes, dim1=-2, dim2=-1).sum(-1).real.clamp_min(0).cpu().numpy()
    return CircuitQPE(probabilities=probs, states=nodes)
