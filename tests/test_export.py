"""Export to Qiskit and OpenQASM 3 reproduces the state our simulator computes."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from qiskit import QuantumCircuit, qasm3
from qiskit.quantum_info import Statevector, random_unitary

from qscale.errors import QscaleUserError
from qscale.quantum.circuit import GATE_NAMES, Circuit
from qscale.quantum.export import to_qasm3, to_qiskit
from qscale.quantum.statevector import simulate

HAS_QASM3_IMPORT = importlib.util.find_spec("qiskit_qasm3_import") is not None
FIXED = {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "cx", "cz", "swap"}


def random_circuit(n: int, seed: int, symbolic: bool = False) -> Circuit:
    """Every gate type once plus extras; with `symbolic` angles are affine in three parameters."""
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    ps = [c.parameter(name) for name in ("theta", "phi", "lam")] if symbolic else []
    names = list(GATE_NAMES) + list(rng.choice(GATE_NAMES, 30))
    rng.shuffle(names)
    for name in map(str, names):
        q = [int(v) for v in rng.choice(n, 2, replace=False)]
        if name == "unitary":
            k = int(rng.integers(1, 3))
            c.unitary(random_unitary(2**k, seed=int(rng.integers(2**31))).data, q[:k])
            continue
        width = 1 if name in {"h", "x", "y", "z", "s", "sdg", "t", "tdg", "rx", "ry", "rz", "p"} else 2
        if name in FIXED:
            getattr(c, name)(*q[:width])
            continue
        angle = float(rng.uniform(-3, 3))
        if ps and rng.random() < 0.7:
            angle = ps[int(rng.integers(3))] * float(rng.uniform(-2, 2)) + angle
        getattr(c, name)(*q[:width], angle)
    return c


@pytest.mark.parametrize(("n", "seed"), [(2, 0), (3, 1), (5, 2), (7, 3)])
def test_to_qiskit_state_equals_simulate(n, seed):
    c = random_circuit(n, seed)
    qc = to_qiskit(c)
    assert isinstance(qc, QuantumCircuit) and qc.num_qubits == n
    np.testing.assert_allclose(Statevector(qc).data, simulate(c)[0].numpy(), atol=1e-10)


def test_to_qiskit_symbolic_and_bound_parameters():
    c = random_circuit(4, 5, symbolic=True)
    x = np.array([0.3, -1.1, 2.0])
    ours = simulate(c, x)[0].numpy()
    qc = to_qiskit(c)
    assert sorted(p.name for p in qc.parameters) == ["lam", "phi", "theta"]
    bound = qc.assign_parameters({"theta": x[0], "phi": x[1], "lam": x[2]})
    np.testing.assert_allclose(Statevector(bound).data, ours, atol=1e-10)
    np.testing.assert_allclose(Statevector(to_qiskit(c, x)).data, ours, atol=1e-10)
    assert not to_qiskit(c, x).parameters


def test_qasm3_text_names_the_gates():
    c = Circuit(3).h(0).cx(0, 1).rzz(1, 2, 0.25).crx(2, 0, 0.5).unitary(random_unitary(4, seed=1).data, [0, 2])
    text = to_qasm3(c)
    assert text.startswith("OPENQASM 3")
    for token in ("h q[0];", "cx q[0], q[1];", "rzz(0.25) q[1], q[2];", "crx(0.5) q[2], q[0];", "U("):
        assert token in text
    assert "unitary" not in text


def test_qasm3_symbolic_parameters_become_inputs():
    c = Circuit(2)
    theta = c.parameter("theta")
    c.h(0).ry(1, 2 * theta + 0.5).cx(0, 1)
    text = to_qasm3(c)
    assert "input float[64] theta;" in text
    assert "theta" in text.split("ry(")[1]


@pytest.mark.skipif(not HAS_QASM3_IMPORT, reason="qiskit_qasm3_import is not installed")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qasm3_parses_back_to_the_same_state(seed):
    c = random_circuit(4, seed, symbolic=True)
    x = np.array([0.7, -0.2, 1.3])
    ours = simulate(c, x)[0].numpy()
    bound = qasm3.loads(to_qasm3(c, x))
    assert not bound.parameters
    assert Statevector(bound).equiv(Statevector(ours))  # QASM 3 export drops the global phase
    loaded = qasm3.loads(to_qasm3(c))
    assigned = loaded.assign_parameters({p: x[["theta", "phi", "lam"].index(p.name)] for p in loaded.parameters})
    assert Statevector(assigned).equiv(Statevector(ours))
    assert not Statevector(assigned).equiv(Statevector(simulate(c, x + 0.1)[0].numpy()))


def test_export_rejects_bad_parameter_values():
    c = random_circuit(3, 0, symbolic=True)
    with pytest.raises(QscaleUserError, match="one parameter set"):
        to_qiskit(c, [0.1, 0.2])
    with pytest.raises(QscaleUserError, match="one parameter set"):
        to_qasm3(c, np.zeros((2, 3)))
    with pytest.raises(QscaleUserError, match="Circuit"):
        to_qiskit("not a circuit")
