"""The statevector simulator against Qiskit's reference simulator, plus batching, gradients,
sampling, the memory guard and input validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector, random_statevector, random_unitary
from scipy.stats import chisquare

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import GATE_NAMES, Circuit, Parameter
from qscale.quantum.pauli import PauliSum
from qscale.quantum.statevector import counts, probabilities, sample, simulate

ONE_Q_FIXED = ["h", "x", "y", "z", "s", "sdg", "t", "tdg"]
ONE_Q_ROT = ["rx", "ry", "rz", "p"]
TWO_Q_FIXED = ["cx", "cz", "swap"]
TWO_Q_ROT = ["crx", "cry", "crz", "rzz", "rxx", "ryy"]


def add_gate(c: Circuit, qc: QuantumCircuit, name: str, rng: np.random.Generator, qs: list[int] | None = None) -> None:
    """Append the same gate, with random (or given) qubits and angle, to our circuit and Qiskit's."""
    n = c.n_qubits
    if qs is None:
        qs = [int(q) for q in rng.choice(n, 2 if n > 1 else 1, replace=False)]
    a = float(rng.uniform(-2 * np.pi, 2 * np.pi))
    if name in ONE_Q_FIXED:
        getattr(c, name)(qs[0])
        getattr(qc, name)(qs[0])
    elif name in ONE_Q_ROT:
        getattr(c, name)(qs[0], a)
        getattr(qc, name)(a, qs[0])
    elif name in TWO_Q_FIXED:
        getattr(c, name)(*qs)
        getattr(qc, name)(*qs)
    elif name in TWO_Q_ROT:
        getattr(c, name)(*qs, a)
        getattr(qc, name)(a, *qs)
    else:  # unitary on one or two qubits
        k = int(rng.integers(1, len(qs) + 1))
        u = random_unitary(2**k, seed=int(rng.integers(2**31))).data
        c.unitary(u, qs[:k])
        qc.unitary(u, qs[:k])


def random_pair(n: int, seed: int, extra: int = 60) -> tuple[Circuit, QuantumCircuit]:
    """Every gate type at least once (two-qubit ones when n > 1), in random order, plus extras."""
    rng = np.random.default_rng(seed)
    names = ONE_Q_FIXED + ONE_Q_ROT + ["unitary"] + ((TWO_Q_FIXED + TWO_Q_ROT) if n > 1 else [])
    names = names + list(rng.choice(names, extra))
    rng.shuffle(names)
    c, qc = Circuit(n), QuantumCircuit(n)
    for name in names:
        add_gate(c, qc, str(name), rng)
    return c, qc


def test_random_pair_uses_every_gate_type():
    c, _ = random_pair(4, 0)
    assert {op.name for op in c.operations} == set(GATE_NAMES)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_qiskit_complex128(n, seed):
    c, qc = random_pair(n, seed)
    ours = simulate(c)
    assert ours.shape == (1, 2**n) and ours.dtype == torch.complex128
    np.testing.assert_allclose(ours[0].numpy(), Statevector(qc).data, atol=1e-9)


def test_matches_qiskit_complex64():
    c, qc = random_pair(8, 7, extra=120)
    ours = simulate(c, dtype="complex64")
    assert ours.dtype == torch.complex64
    np.testing.assert_allclose(ours[0].numpy(), Statevector(qc).data, atol=2e-5)


@pytest.mark.parametrize("name", ONE_Q_FIXED + ONE_Q_ROT + TWO_Q_FIXED + TWO_Q_ROT + ["unitary"])
@pytest.mark.parametrize("qubits", [[0, 3], [3, 1], [1, 2], [2, 0]])
def test_single_gate_on_random_state(name, qubits):
    """Each gate alone, on low/high qubits in both orders, applied to a random input state."""
    rng = np.random.default_rng(qubits[0] * 4 + qubits[1])
    c, qc = Circuit(4), QuantumCircuit(4)
    add_gate(c, qc, name, rng, qubits)
    psi0 = random_statevector(16, seed=qubits[1])
    ours = simulate(c, initial_state=torch.tensor(psi0.data))
    np.testing.assert_allclose(ours[0].numpy(), psi0.evolve(qc).data, atol=1e-12)


def test_fused_single_qubit_runs_match_qiskit():
    rng = np.random.default_rng(11)
    c, qc = Circuit(3), QuantumCircuit(3)
    for _ in range(3):
        for name in ["h", "x", "rz", "t", "x", "ry", "s", "p", "unitary", "z", "x"]:
            if name == "unitary":
                u = random_unitary(2, seed=int(rng.integers(1000))).data
                c.unitary(u, [1])
                qc.unitary(u, [1])
            elif name in ONE_Q_ROT:
                getattr(c, name)(1, 0.37)
                getattr(qc, name)(0.37, 1)
            else:
                getattr(c, name)(1)
                getattr(qc, name)(1)
        c.cx(1, 2)
        qc.cx(1, 2)
    np.testing.assert_allclose(simulate(c)[0].numpy(), Statevector(qc).data, atol=1e-12)


def parameterised(n: int = 4) -> tuple[Circuit, list[Parameter]]:
    c = Circuit(n)
    ps = [c.parameter(f"p{i}") for i in range(8)]
    c.h(0).ry(1, ps[0]).rx(2, ps[1]).cx(0, 1).rz(3, 2 * ps[2] + 0.1).crx(3, 0, ps[3])
    c.cry(0, 2, ps[4]).crz(1, 3, -ps[5]).rzz(0, 3, ps[6]).rxx(1, 2, ps[7]).ryy(3, 1, ps[0] - 0.5)
    c.swap(0, 2).p(3, ps[1]).x(1).cz(1, 2).unitary(random_unitary(4, seed=5).data, [2, 0])
    c.rx(0, ps[2]).rz(0, ps[3]).h(0).ry(0, 3 * ps[4]).x(0)  # fused into one dense 2x2
    c.rz(2, ps[5]).p(2, ps[6]).t(2)  # fused into one diagonal
    return c, ps


def test_parameter_expressions_equal_numeric_angles():
    c, _ = parameterised()
    x = np.random.default_rng(0).normal(size=c.n_parameters)
    numeric = Circuit(4)
    for op in c.operations:
        if op.name == "unitary":
            numeric.unitary(op.matrix, op.qubits)
            continue
        vals = [
            a if isinstance(a, float) else x[c.parameter_index(a.parameter)] * a.scale + a.offset for a in op.angles
        ]
        getattr(numeric, op.name)(*op.qubits, *vals)
    np.testing.assert_allclose(simulate(c, x).numpy(), simulate(numeric).numpy(), atol=1e-12)


def test_batched_parameters_equal_loop():
    c, _ = parameterised()
    x = torch.tensor(np.random.default_rng(1).normal(size=(5, c.n_parameters)))
    batched = simulate(c, x)
    assert batched.shape == (5, 16)
    for b in range(5):
        torch.testing.assert_close(batched[b], simulate(c, x[b])[0], atol=1e-12, rtol=0)
    assert not torch.allclose(batched[0], batched[1])


def test_batched_initial_states_equal_qiskit_evolve():
    c, qc = random_pair(5, 9)
    states = [random_statevector(32, seed=s) for s in range(4)]
    ours = simulate(c, initial_state=torch.tensor(np.stack([s.data for s in states])))
    for b, s in enumerate(states):
        np.testing.assert_allclose(ours[b].numpy(), s.evolve(qc).data, atol=1e-10)


def test_batches_broadcast_against_a_single_partner():
    c, _ = parameterised()
    x = torch.tensor(np.random.default_rng(2).normal(size=(3, c.n_parameters)))
    psi0 = torch.tensor(random_statevector(16, seed=1).data)
    out = simulate(c, x, initial_state=psi0)
    for b in range(3):
        torch.testing.assert_close(out[b], simulate(c, x[b], initial_state=psi0)[0], atol=1e-12, rtol=0)
    states = torch.stack([psi0, psi0.roll(3)])
    out2 = simulate(c, x[0], initial_state=states)
    torch.testing.assert_close(out2[1], simulate(c, x[0], initial_state=states[1])[0], atol=1e-12, rtol=0)
    with pytest.raises(QscaleUserError, match="batch"):
        simulate(c, x, initial_state=states)


def test_non_contiguous_inputs_and_gradients():
    c, _ = parameterised()
    states = torch.tensor(np.stack([random_statevector(16, seed=s).data for s in (1, 2)]).T.copy()).T
    assert not states.is_contiguous()
    x = torch.tensor(np.random.default_rng(6).normal(size=c.n_parameters), requires_grad=True)
    psi = simulate(c, x, initial_state=states)
    torch.testing.assert_close(psi, simulate(c, x, initial_state=states.contiguous()), atol=1e-12, rtol=0)
    w = torch.tensor(np.random.default_rng(7).normal(size=(16, 2)) + 0j)
    (psi.T * w).real.sum().backward()  # the incoming gradient is a transposed (non-contiguous) tensor
    assert x.grad is not None and x.grad.abs().max() > 0


def test_initial_state_is_not_modified():
    c = Circuit(3).cx(0, 1).swap(1, 2).x(0)
    psi0 = torch.tensor(random_statevector(8, seed=2).data)
    keep = psi0.clone()
    simulate(c, initial_state=psi0)
    assert torch.equal(psi0, keep)


def hamiltonian(n: int) -> PauliSum:
    rng = np.random.default_rng(n)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(10)]
    return PauliSum(labels, rng.normal(size=10))


@pytest.mark.parametrize("batch", [None, 3])
def test_gradient_matches_finite_differences(batch):
    c, _ = parameterised()
    H = hamiltonian(4)
    shape = (c.n_parameters,) if batch is None else (batch, c.n_parameters)
    x = torch.tensor(np.random.default_rng(3).normal(size=shape), requires_grad=True)
    energy = H.expectation(simulate(c, x)).sum()
    (grad,) = torch.autograd.grad(energy, x)
    fd = torch.zeros_like(x)
    h = 1e-6
    with torch.no_grad():
        flat = fd.view(-1)
        for i in range(x.numel()):
            e = torch.zeros_like(x).view(-1)
            e[i] = h
            e = e.view_as(x)
            plus = H.expectation(simulate(c, x + e)).sum()
            minus = H.expectation(simulate(c, x - e)).sum()
            flat[i] = (plus - minus) / (2 * h)
    assert grad.abs().max() > 1e-3  # the check below is not vacuous
    torch.testing.assert_close(grad, fd, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("param_batch", [(2,), ()])
def test_gradcheck_parameters_and_initial_state(param_batch):
    """Batched states with batched or shared parameters (shared gates sum their batch gradients)."""
    c, _ = parameterised(4)
    w = torch.tensor(np.random.default_rng(4).normal(size=16) + 0j)

    def loss(x, s0):
        psi = simulate(c, x, initial_state=s0)
        return (probabilities(psi) @ torch.arange(16.0, dtype=torch.float64)).sum() + (psi @ w).real.sum()

    x = torch.tensor(np.random.default_rng(5).normal(size=(*param_batch, c.n_parameters)), requires_grad=True)
    s0 = torch.tensor(np.stack([random_statevector(16, seed=s).data for s in (6, 7)]), requires_grad=True)
    assert torch.autograd.gradcheck(loss, (x, s0))


def test_gradient_complex64_close_to_complex128():
    c, _ = parameterised()
    H = hamiltonian(4)
    x = torch.tensor(np.random.default_rng(8).normal(size=c.n_parameters), requires_grad=True)
    g128 = torch.autograd.grad(H.expectation(simulate(c, x)).sum(), x)[0]
    x32 = x.detach().float().requires_grad_()
    g64 = torch.autograd.grad(H.expectation(simulate(c, x32, dtype="complex64")).sum(), x32)[0]
    torch.testing.assert_close(g64.double(), g128, atol=1e-4, rtol=1e-4)


def test_probabilities_are_normalised_and_real():
    c, qc = random_pair(6, 1)
    p = probabilities(simulate(c))
    assert p.dtype == torch.float64
    np.testing.assert_allclose(p[0].numpy(), Statevector(qc).probabilities(), atol=1e-12)
    assert abs(float(p.sum()) - 1) < 1e-12


def test_sampling_is_reproducible_and_matches_probabilities():
    c, _ = random_pair(4, 2)
    psi = simulate(c)
    a = sample(psi, 200_000, seed=123)
    b = sample(psi, 200_000, seed=123)
    assert a.shape == (1, 200_000)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, sample(psi, 200_000, seed=124))
    p = probabilities(psi)[0].numpy()
    observed = np.bincount(a[0], minlength=16)
    keep = p > 0
    assert observed[~keep].sum() == 0
    assert chisquare(observed[keep], p[keep] / p[keep].sum() * observed.sum()).pvalue > 1e-4


def test_sampling_wrong_mapping_would_be_detected():
    """The chi-square check above can fail: a reversed distribution is rejected."""
    c, _ = random_pair(4, 2)
    p = probabilities(simulate(c))[0].numpy()
    observed = np.bincount(sample(simulate(c), 200_000, seed=1)[0], minlength=16)
    assert chisquare(observed, p[::-1] / p.sum() * observed.sum()).pvalue < 1e-6


def test_sampling_large_sparse_distribution():
    n = 20
    psi = torch.zeros(2**n, dtype=torch.complex64)
    support = np.array([0, 12345, 2**n - 1])
    psi[support] = torch.tensor([0.6, 0.0 + 0.64j, 0.48], dtype=torch.complex64)
    draws = sample(psi, 50_000, seed=0)
    assert draws.shape == (50_000,)
    assert set(np.unique(draws)) <= set(support.tolist())
    freq = np.bincount(draws, minlength=2**n)[support] / 50_000
    np.testing.assert_allclose(freq, [0.36, 0.4096, 0.2304], atol=0.01)


def test_counts_use_qiskit_bit_order():
    c = Circuit(3).x(0)
    assert counts(sample(simulate(c), 10, seed=0)[0], 3) == {"001": 10}


def test_memory_guard_refuses_40_qubits_before_allocating(monkeypatch):
    def no_allocation(*args, **kwargs):
        raise AssertionError("simulate allocated before checking memory")

    monkeypatch.setattr(torch, "zeros", no_allocation)
    with pytest.raises(QscaleUserError, match="bytes"):
        simulate(Circuit(40).h(0))


@pytest.mark.parametrize(
    "build",
    [
        lambda c: c.h(3),
        lambda c: c.x(-1),
        lambda c: c.cx(1, 1),
        lambda c: c.rx(0.5, 0),
        lambda c: c.rz(0, complex(1, 1)),
        lambda c: c.ry(0, float("nan")),
        lambda c: c.unitary(np.array([[1, 1], [0, 1]]), [0]),
        lambda c: c.unitary(np.eye(4), [0]),
        lambda c: c.unitary(np.eye(8), [0, 1, 2]),
        lambda c: c.unitary(np.eye(2) * 2, [1]),
        lambda c: c.compose(Circuit(5)),
        lambda c: (c.parameter("a"), c.parameter("a")),
    ],
)
def test_bad_circuits_raise_user_errors(build):
    with pytest.raises(QscaleUserError):
        build(Circuit(3))


def test_bad_simulate_inputs_raise_user_errors():
    c = Circuit(2)
    theta = c.parameter("theta")
    c.ry(0, theta)
    with pytest.raises(QscaleUserError, match="parameter"):
        simulate(c)
    with pytest.raises(QscaleUserError, match="1 parameters but 2"):
        simulate(c, [0.1, 0.2])
    with pytest.raises(QscaleUserError, match="real"):
        simulate(c, torch.tensor([0.1 + 1j]))
    with pytest.raises(QscaleUserError, match="shape"):
        simulate(c, torch.zeros(1, 1, 1))
    with pytest.raises(QscaleUserError, match="initial_state"):
        simulate(c, [0.1], initial_state=torch.zeros(8, dtype=torch.complex128))
    with pytest.raises(QscaleUserError, match="dtype"):
        simulate(c, [0.1], dtype="float32")
    with pytest.raises(QscaleUserError, match="shots"):
        sample(simulate(c, [0.1]), 0)


@pytest.mark.gpu
def test_cuda_matches_cpu_with_gradients():
    c, _ = parameterised()
    H = hamiltonian(4)
    x = np.random.default_rng(9).normal(size=(3, c.n_parameters))
    out = {}
    for dev in ("cpu", "cuda"):
        xt = torch.tensor(x, device=dev, requires_grad=True)
        psi = simulate(c, xt, device=dev)
        assert psi.device.type == dev
        e = H.expectation(psi)
        e.sum().backward()
        out[dev] = (psi.detach().cpu(), e.detach().cpu(), xt.grad.cpu())
    for a, b in zip(out["cpu"], out["cuda"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    big, qc = random_pair(12, 4)
    np.testing.assert_allclose(
        simulate(big, device="cuda", dtype="complex64")[0].cpu().numpy(), Statevector(qc).data, atol=2e-5
    )
