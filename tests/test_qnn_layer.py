"""QuantumLayer: outputs against Qiskit's Statevector of the exported circuit, gradients against finite
differences, shot-mode statistics, the executor hook, and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from qiskit import qasm3
from qiskit.quantum_info import SparsePauliOp, Statevector

from qscale.errors import QscaleUserError
from qscale.qnn import CircuitBatch, QuantumLayer
from qscale.qnn.layer.ansatz import ANSATZE
from qscale.qnn.layer.shots import ShotSampler

ANGLE = ("angle_x", "angle_y", "angle_z")
ANS = tuple(ANSATZE)


def _reference(layer: QuantumLayer, x: torch.Tensor) -> np.ndarray:
    """Qiskit Statevector expectations of every exported row circuit."""
    rows = []
    for b in range(x.shape[0]):
        sv = Statevector(layer.to_qiskit(x[b]))
        rows.append([sv.expectation_value(SparsePauliOp(p)).real for p in layer.readout])
    return np.array(rows)


def _inputs(layer: QuantumLayer, batch: int, n_in: int, seed: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, n_in, generator=g, dtype=torch.float64) * 2 * math.pi - math.pi).to(dtype)


CASES = [
    (enc, ans, reup)
    for enc, ans, reup in itertools.product((*ANGLE, "amplitude"), ANS, (False, True))
    if not (enc == "amplitude" and reup)
]


@pytest.mark.parametrize(("dtype", "tol"), [(torch.complex64, 1e-5), (torch.complex128, 1e-10)])
@pytest.mark.parametrize(("encoding", "ansatz", "reupload"), CASES)
def test_matches_qiskit_statevector(encoding, ansatz, reupload, dtype, tol):
    n = 5
    layer = QuantumLayer(n, 3, encoding=encoding, ansatz=ansatz, reupload=reupload, dtype=dtype, seed=3)
    n_in = 2**n - 3 if encoding == "amplitude" else n - 1  # one qubit without a feature
    x = _inputs(layer, 3, n_in, seed=4, dtype=torch.float32 if dtype == torch.complex64 else torch.float64)
    out = layer(x).detach().double().numpy()
    assert out.shape == (3, n)
    np.testing.assert_allclose(out, _reference(layer, x.double()), atol=tol, rtol=0)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.complex64, 1e-5), (torch.complex128, 1e-10)])
@pytest.mark.parametrize("ansatz", ANS)
def test_pauli_string_readout_matches_qiskit(ansatz, dtype, tol):
    n = 4
    readout = ["ZIIZ", "XXII", "IYZX", "YYYY", "IIIX", "ZZZZ"]
    layer = QuantumLayer(n, 2, ansatz=ansatz, readout=readout, dtype=dtype, seed=5)
    x = _inputs(layer, 3, n, seed=6, dtype=torch.float64)
    out = layer(x.to(torch.float32 if dtype == torch.complex64 else torch.float64)).detach().double().numpy()
    assert layer.n_out == len(readout) and out.shape == (3, len(readout))
    np.testing.assert_allclose(out, _reference(layer, x), atol=tol, rtol=0)


def test_ten_qubits_four_layers_complex128():
    layer = QuantumLayer(10, 4, dtype=torch.complex128, seed=7)
    x = _inputs(layer, 2, 10, seed=8)
    np.testing.assert_allclose(layer(x).detach().numpy(), _reference(layer, x), atol=1e-10, rtol=0)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_small_widths(n):
    """n = 1 has no entangler; n = 2 has PennyLane's special cases (r = 1 both ways, single ring CNOT)."""
    for ansatz in ANS:
        layer = QuantumLayer(n, 3, ansatz=ansatz, dtype=torch.complex128, seed=n)
        x = _inputs(layer, 2, n, seed=9)
        np.testing.assert_allclose(layer(x).detach().numpy(), _reference(layer, x), atol=1e-10, rtol=0)


def test_strongly_entangling_follows_pennylane_conventions():
    """CNOT ranges r = (l mod (n-1)) + 1 and Rot(φ,θ,ω) = RZ(ω)RY(θ)RZ(φ) as PennyLane documents them."""
    ans = ANSATZE["strongly_entangling"]
    assert ans.entangler(0, 4) == [("cx", 0, 1), ("cx", 1, 2), ("cx", 2, 3), ("cx", 3, 0)]
    assert ans.entangler(1, 4) == [("cx", 0, 2), ("cx", 1, 3), ("cx", 2, 0), ("cx", 3, 1)]
    assert ans.entangler(3, 4) == ans.entangler(0, 4)
    from qscale.qnn.layer.ansatz import layer_rotations

    phi, theta, omega = 0.3, -1.1, 2.2
    u = layer_rotations(ans, torch.tensor([[[phi, theta, omega]]], dtype=torch.float64), torch.complex128)[0, 0]
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    expected = np.array(
        [
            [np.exp(-0.5j * (phi + omega)) * c, -np.exp(0.5j * (phi - omega)) * s],
            [np.exp(-0.5j * (phi - omega)) * s, np.exp(0.5j * (phi + omega)) * c],
        ]
    )
    np.testing.assert_allclose(u.numpy(), expected, atol=1e-14)
    layer = QuantumLayer(3, 4)
    assert layer.weights.shape == (4, 3, 3) and isinstance(layer.weights, torch.nn.Parameter)
    assert QuantumLayer(3, 4, ansatz="basic").weights.shape == (4, 3)
    assert QuantumLayer(3, 4, ansatz="hardware_efficient").weights.shape == (4, 3, 2)


@pytest.mark.parametrize(("encoding", "ansatz", "reupload"), CASES)
def test_gradients_match_finite_differences(encoding, ansatz, reupload):
    n = 3
    layer = QuantumLayer(n, 2, encoding=encoding, ansatz=ansatz, reupload=reupload, dtype=torch.complex128, seed=11)
    readout_layer = QuantumLayer(
        n,
        2,
        encoding=encoding,
        ansatz=ansatz,
        reupload=reupload,
        readout=["XZY", "IIZ"],
        dtype=torch.complex128,
        seed=11,
    )
    n_in = 5 if encoding == "amplitude" else n
    x = (_inputs(layer, 2, n_in, seed=12) + (3.0 if encoding == "amplitude" else 0.0)).requires_grad_(True)
    for lay in (layer, readout_layer):
        w = lay.weights.detach().clone().requires_grad_(True)

        def f(x_, w_, lay=lay):
            return lay._exact(x_, w_)

        assert torch.autograd.gradcheck(f, (x, w), eps=1e-6, atol=1e-7)


def _exact_executor(batch: CircuitBatch) -> np.ndarray:
    return ShotSampler(None)(CircuitBatch(batch.layer, batch.inputs, batch.weights, batch.observables, None))


@pytest.mark.parametrize(("encoding", "ansatz", "reupload"), [c for c in CASES if c[0] != "amplitude"])
def test_parameter_shift_equals_autograd_without_shot_noise(encoding, ansatz, reupload):
    """The parameter-shift backward, fed exact expectations, must equal the autograd gradient."""
    kw = dict(encoding=encoding, ansatz=ansatz, reupload=reupload, dtype=torch.complex128, seed=13)
    exact = QuantumLayer(3, 2, **kw)
    shifted = QuantumLayer(3, 2, executor=_exact_executor, **kw)
    x = _inputs(exact, 4, 2, seed=14)
    g = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(15))
    grads = []
    for lay in (exact, shifted):
        xx = x.clone().requires_grad_(True)
        out = lay(xx)
        (out * g).sum().backward()
        grads.append((out.detach(), xx.grad, lay.weights.grad))
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10, rtol=0)


def test_shot_estimates_are_unbiased():
    shots, seeds = 200, 60
    x = _inputs(QuantumLayer(4, 2), 3, 4, seed=16)
    exact = QuantumLayer(4, 2, dtype=torch.complex128, seed=17)(x).detach().numpy()
    # every run gets its own sampling seed but the same weights
    base = QuantumLayer(4, 2, dtype=torch.complex128, seed=17)
    runs = []
    for s in range(seeds):
        lay = QuantumLayer(4, 2, dtype=torch.complex128, shots=shots, seed=1000 + s)
        with torch.no_grad():
            lay.weights.copy_(base.weights)
        runs.append(lay(x).detach().numpy())
    runs = np.stack(runs)
    sigma = np.sqrt((1 - exact**2) / shots / seeds)
    assert np.all(np.abs(runs.mean(0) - exact) <= 3 * sigma + 1e-12)
    assert runs.std() > 0  # really sampled
    # one seed is reproducible
    a = QuantumLayer(4, 2, shots=shots, seed=5)(x)
    b = QuantumLayer(4, 2, shots=shots, seed=5)(x)
    assert torch.equal(a, b)


def test_parameter_shift_gradient_within_shot_noise():
    shots = 4000
    kw = dict(dtype=torch.complex128, seed=19)
    exact, noisy = QuantumLayer(3, 2, **kw), QuantumLayer(3, 2, shots=shots, **kw)
    x = _inputs(exact, 2, 3, seed=20)
    grads = []
    for lay in (exact, noisy):
        xx = x.clone().requires_grad_(True)
        lay(xx).sum().backward()
        grads.append(np.concatenate([xx.grad.numpy().ravel(), lay.weights.grad.numpy().ravel()]))
    # each derivative is a sum over 2 samples (weights) x 3 outputs of (f+ - f-)/2 with Var(f±) <= 1/shots
    sigma_w = math.sqrt(2 * 3 * 2 * 0.25 / shots)
    assert np.all(np.abs(grads[0] - grads[1]) <= 4 * sigma_w)
    assert np.abs(grads[0] - grads[1]).max() > 0


def test_executor_receives_qiskit_circuits():
    calls = []

    def qiskit_executor(batch: CircuitBatch) -> np.ndarray:
        calls.append(len(batch))
        return np.array(
            [
                [Statevector(qc).expectation_value(SparsePauliOp(p)).real for p in batch.observables]
                for qc in batch.circuits()
            ]
        )

    kw = dict(n_layers=2, readout=["ZZI", "IXI"], dtype=torch.complex128, seed=21)
    lay, ref = QuantumLayer(3, executor=qiskit_executor, **kw), QuantumLayer(3, **kw)
    x = _inputs(lay, 2, 3, seed=22).requires_grad_(True)
    out = lay(x)
    np.testing.assert_allclose(out.detach().numpy(), ref(x).detach().numpy(), atol=1e-10)
    out.sum().backward()
    assert calls[0] == 2 and calls[1] == 2 * 2 * (lay.weights.numel() + 3)
    assert torch.isfinite(x.grad).all()


def test_qasm3_round_trip():
    layer = QuantumLayer(3, 2, encoding="angle_y", ansatz="hardware_efficient", reupload=True, seed=23)
    x = torch.tensor([0.1, -0.7, 1.3])
    text = layer.to_qasm3(x)
    assert text.startswith("OPENQASM 3")
    back = Statevector(qasm3.loads(text))
    assert back.equiv(Statevector(layer.to_qiskit(x)))


def test_single_row_and_output_dtype():
    layer = QuantumLayer(3, 1, seed=24)
    out = layer(torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64))
    assert out.shape == (3,) and out.dtype == torch.float64


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: QuantumLayer(0), "n_qubits"),
        (lambda: QuantumLayer(2, 0), "n_layers"),
        (lambda: QuantumLayer(48), "needs .* bytes"),
        (lambda: QuantumLayer(2, encoding="angle_w"), "unknown encoding"),
        (lambda: QuantumLayer(2, ansatz="foo"), "unknown ansatz"),
        (lambda: QuantumLayer(2, readout=["ZZZ"]), "readout term"),
        (lambda: QuantumLayer(2, readout="ZZ"), "readout"),
        (lambda: QuantumLayer(2, shots=0), "shots"),
        (lambda: QuantumLayer(2, encoding="amplitude", reupload=True), "re-uploaded"),
        (lambda: QuantumLayer(2)(torch.tensor([[0.1, float("nan")]])), "NaN"),
        (lambda: QuantumLayer(2)(torch.tensor([[0.1, float("inf")]])), "NaN"),
        (lambda: QuantumLayer(2)(torch.zeros(3, 4)), "n_in"),
        (lambda: QuantumLayer(2, encoding="amplitude")(torch.zeros(1, 4)), "non-zero"),
    ],
)
def test_bad_input_is_a_user_error(make, match):
    with pytest.raises(QscaleUserError, match=match) as info:
        make()
    assert "\n" not in str(info.value)


@pytest.mark.gpu
def test_cuda_matches_cpu():
    cpu = QuantumLayer(6, 3, readout=["XXIIZZ", "IIIIIZ"], seed=25)
    gpu = QuantumLayer(6, 3, readout=["XXIIZZ", "IIIIIZ"], seed=25).cuda()
    x = _inputs(cpu, 8, 6, seed=26, dtype=torch.float32)
    xg = x.cuda().requires_grad_(True)
    out = gpu(xg)
    assert out.device.type == "cuda"
    out.sum().backward()
    xc = x.clone().requires_grad_(True)
    cpu(xc).sum().backward()
    np.testing.assert_allclose(out.detach().cpu().numpy(), cpu(x).detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(xg.grad.cpu().numpy(), xc.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(gpu.weights.grad.cpu().numpy(), cpu.weights.grad.numpy(), atol=1e-4)


@pytest.mark.parametrize(
    ("encoding", "ansatz"), [("angle_x", "strongly_entangling"), ("amplitude", "hardware_efficient")]
)
@pytest.mark.parametrize("readout", [None, ["XIZYI", "ZZIII"]])
def test_fused_backward_equals_autograd_reference(monkeypatch, encoding, ansatz, readout):
    """The hand-written backward (with the batch cut into several chunks) equals autograd through the
    same program's plain torch ops."""
    import qscale.qnn.layer.fused as fused

    monkeypatch.setattr(fused, "CHUNK_BYTES", 3 * 2**5 * 16)  # 3 samples per chunk at 5 qubits
    monkeypatch.setattr(fused, "MIN_CHUNK", 1)
    layer = QuantumLayer(5, 3, encoding=encoding, ansatz=ansatz, readout=readout, dtype=torch.complex128, seed=27)
    n_in = 20 if encoding == "amplitude" else 5
    x = _inputs(layer, 7, n_in, seed=28) + (2.0 if encoding == "amplitude" else 0.0)
    plan = layer._plan(torch.device("cpu"))
    plan.use_numba = False  # the torch program's hand-written backward (the CPU kernels have their own test)
    from qscale.qnn.layer.ansatz import layer_rotations

    results = []
    for use_fused in (True, False):
        xx = x.clone().requires_grad_(True)
        w = layer.weights.detach().clone().requires_grad_(True)
        U = layer_rotations(layer._ansatz, w, layer.dtype)
        if encoding == "amplitude":
            from qscale.qnn.layer.kernel import amplitude_state

            out = plan.run(w, U, psi0=amplitude_state(xx, 5, layer.dtype), fused=use_fused)
        else:
            out = plan.run(w, U, v0=layer._encoding_gates(xx)[:, :, 0, :], fused=use_fused)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
        results.append((out.detach(), xx.grad, w.grad))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12, rtol=0)


def test_flop_count_of_the_benchmark_circuit():
    """12 qubits, 4 strongly entangling layers (layer 1 acts on the product state). CPU kernels: 3 layers of
    a phase and 12 RY rotations; the torch program: 3 layers x 3 blocks of 4 qubits as GEMMs. The count is
    what docs/benchmarks.md reports."""
    plan = QuantumLayer(12, 4)._plan(torch.device("cpu"))
    N = 4096
    f = plan.flops_per_sample()
    assert f["forward"] == 6 * N + 3 * (6 + 12 * 6) * N + 27 * N
    assert f["backward"] == 16 * N + 3 * (20 + 12 * 16) * N + 27 * N
    assert f["total"] == f["forward"] + f["backward"]
    plan.use_numba = False
    f = plan.flops_per_sample()
    assert f["forward"] == 9 * 4 * 16 * N + 3 * 6 * N + 6 * N + 27 * N
    assert f["total"] == f["forward"] + f["backward"]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("ansatz", ANS)
@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_cpu_kernels_equal_the_torch_program(monkeypatch, dtype, ansatz, n):
    """The numba CPU path (several batch chunks, radix-8/4/2 passes for every n mod 3) gives the outputs and
    the input and weight gradients of the torch program it replaces."""
    import qscale.qnn.layer.adjoint as adj

    monkeypatch.setattr(adj, "MIN_COLS", 1)
    monkeypatch.setattr(adj, "MAX_COLS", 3)  # 11 samples -> 4 chunks
    layer = QuantumLayer(n, 4, encoding="angle_y", ansatz=ansatz, dtype=dtype, seed=29)
    plan = layer._plan(torch.device("cpu"))
    x = _inputs(layer, 11, n, seed=30, dtype=torch.float32 if dtype == torch.complex64 else torch.float64)
    results = []
    for use_numba in (True, False):
        plan.use_numba = use_numba
        xx = x.clone().requires_grad_(True)
        layer.weights.grad = None
        out = layer(xx)
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
        results.append((out.detach(), xx.grad, layer.weights.grad))
    tol = 2e-6 if dtype == torch.complex64 else 1e-12
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a.double().numpy(), b.double().numpy(), atol=tol, rtol=0)
