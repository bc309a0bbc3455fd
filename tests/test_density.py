"""Density-matrix tools and the DME partial-swap channel (Lloyd, Mohseni & Rebentrost, Nat. Phys. 2014)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch

from qscale.algorithms.qpca.circuit import controlled_partial_swap
from qscale.errors import QscaleUserError
from qscale.quantum import density as dens
from qscale.quantum.circuit import two_qubit_depth
from qscale.quantum.statevector import simulate

C128 = torch.complex128


def random_state(d: int, seed: int, rank: int | None = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, rank or d, generator=g, dtype=torch.float64) + 1j * torch.randn(
        d, rank or d, generator=g, dtype=torch.float64
    )
    r = a @ a.mH
    return (r / torch.trace(r)).to(C128)


def swap_matrix(m: int) -> np.ndarray:
    """Register swap built independently of qscale: |j>|i> <-> |i>|j> with i the low register."""
    d = 2**m
    s = np.zeros((d * d, d * d))
    for hi in range(d):
        for lo in range(d):
            s[lo * d + hi, hi * d + lo] = 1
    return s


def test_partial_trace_and_apply_unitary_match_kronecker_products():
    a, b, c = random_state(2, 1), random_state(4, 2), random_state(2, 3)
    full = torch.kron(torch.kron(a, b), c)  # a on qubit 3, b on qubits 1-2, c on qubit 0
    assert torch.allclose(dens.partial_trace(full, [0]), c)
    assert torch.allclose(dens.partial_trace(full, [1, 2]), b)
    assert torch.allclose(dens.partial_trace(full, [3, 0]), torch.kron(a, c))
    u = torch.tensor(scipy.stats.unitary_group.rvs(2, random_state=4), dtype=C128)
    eye2 = torch.eye(2, dtype=C128)
    on_q2 = torch.kron(torch.kron(eye2, u), torch.eye(4, dtype=C128))
    assert torch.allclose(dens.apply_unitary(full, u, [2]), on_q2 @ full @ on_q2.mH)


def test_apply_unitary_two_qubit_order_follows_circuit_convention():
    """qubits[0] is the least significant bit of the gate's index, as Circuit.unitary."""
    rho = random_state(8, 5)
    u = torch.tensor(scipy.stats.unitary_group.rvs(4, random_state=6), dtype=C128)
    for qs in ([0, 2], [2, 0], [1, 0]):
        full = torch.zeros(8, 8, dtype=C128)
        for i in range(8):
            for j in range(8):
                bi, bj = [(i >> q) & 1 for q in range(3)], [(j >> q) & 1 for q in range(3)]
                other = next(q for q in range(3) if q not in qs)
                if bi[other] == bj[other]:
                    full[i, j] = u[bi[qs[0]] + 2 * bi[qs[1]], bj[qs[0]] + 2 * bj[qs[1]]]
        assert torch.allclose(dens.apply_unitary(rho, u, qs), full @ rho @ full.mH)


@pytest.mark.parametrize("m", [1, 2])
@pytest.mark.parametrize("dt", [0.05, 0.4, 1.3])
def test_one_dme_step_matches_the_closed_form(m, dt):
    """Brute force (sigma (x) rho, exp(-iS dt) from scipy's expm, partial trace) == the closed form."""
    d = 2**m
    sigma, rho = random_state(d, 10 + m), random_state(d, 20 + m, rank=2)
    u = torch.tensor(scipy.linalg.expm(-1j * dt * swap_matrix(m)), dtype=C128)
    joint = torch.kron(rho, sigma)  # copy on the high qubits
    brute = dens.partial_trace(u @ joint @ u.mH, range(m))
    c, s = math.cos(dt), math.sin(dt)
    anchor = c * c * sigma + s * s * rho - 1j * s * c * (rho @ sigma - sigma @ rho)
    assert torch.allclose(brute, anchor, atol=1e-13)
    assert torch.allclose(dens.dme_step(sigma, rho, dt), anchor, atol=1e-13)
    assert torch.allclose(dens.dme_step_exact(sigma, rho, dt), anchor, atol=1e-13)
    vec = dens.dme_superoperator(rho, dt) @ sigma.reshape(-1)
    assert torch.allclose(vec.reshape(d, d), anchor, atol=1e-13)


def test_partial_swap_unitary_is_the_exponential_of_the_swap():
    u = dens.partial_swap_unitary(2, 0.7)
    assert np.allclose(u.numpy(), scipy.linalg.expm(-0.7j * swap_matrix(2)))


@pytest.mark.parametrize("m", [1, 2])
def test_controlled_dme_step_blocks_match_brute_force(m):
    """Control (top qubit) (x) copy (x) system, controlled-exp(-iS dt), copy traced out: blockwise formulas."""
    d, dt = 2**m, 0.3
    rho = random_state(d, 30 + m, rank=2)
    blocks = torch.stack(
        [torch.stack([random_state(d, 40 + 2 * a + b) * (1 + 0.5j * (a - b)) for b in (0, 1)]) for a in (0, 1)]
    )
    full = sum(torch.kron(torch.kron(_unit(a, b), rho), blocks[a, b]) for a in (0, 1) for b in (0, 1))
    u = torch.tensor(scipy.linalg.expm(-1j * dt * swap_matrix(m)), dtype=C128)
    cu = torch.block_diag(torch.eye(d * d, dtype=C128), u)
    out = dens.partial_trace(cu @ full @ cu.mH, [*range(m), 2 * m])  # keep system and control
    got = dens.controlled_dme_step(blocks, rho, dt)
    for a in (0, 1):
        for b in (0, 1):
            assert torch.allclose(out[a * d : (a + 1) * d, b * d : (b + 1) * d], got[a, b], atol=1e-13)


def _unit(a: int, b: int) -> torch.Tensor:
    e = torch.zeros(2, 2, dtype=C128)
    e[a, b] = 1
    return e


@pytest.mark.parametrize("m", [1, 2])
def test_gate_circuit_implements_controlled_partial_swap(m):
    """The gate-level DME step (CX/H basis change, Toffoli parity, CRZ) == controlled exp(-iS dt), via simulate."""
    dt = 0.37
    qc = controlled_partial_swap(m, dt)
    n = qc.n_qubits
    full = simulate(qc, initial_state=torch.eye(2**n, dtype=C128)).T  # column j = image of basis state j
    anc = 2 * m
    d2 = 4**m
    idx = [c * 2 ** (2 * m + 1) + r for c in (0, 1) for r in range(d2)]  # parity ancilla 0 in and out
    sub = full[np.ix_(idx, idx)]
    expected = torch.block_diag(torch.eye(d2, dtype=C128), torch.tensor(scipy.linalg.expm(-1j * dt * swap_matrix(m))))
    assert torch.allclose(sub, expected, atol=1e-12)
    leak = [i for i in range(2**n) if (i >> anc) & 1]
    assert float(full[np.ix_(leak, idx)].abs().max()) < 1e-12  # the ancilla is returned to |0>
    assert two_qubit_depth(qc) > 0


@pytest.mark.parametrize("t", [1.0, 2.5])
def test_dme_converges_to_the_unitary_at_rate_one_over_copies(t):
    """Trace distance to exp(-i rho t) sigma exp(i rho t) <= 4 t^2 / n (Go et al.) and falls as 1/n."""
    sigma, rho = random_state(4, 50), random_state(4, 51, rank=2)
    target = dens.unitary_evolve(sigma, rho, t)
    ns = np.array([20, 40, 80, 160, 320])
    errs = np.array([dens.trace_distance(dens.dme_evolve(sigma, rho, t, int(n)), target) for n in ns])
    assert np.all(errs <= 4 * t * t / ns)
    slope = np.polyfit(np.log(ns), np.log(errs), 1)[0]
    assert -1.1 < slope < -0.9
    assert errs[-1] < errs[0] / 10


def test_powered_steps_equal_stepwise_steps():
    sigma, rho = random_state(4, 60), random_state(4, 61)
    a_n, phi_n = dens.controlled_dme_powers(rho, 0.02, 37)
    assert torch.allclose((phi_n @ sigma.reshape(-1)).reshape(4, 4), dens.dme_evolve(sigma, rho, 0.74, 37), atol=1e-13)
    step = math.cos(0.02) * torch.eye(4, dtype=C128) - 1j * math.sin(0.02) * rho
    assert torch.allclose(a_n, torch.linalg.matrix_power(step, 37), atol=1e-13)
    assert torch.allclose(dens.matrix_power(step, 0), torch.eye(4, dtype=C128))


def test_bad_shapes_are_user_errors():
    with pytest.raises(QscaleUserError, match="power of two"):
        dens.n_qubits_of(torch.eye(3, dtype=C128))
    with pytest.raises(QscaleUserError, match="square"):
        dens.n_qubits_of(torch.zeros(2, 4, dtype=C128))
    with pytest.raises(QscaleUserError, match="distinct"):
        dens.apply_unitary(torch.eye(4, dtype=C128), torch.eye(4, dtype=C128), [0, 0])
    with pytest.raises(QscaleUserError, match="4x4"):
        dens.apply_unitary(torch.eye(4, dtype=C128), torch.eye(2, dtype=C128), [0, 1])
