"""qscale's V2 Sampler and Estimator against Qiskit's reference primitives, and their bad-input contract."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import ParameterVector
from qiskit.primitives import StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp, Statevector
from scipy.stats import chi2_contingency

from qscale.errors import QscaleUserError
from qscale.primitives import Estimator, Sampler
from qscale.primitives.convert import from_qiskit

_ONE_Q = ("h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "sxdg")
_ROT_1Q = ("rx", "ry", "rz", "p")
_TWO_Q = ("cx", "cz", "swap", "ecr", "iswap", "ch", "cy")
_ROT_2Q = ("crx", "cry", "crz", "rzz", "rxx", "ryy", "cp", "rzx")


def random_layered_circuit(n: int, layers: int, seed: int) -> QuantumCircuit:
    """Layers of random 1-qubit gates, then random pairs; angles are parameters, affine expressions,
    products of parameters, or numbers; a U gate and a Toffoli force the decomposition path."""
    rng = np.random.default_rng(seed)
    theta = ParameterVector("θ", 2 * layers)
    qc = QuantumCircuit(n)

    def angle():
        k = int(rng.integers(len(theta)))
        return [theta[k], 2.5 * theta[k] - 0.3, theta[k] * theta[(k + 1) % len(theta)], float(rng.normal())][
            int(rng.integers(4))
        ]

    for _ in range(layers):
        for q in range(n):
            if rng.random() < 0.5:
                getattr(qc, str(rng.choice(_ONE_Q)))(q)
            else:
                getattr(qc, str(rng.choice(_ROT_1Q)))(angle(), q)
        for q in rng.permutation(n)[: 2 * (n // 2)].reshape(-1, 2):
            a, b = (int(x) for x in q)
            if rng.random() < 0.5:
                getattr(qc, str(rng.choice(_TWO_Q)))(a, b)
            else:
                getattr(qc, str(rng.choice(_ROT_2Q)))(angle(), a, b)
    qc.u(theta[0], 0.4, -1.1, 0)
    if n >= 3:
        qc.ccx(0, 1, 2)
    # make sure every parameter appears so the bindings have a fixed width
    for k, p in enumerate(theta):
        qc.rz(0.01 * p, k % n)
    return qc


def random_observable(n: int, terms: int, rng: np.random.Generator) -> SparsePauliOp:
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(terms)]
    return SparsePauliOp(labels, rng.normal(size=terms)).simplify()


@pytest.mark.parametrize("seed", range(6))
def test_estimator_equals_statevector_estimator(seed):
    rng = np.random.default_rng(100 + seed)
    n = 2 + seed % 4
    qc = random_layered_circuit(n, layers=3, seed=seed)
    observables = [[random_observable(n, 1 + k, rng)] for k in range(3)]  # shape (3, 1)
    values = rng.uniform(-np.pi, np.pi, size=(4, qc.num_parameters))  # shape (4,): broadcast to (3, 4)
    ours = Estimator().run([(qc, observables, values)]).result()[0]
    ref = StatevectorEstimator().run([(qc, observables, values)]).result()[0]
    assert ours.data.evs.shape == ref.data.evs.shape == (3, 4)
    np.testing.assert_allclose(ours.data.evs, ref.data.evs, atol=1e-8, rtol=0)
    assert np.all(ours.data.stds == 0)


def test_estimator_broadcasts_like_v2():
    qc = random_layered_circuit(3, 2, seed=9)
    rng = np.random.default_rng(1)
    obs = SparsePauliOp(["ZZI", "XIY"], [0.5, -0.25])
    values = rng.normal(size=(2, 5, qc.num_parameters))
    ours = Estimator().run([(qc, obs, values), (qc, [obs, "IIX"], values[0, :2])]).result()
    ref = StatevectorEstimator().run([(qc, obs, values), (qc, [obs, "IIX"], values[0, :2])]).result()
    for a, b in zip(ours, ref, strict=True):
        assert a.data.evs.shape == b.data.evs.shape
        np.testing.assert_allclose(a.data.evs, b.data.evs, atol=1e-8)


def test_estimator_precision_modes():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.7, 1)
    obs = SparsePauliOp(["ZZ", "XX", "YI"], [1.0, 0.5, 0.3])
    exact = StatevectorEstimator().run([(qc, obs)]).result()[0].data.evs
    for noise in ("gaussian", "shots"):
        r = Estimator(seed=3, noise=noise).run([(qc, [obs] * 50)], precision=0.02).result()[0]
        err = (r.data.evs - exact) / r.data.stds
        assert abs(err.mean()) < 5 / np.sqrt(50) and 0.5 < err.std() < 1.6
    r = Estimator(seed=3, noise="shots").run([(qc, obs)], precision=0.01).result()[0]
    assert r.metadata["shots"] == 10_000


def _counts_table(a: dict, b: dict) -> np.ndarray:
    keys = sorted(set(a) | set(b))
    return np.array([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]])


@pytest.mark.parametrize("seed", range(4))
def test_sampler_matches_statevector_sampler_chi_square(seed):
    qc = random_layered_circuit(4, layers=3, seed=20 + seed)
    qc.measure_all()
    values = np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(2, qc.num_parameters))
    shots = 4000
    ours = Sampler(seed=1000 + seed).run([(qc, values)], shots=shots).result()[0].data.meas
    ref = StatevectorSampler(seed=2000 + seed).run([(qc, values)], shots=shots).result()[0].data.meas
    assert ours.shape == ref.shape == (2,) and ours.num_shots == shots and ours.num_bits == 4
    for i in range(2):
        table = _counts_table(ours.get_counts(i), ref.get_counts(i))
        table = table[:, table.sum(axis=0) >= 10]  # chi-square needs populated cells
        assert chi2_contingency(table).pvalue > 1e-3


def test_sampler_distribution_is_born_rule():
    qc = random_layered_circuit(3, layers=2, seed=5)
    values = np.random.default_rng(0).normal(size=qc.num_parameters)
    probs = Statevector(qc.assign_parameters(values)).probabilities()  # little-endian index
    qc.measure_all()
    shots = 20_000
    counts = Sampler(seed=4).run([(qc, values)], shots=shots).result()[0].data.meas.get_int_counts()
    observed = np.array([counts.get(i, 0) for i in range(8)])
    expected = probs * shots
    keep = expected > 5
    chi2 = float((((observed - expected) ** 2)[keep] / expected[keep]).sum())
    assert chi2 < 30  # 7 degrees of freedom: p ~ 1e-4


def test_sampler_registers_partial_measurement_and_shapes():
    qr = QuantumRegister(3)
    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(2, "beta")
    qc = QuantumCircuit(qr, alpha, beta)
    theta = ParameterVector("t", 1)
    qc.x(0)
    qc.ry(theta[0], 2)
    qc.measure(0, alpha[1])  # alpha = (bit0 never measured -> 0, bit1 = qubit 0 = 1)
    qc.measure(2, beta[0])
    values = np.zeros((2, 3, 1))
    values[1] = np.pi  # second row: qubit 2 flipped
    res = Sampler(seed=0).run([(qc, values)], shots=50).result()[0]
    assert res.data.alpha.shape == (2, 3) and res.data.alpha.num_bits == 2
    assert res.metadata["shots"] == 50
    assert res.data.alpha.get_counts((0, 0)) == {"10": 50}
    assert res.data.beta.get_counts((0, 1)) == {"00": 50}
    assert res.data.beta.get_counts((1, 2)) == {"01": 50}


def test_int_seed_repeats_and_generator_continues():
    qc = QuantumCircuit(2)
    qc.h([0, 1])
    qc.measure_all()
    a = Sampler(seed=5).run([qc], shots=64).result()[0].data.meas.get_bitstrings()
    b = Sampler(seed=5).run([qc], shots=64).result()[0].data.meas.get_bitstrings()
    assert a == b
    s = Sampler(seed=np.random.default_rng(5))
    c = s.run([qc], shots=64).result()[0].data.meas.get_bitstrings()
    d = s.run([qc], shots=64).result()[0].data.meas.get_bitstrings()
    assert c != d


def test_converter_keeps_qiskit_conventions():
    qc = random_layered_circuit(4, 3, seed=11)
    conv = from_qiskit(qc)
    values = np.random.default_rng(2).normal(size=(1, qc.num_parameters))
    from qscale.quantum.statevector import simulate

    psi = simulate(conv.circuit, conv.angles(values))[0].numpy()
    ref = Statevector(qc.assign_parameters(values[0])).data
    assert abs(abs(np.vdot(ref, psi)) - 1) < 1e-10  # equal up to a global phase


def test_bad_input_is_a_user_error():
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    qc.x(0)
    with pytest.raises(QscaleUserError, match="mid-circuit measurement"):
        Sampler().run([qc]).result()
    reset = QuantumCircuit(1)
    reset.reset(0)
    with pytest.raises(QscaleUserError, match="reset"):
        Estimator().run([(reset, "Z")]).result()
    ok = QuantumCircuit(1)
    ok.measure_all()
    with pytest.raises(QscaleUserError, match="shots"):
        Sampler().run([ok], shots=-5)
    with pytest.raises(QscaleUserError, match="shots"):
        Sampler(default_shots=0)
    with pytest.raises(QscaleUserError, match="precision"):
        Estimator().run([(ok, "Z")], precision=-0.1)
    with pytest.raises(QscaleUserError, match=r"(?i)hermitian"):
        Estimator().run([(QuantumCircuit(1), SparsePauliOp(["Z"], [1j]))]).result()
