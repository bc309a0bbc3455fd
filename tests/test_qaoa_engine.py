"""QAOA engine: agreement with Qiskit circuits, between backends and cache-blocking layouts, adjoint
gradients, the integer phase table, sampling, and the memory guard."""

from __future__ import annotations

import functools
import itertools
import math

import dimod
import numpy as np
import pytest
import torch

from qscale.errors import QscaleUserError
from qscale.quantum import _kernels as kern
from qscale.quantum.qaoa_engine import QAOASimulator, integer_levels
from qscale.quantum.qubo import cost_diagonal, variable_order

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _random_qubo(n: int, seed: int) -> dimod.BinaryQuadraticModel:
    rng = np.random.default_rng(seed)
    linear = {f"v{i}": float(rng.normal()) for i in range(n)}
    quad = {
        (f"v{a}", f"v{b}"): float(rng.normal()) for a, b in itertools.combinations(range(n), 2) if rng.random() < 0.5
    }
    return dimod.BinaryQuadraticModel(linear, quad, float(rng.normal()), "BINARY")


def _qiskit_qaoa_state(bqm: dimod.BinaryQuadraticModel, gammas, betas) -> np.ndarray:
    """Reference: the QAOA circuit built gate by gate in Qiskit, global phase included.

    With x = (1 - Z)/2 the QUBO energy is const + sum a_i Z_i + sum b_ij Z_i Z_j, so
    exp(-i·γ·C) = e^{-iγ·const} · prod RZ(2γ a_i) · prod RZZ(2γ b_ij).
    """
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector

    order = variable_order(bqm)
    q = {v: i for i, v in enumerate(order)}
    n = len(order)
    const = bqm.offset + sum(bqm.linear.values()) / 2 + sum(bqm.quadratic.values()) / 4
    a = {v: -bqm.linear[v] / 2 - sum(bqm.adj[v].values()) / 4 for v in order}
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for g, b in zip(gammas, betas, strict=True):
        qc.global_phase -= g * const
        for v in order:
            qc.rz(2 * g * a[v], q[v])
        for (u, v), j in bqm.quadratic.items():
            qc.rzz(2 * g * j / 4, q[u], q[v])
        qc.rx(2 * b, range(n))
    return Statevector(qc).data


@pytest.mark.parametrize(("n", "p"), [(1, 1), (3, 2), (6, 3), (9, 2), (14, 3)])
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_matches_qiskit_circuit(n, p, backend):
    bqm = _random_qubo(n, seed=10 * n + p)
    rng = np.random.default_rng(n + p)
    gammas, betas = rng.uniform(-1.2, 1.2, p), rng.uniform(-1.6, 1.6, p)
    ref = _qiskit_qaoa_state(bqm, gammas, betas)
    diag = cost_diagonal(bqm)
    sim = QAOASimulator(diag, device="cpu", backend=backend, low_qubits=7, group_qubits=4, lanes=16)
    psi = sim.statevector(gammas, betas)[0].numpy()
    np.testing.assert_allclose(psi, ref, rtol=0, atol=1e-10)  # global phase included
    e_ref = float(np.sum(np.abs(ref) ** 2 * diag))
    assert sim.expectation(gammas, betas).item() == pytest.approx(e_ref, abs=1e-8)
    sim32 = QAOASimulator(diag, device="cpu", dtype="complex64", backend=backend)
    psi32 = sim32.statevector(gammas, betas)[0].numpy()
    assert psi32.dtype == np.complex64
    np.testing.assert_allclose(psi32, ref, rtol=0, atol=2e-5)
    assert sim32.expectation(gammas, betas).item() == pytest.approx(e_ref, abs=1e-4 * max(1, abs(e_ref)))


# (low_qubits, group_qubits, lanes): tiles below, at and above the 2^6 register block, several
# high-qubit groups with lanes narrower than the stride, and the defaults.
LAYOUTS = [(2, 2, 8), (4, 3, 8), (5, 2, 8), (6, 3, 8), (7, 4, 16), (9, 5, 64), (13, 10, 32), (14, 10, 128)]


@functools.cache
def _per_qubit_reference(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, torch.Tensor]:
    """Diagonal, angles and the plain per-qubit torch statevectors, shared by every layout."""
    rng = np.random.default_rng(n)
    diag = rng.normal(size=2**n) * 3
    # both rotation forms: |tan β| <= 1 (0.3) and the cot form (1.2, -2.0)
    betas = np.array([[0.3, 1.2], [-2.0, 0.7], [1.2, -0.4]])
    gammas = rng.uniform(-1, 1, (3, 2))
    ref = QAOASimulator(diag, device="cpu", backend="torch", torch_group=1).statevector(gammas, betas)
    return diag, gammas, betas, ref


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 8, 10, 13, 16])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_cache_blocked_kernels_equal_per_qubit_torch(n, layout):
    diag, gammas, betas, ref = _per_qubit_reference(n)
    sim = QAOASimulator(diag, backend="numba", low_qubits=layout[0], group_qubits=layout[1], lanes=layout[2])
    got = sim.statevector(gammas, betas)
    assert got.shape == (3, 2**n)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    single = sim.statevector(gammas[1], betas[1])
    assert single.shape == (1, 2**n)
    torch.testing.assert_close(single[0], ref[1], rtol=0, atol=1e-12)
    e = sim.expectation(gammas, betas)
    e_ref = (ref.abs() ** 2) @ torch.as_tensor(diag)
    torch.testing.assert_close(e, e_ref, rtol=0, atol=1e-11)


def test_large_state_all_layouts_agree_n20():
    rng = np.random.default_rng(20)
    diag = rng.integers(-20, 5, 2**20).astype(float)
    gammas, betas = np.array([0.2, -0.5]), np.array([1.1, 0.4])
    ref = QAOASimulator(diag, device="cpu", backend="torch", torch_group=5).statevector(gammas, betas)
    for layout in [(14, 10, 128), (13, 10, 32), (14, 6, 64), (12, 4, 16)]:
        got = QAOASimulator(diag, low_qubits=layout[0], group_qubits=layout[1], lanes=layout[2]).statevector(
            gammas, betas
        )
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)


def test_torch_group_sizes_agree():
    rng = np.random.default_rng(3)
    diag = rng.normal(size=2**9)
    g, b = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 3))
    ref = QAOASimulator(diag, device="cpu", backend="torch", torch_group=1).statevector(g, b)
    for k in (2, 4, 9):
        got = QAOASimulator(diag, device="cpu", backend="torch", torch_group=k).statevector(g, b)
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("layout", [(3, 2, 8), (6, 2, 8), (13, 10, 32)])
@pytest.mark.parametrize("integer", [False, True])
def test_adjoint_gradient_matches_finite_differences_and_autograd(layout, integer):
    n, p = 8, 3
    rng = np.random.default_rng(11)
    diag = rng.integers(-6, 7, 2**n).astype(float) if integer else rng.normal(size=2**n)
    g = rng.uniform(-1, 1, (2, p))
    b = np.array([[0.4, 1.3, -0.2], [-1.1, 0.1, 2.2]])
    sim = QAOASimulator(diag, low_qubits=layout[0], group_qubits=layout[1], lanes=layout[2])
    assert (sim.levels is not None) == integer
    e, dg, db = sim.expectation_and_grad(g, b)
    np.testing.assert_allclose(e, sim.expectation(g, b).numpy(), rtol=0, atol=1e-12)
    h = 1e-5
    for layer in range(p):
        for which, grad in (("g", dg), ("b", db)):
            plus_g, plus_b, minus_g, minus_b = g.copy(), b.copy(), g.copy(), b.copy()
            (plus_g if which == "g" else plus_b)[:, layer] += h
            (minus_g if which == "g" else minus_b)[:, layer] -= h
            fd = (sim.expectation(plus_g, plus_b).numpy() - sim.expectation(minus_g, minus_b).numpy()) / (2 * h)
            np.testing.assert_allclose(grad[:, layer], fd, rtol=0, atol=1e-6)
    # torch autograd through the torch backend
    tsim = QAOASimulator(diag, device="cpu", backend="torch")
    gt = torch.tensor(g, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    tsim.expectation(gt, bt).sum().backward()
    np.testing.assert_allclose(dg, gt.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=0, atol=1e-10)
    # the torch backend's own adjoint
    e2, dg2, db2 = tsim.expectation_and_grad(g, b)
    np.testing.assert_allclose(e2, e, atol=1e-12)
    np.testing.assert_allclose(dg2, dg, atol=1e-10)
    np.testing.assert_allclose(db2, db, atol=1e-10)


def test_numba_expectation_is_differentiable_with_autograd():
    rng = np.random.default_rng(4)
    diag = rng.normal(size=2**7)
    sim = QAOASimulator(diag, low_qubits=4, group_qubits=2)
    g = torch.tensor([0.3, -0.7], requires_grad=True)
    b = torch.tensor([0.9, 0.2], requires_grad=True)
    e = sim.expectation(g, b)
    assert e.shape == (1,) and e.requires_grad
    (3.0 * e).sum().backward()
    _, dg, db = sim.expectation_and_grad(g.detach(), b.detach())
    np.testing.assert_allclose(g.grad.numpy(), 3.0 * dg[0], atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), 3.0 * db[0], atol=1e-12)


def test_gradient_complex64_close_to_complex128():
    rng = np.random.default_rng(8)
    diag = rng.normal(size=2**8)
    g, b = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    _, dg, db = QAOASimulator(diag, low_qubits=5, group_qubits=2).expectation_and_grad(g, b)
    _, dg32, db32 = QAOASimulator(diag, dtype="complex64", low_qubits=5, group_qubits=2).expectation_and_grad(g, b)
    np.testing.assert_allclose(dg32, dg, atol=1e-4)
    np.testing.assert_allclose(db32, db, atol=1e-4)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_integer_table_phase_equals_float_phase(dtype):
    rng = np.random.default_rng(9)
    n = 12
    for diag, index_dtype in [
        (rng.integers(-40, 40, 2**n).astype(float), np.uint8),
        (rng.integers(0, 2000, 2**n) * 0.25 - 3.5, np.uint16),  # integer after a common scale
    ]:
        table = QAOASimulator(diag, dtype=dtype, low_qubits=8, group_qubits=3)
        plain = QAOASimulator(diag, dtype=dtype, low_qubits=8, group_qubits=3, phase_table=False)
        assert table.levels is not None and table.levels.index.dtype == index_dtype
        assert plain.levels is None
        g, b = rng.uniform(-2, 2, (2, 3)), rng.uniform(-2, 2, (2, 3))
        tol = 1e-12 if dtype == "complex128" else 1e-5
        torch.testing.assert_close(table.statevector(g, b), plain.statevector(g, b), rtol=0, atol=tol)
        torch.testing.assert_close(table.expectation(g, b), plain.expectation(g, b), rtol=0, atol=tol * 100)


def test_integer_levels_detection():
    rng = np.random.default_rng(2)
    ints = rng.integers(-3, 4, 1024).astype(float)
    enc = integer_levels(ints)
    assert enc is not None
    np.testing.assert_array_equal(enc.values[enc.index], ints)
    assert integer_levels(rng.normal(size=1024)) is None
    assert integer_levels(np.arange(70000, dtype=float)) is None  # too many levels
    const = integer_levels(np.full(8, 2.5))
    assert const is not None and const.values.tolist() == [2.5]


def test_sincos_accuracy():
    x = np.concatenate([np.linspace(-10, 10, 10001), np.random.default_rng(0).uniform(-4e5, 4e5, 10000)])
    s, c = kern.sincos_array(x)
    np.testing.assert_allclose(s, np.sin(x), rtol=0, atol=4e-16 * max(1.0, 1e-5 * np.abs(x).max()))
    np.testing.assert_allclose(c, np.cos(x), rtol=0, atol=4e-16 * max(1.0, 1e-5 * np.abs(x).max()))


def test_large_angles_use_libm_and_stay_exact():
    rng = np.random.default_rng(1)
    diag = rng.normal(size=2**6) * 1e6
    g, b = np.array([3.0]), np.array([0.4])
    ref = QAOASimulator(diag, device="cpu", backend="torch", torch_group=1).statevector(g, b)
    torch.testing.assert_close(QAOASimulator(diag).statevector(g, b), ref, rtol=0, atol=1e-9)


def test_maxcut_p1_fixed_angle_on_triangle_free_cubic_graph():
    """Farhi et al.: p=1 at γ = arctan(1/√2), β = π/8 cuts 1/2 + 1/(3√3) of the edges of any
    triangle-free 3-regular graph (here the Petersen graph), with C = cut size."""
    import networkx as nx

    graph = nx.petersen_graph()
    bqm = dimod.BinaryQuadraticModel("BINARY")
    for u, v in graph.edges:
        bqm.add_quadratic(u, v, -2.0)
        bqm.add_linear(u, 1.0)
        bqm.add_linear(v, 1.0)
    sim = QAOASimulator(cost_diagonal(bqm))
    cut = sim.expectation([math.atan(1 / math.sqrt(2))], [math.pi / 8]).item()
    assert cut / graph.number_of_edges() == pytest.approx(0.5 + 1 / (3 * math.sqrt(3)), abs=1e-9)


def test_probabilities_top_k_and_sampling():
    rng = np.random.default_rng(6)
    n = 8
    diag = rng.integers(-5, 5, 2**n).astype(float)
    sim = QAOASimulator(diag)
    g, b = [0.7, -0.3], [0.5, 0.9]
    probs = sim.probabilities(g, b)[0].numpy()
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    top = sim.top_k(g, b, 5)
    assert np.all(np.diff(top.probabilities) <= 0)
    np.testing.assert_allclose(top.probabilities, np.sort(probs)[::-1][:5])
    np.testing.assert_array_equal(top.energies, diag[top.indices])
    assert top.bitstrings[0] == format(int(top.indices[0]), "08b")
    assert all(int(s, 2) == i for s, i in zip(top.bitstrings, top.indices, strict=True))
    shots = sim.sample(g, b, 200_000, seed=123)
    np.testing.assert_array_equal(shots, sim.sample(g, b, 200_000, seed=123))
    assert not np.array_equal(shots, sim.sample(g, b, 200_000, seed=124))
    freq = np.bincount(shots, minlength=2**n) / shots.size
    assert np.abs(freq - probs).max() < 5 * math.sqrt(probs.max() / shots.size)
    assert sim.sample(g, b, 10, seed=np.random.default_rng(0)).shape == (10,)
    with pytest.raises(QscaleUserError, match="one angle set"):
        sim.top_k(np.zeros((2, 2)), np.zeros((2, 2)), 3)


def test_top_k_bitstrings_are_qiskit_bitstrings():
    from qiskit.quantum_info import Statevector

    bqm = _random_qubo(5, seed=3)
    g, b = [0.8, -0.4], [0.3, 1.1]
    ref = Statevector(_qiskit_qaoa_state(bqm, g, b)).probabilities_dict()
    top = QAOASimulator(cost_diagonal(bqm)).top_k(g, b, 32)
    assert len(top.bitstrings) == 32
    for bits, prob in zip(top.bitstrings, top.probabilities, strict=True):
        assert ref[bits] == pytest.approx(prob, abs=1e-12)


def test_zero_layers_is_uniform_superposition():
    diag = np.arange(8.0)
    sim = QAOASimulator(diag)
    assert sim.expectation(np.zeros(0), np.zeros(0)).item() == pytest.approx(3.5)
    torch.testing.assert_close(
        sim.statevector(np.zeros(0), np.zeros(0)), torch.full((1, 8), 1 / math.sqrt(8), dtype=torch.complex128)
    )


def test_forty_qubits_refused_with_bytes():
    bqm = dimod.BinaryQuadraticModel({i: 1.0 for i in range(40)}, {}, 0.0, "BINARY")
    with pytest.raises(QscaleUserError, match=r"40 qubits .*needs \d+ bytes"):
        QAOASimulator.from_bqm(bqm)


def test_bad_inputs_are_user_errors():
    with pytest.raises(QscaleUserError, match="length 2\\^n"):
        QAOASimulator(np.zeros(6))
    sim = QAOASimulator(np.zeros(8))
    with pytest.raises(QscaleUserError, match="same shape"):
        sim.expectation([0.1, 0.2], [0.1])
    with pytest.raises(QscaleUserError, match="finite"):
        sim.expectation([np.nan], [0.1])
    with pytest.raises(QscaleUserError, match="backend"):
        QAOASimulator(np.zeros(8), backend="qulacs")


@cuda
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
def test_cuda_backend_matches_numba(dtype):
    rng = np.random.default_rng(12)
    diag = rng.integers(-30, 3, 2**16).astype(float)
    g, b = rng.uniform(-1, 1, (3, 4)), rng.uniform(-2, 2, (3, 4))
    ref = QAOASimulator(diag, dtype=dtype, backend="numba").statevector(g, b)
    gpu = QAOASimulator(diag, device="cuda", dtype=dtype)
    assert gpu.backend == "torch"
    tol = 1e-11 if dtype == "complex128" else 2e-5
    torch.testing.assert_close(gpu.statevector(g, b).cpu(), ref, rtol=0, atol=tol)
    _, dg, db = QAOASimulator(diag, dtype=dtype).expectation_and_grad(g, b)
    _, dg2, db2 = gpu.expectation_and_grad(g, b)
    np.testing.assert_allclose(dg2, dg, atol=1e-8 if dtype == "complex128" else 2e-3)
    np.testing.assert_allclose(db2, db, atol=1e-8 if dtype == "complex128" else 2e-3)
