"""Block solvers and the batched QAOA kernel: correctness against dense/brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qscale.llm.quant import make_quantizer
from qscale.llm.quant.hessian import HessianAccumulator
from qscale.llm.quant.qaoa_kernel import normalise, qaoa_state
from qscale.llm.quant.resources import coupling_rounds, qaoa_resources
from qscale.llm.quant.solvers import AnnealingSolver, QaoaSolver, assignments, energy_table


def layer(rows: int = 48, cols: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(1000, cols, generator=gen) @ (torch.randn(cols, cols, generator=gen) * 0.3 + torch.eye(cols))
    acc = HessianAccumulator(cols)
    acc.add(X)
    return torch.randn(rows, cols, generator=gen) * 0.05, acc.hessian


def dense_qaoa(diag: np.ndarray, gammas: list[float], betas: list[float]) -> np.ndarray:
    """Reference: full 2^n x 2^n mixer built from Kronecker products (qubit 0 = least significant bit)."""
    n = int(math.log2(diag.size))
    psi = np.full(diag.size, 1 / math.sqrt(diag.size), dtype=complex)
    for g, b in zip(gammas, betas, strict=True):
        psi = np.exp(-1j * g * diag) * psi
        rx = np.array([[math.cos(b), -1j * math.sin(b)], [-1j * math.sin(b), math.cos(b)]])
        mixer = np.ones((1, 1))
        for _ in range(n):
            mixer = np.kron(mixer, rx)
        psi = mixer @ psi
    return psi


def test_qaoa_kernel_matches_dense_reference():
    rng = np.random.default_rng(0)
    diags = rng.normal(size=(3, 16))
    gammas, betas = [0.3, -0.7, 1.1], [0.9, 0.4, -0.2]
    g, b = torch.tensor(gammas, dtype=torch.float64), torch.tensor(betas, dtype=torch.float64)
    got = qaoa_state(torch.from_numpy(diags), g, b)
    for r in range(3):
        np.testing.assert_allclose(got[r].numpy(), dense_qaoa(diags[r], gammas, betas), atol=1e-12)


def test_mixer_at_half_pi_flips_every_qubit():
    """exp(-i·π/2·X) = -iX per qubit: the ground state of a cost that is 0 only on |0101> goes to |1010>."""
    diag = torch.ones(1, 16, dtype=torch.float64)
    diag[0, 0b0101] = 0.0
    # γ = π on a 0/1 diagonal marks |0101> with a relative sign; β = π/2 then maps index a to a XOR 1111
    psi_marked = qaoa_state(diag, torch.tensor([math.pi]), torch.tensor([math.pi / 2]))
    amp = psi_marked[0]
    assert torch.isclose(amp[0b1010], -amp[0b0000]) and torch.isclose(amp[0b1010].abs(), torch.tensor(0.25).double())


def test_assignment_order_is_qubit_zero_least_significant():
    X = assignments(3)
    assert X[0b110].tolist() == [0.0, 1.0, 1.0]
    Q = torch.diag(torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64))
    E = energy_table(Q, torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    assert E[0, 0b110] == 110.0


def test_normalise_gives_zero_mean_unit_std():
    dn = normalise(torch.randn(4, 64, dtype=torch.float64) * 7 + 3)
    assert torch.allclose(dn.mean(1), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(dn.std(1, correction=0), torch.ones(4, dtype=torch.float64))


def test_qaoa_finds_block_optima_far_more_often_than_random_guessing():
    """Block size 8, one variable per weight, p = 2, 256 shots: >= 0.9 optimal, well above random guesses."""
    W, H = layer()
    q = make_quantizer("qubo", bits=3, solver=QaoaSolver(p=2, shots=256, seed=0)).fit(W, H)
    n = q.stats_["block_qubos"]
    optimal = q.stats_["optimal_count"] / n
    random_guess = q.stats_["random_optimal_count"] / n
    assert optimal >= 0.9
    assert optimal > random_guess + 0.15
    assert q.stats_["p_optimal_sum"] / n > 10 / 256  # the state itself concentrates on the optimum


def test_qaoa_with_one_shot_is_not_always_optimal():
    """Guard against a solver that peeks at the exact answer: one sample cannot be right every time."""
    W, H = layer(rows=16)
    q = make_quantizer("qubo", bits=3, solver=QaoaSolver(p=1, shots=1, seed=0)).fit(W, H)
    assert q.stats_["optimal_count"] < q.stats_["block_qubos"]


def test_simulated_annealing_finds_block_optima():
    W, H = layer(rows=16)
    q = make_quantizer("qubo", bits=3, solver=AnnealingSolver(num_reads=8, num_sweeps=100, seed=1)).fit(W, H)
    assert q.stats_["optimal_count"] / q.stats_["block_qubos"] >= 0.95


def test_resources_for_complete_eight_qubit_blocks():
    res = qaoa_resources([{"qubits": 8, "couplings": 28, "circuits": 1000}], p=3, shots=256)
    assert res["kind"] == "projected"
    assert res["two_qubit_gates_per_circuit"] == 3 * 28
    assert res["two_qubit_gates_total"] == 3 * 28 * 1000
    assert res["depth_per_circuit"] == 1 + 3 * (7 + 1)
    assert res["shots_total"] == 256_000
    assert coupling_rounds(7, 21) == 7 and coupling_rounds(8, 3) == 3


@pytest.mark.parametrize("bad", [{"p": 0}, {"shots": 0}])
def test_qaoa_solver_rejects_bad_settings(bad):
    from qscale.errors import QscaleUserError

    with pytest.raises(QscaleUserError):
        QaoaSolver(**bad)
